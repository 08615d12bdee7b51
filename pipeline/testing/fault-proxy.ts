// Test support: an HTTP proxy on loopback in front of moto_server that fails or holds chosen requests,
// so a test sees the real SDK meet a real failure (an error answer, a request that never returns)
// at an exact step, e.g. to kill -9 a process while its PutMetricData is in flight.
import { createServer, request as httpRequest, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface ProxiedRequest {
  method: string;
  /** Path and query, as sent. */
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/**
 * What to do with a request: pass it on; answer it with an error; or hold it, before forwarding
 * (the server never sees it) or after (the server acted on it, the client never hears back).
 */
export type Verdict =
  | { action: 'forward' }
  | { action: 'fail'; status: number; body: string; headers?: Record<string, string> }
  | { action: 'hold'; when: 'before' | 'after' };

export interface FaultProxy {
  endpoint: string;
  /** Decides per request; the default forwards everything. */
  rule: (req: ProxiedRequest) => Verdict;
  /** Resolves with the next request this proxy holds. */
  nextHold(): Promise<ProxiedRequest>;
  close(): Promise<void>;
}

/** True for a CloudWatch PutMetricData call in any of the SDK's protocols (JSON target header or query form). */
export function isPutMetricData(req: ProxiedRequest): boolean {
  return (
    String(req.headers['x-amz-target'] ?? '').endsWith('.PutMetricData') ||
    /(^|&)Action=PutMetricData(&|$)/.test(req.body.toString('latin1'))
  );
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const sockets = new Set<Socket>();
  let waiting: ((req: ProxiedRequest) => void)[] = [];
  const held: ProxiedRequest[] = [];
  const hold = (req: ProxiedRequest) => {
    const w = waiting.shift();
    if (w) w(req);
    else held.push(req);
  };
  const forward = (req: ProxiedRequest, res: ServerResponse, after?: () => void) => {
    const out = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.path, headers: req.headers },
      (up) => {
        if (after) {
          up.resume();
          up.on('end', after);
          return;
        }
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    out.on('error', (e) => {
      res.destroy(e);
    });
    out.end(req.body);
  };
  const proxy: FaultProxy = {
    endpoint: '',
    rule: () => ({ action: 'forward' }),
    nextHold: () =>
      new Promise((resolve) => {
        const ready = held.shift();
        if (ready) resolve(ready);
        else waiting.push(resolve);
      }),
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        waiting = [];
        server.close(() => resolve());
      }),
  };
  const server = createServer((incoming, res) => {
    const parts: Buffer[] = [];
    incoming.on('data', (b: Buffer) => parts.push(b));
    incoming.on('end', () => {
      const req: ProxiedRequest = {
        method: incoming.method ?? 'GET',
        path: incoming.url ?? '/',
        headers: incoming.headers,
        body: Buffer.concat(parts),
      };
      const verdict = proxy.rule(req);
      if (verdict.action === 'fail') {
        res.writeHead(verdict.status, { 'content-type': 'application/json', ...verdict.headers });
        res.end(verdict.body);
      } else if (verdict.action === 'hold' && verdict.when === 'before') {
        hold(req);
      } else if (verdict.action === 'hold') {
        forward(req, res, () => hold(req));
      } else {
        forward(req, res);
      }
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}
