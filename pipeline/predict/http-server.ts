// `mltk serve`: a node:http server that turns each request into the API Gateway HTTP API (v2)
// event Lambda would receive and calls the same handler, so what runs locally is what runs there.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HttpEvent, HttpResult } from './events.ts';

/** API Gateway's own payload limit: bigger requests never reach the function. */
const GATEWAY_MAX_BYTES = 10 * 1024 * 1024;

const TEXT_TYPES = /^(application\/(json|x-ndjson|[\w.+-]*\+json)|text\/)/i;

export type EventHandler = (event: unknown, context?: { awsRequestId?: string }) => Promise<unknown>;

async function readBody(req: IncomingMessage): Promise<Buffer | 'too-large'> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > GATEWAY_MAX_BYTES) return 'too-large';
    parts.push(chunk as Buffer);
  }
  return Buffer.concat(parts);
}

export function toHttpEvent(req: IncomingMessage, body: Buffer, requestId: string): HttpEvent {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers))
    if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(',') : v;
  const text = body.length === 0 || TEXT_TYPES.test(headers['content-type'] ?? 'application/json');
  const now = new Date();
  return {
    version: '2.0',
    rawPath: url.pathname,
    rawQueryString: url.search.replace(/^\?/, ''),
    headers,
    ...(body.length ? { body: text ? body.toString('utf8') : body.toString('base64') } : {}),
    isBase64Encoded: !text,
    requestContext: {
      requestId,
      http: { method: req.method ?? 'GET', path: url.pathname, sourceIp: req.socket.remoteAddress ?? '' },
      ...{ routeKey: '$default', stage: '$default', time: now.toISOString(), timeEpoch: now.getTime() },
    },
  } as HttpEvent;
}

export interface LocalServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

export async function startLocalServer(
  handler: EventHandler,
  opts: { host: string; port: number },
): Promise<LocalServer> {
  const server = createServer((req, res) => {
    void (async () => {
      const requestId = randomUUID();
      const body = await readBody(req);
      if (body === 'too-large') {
        res
          .writeHead(413, { 'content-type': 'application/json' })
          .end(JSON.stringify({ message: 'Request Entity Too Large' }));
        return;
      }
      let result: HttpResult;
      try {
        result = (await handler(toHttpEvent(req, body, requestId), { awsRequestId: requestId })) as HttpResult;
      } catch {
        // What API Gateway answers when the function itself fails.
        res
          .writeHead(500, { 'content-type': 'application/json' })
          .end(JSON.stringify({ message: 'Internal Server Error' }));
        return;
      }
      res.writeHead(result.statusCode, { ...result.headers, 'x-request-id': requestId });
      res.end(result.isBase64Encoded ? Buffer.from(result.body, 'base64') : result.body);
    })().catch((e) => {
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy(e as Error);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${host}:${addr.port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
