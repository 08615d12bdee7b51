// `mltk ui`'s server: the site over HTTP on 127.0.0.1, read-only (GET and HEAD only), every answer
// with the strict Content-Security-Policy. Requests whose Host is not this loopback address are
// refused, so a web page elsewhere cannot read the store through DNS rebinding.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SERVER_CSP } from './layout.ts';
import { UiSite } from './site.ts';
import type { UiStores } from './view.ts';
import { jsonLogger, stderrSink, type LineSink, type Logger } from '../log/index.ts';

export const UI_HOST = '127.0.0.1';

export interface UiServer {
  url: string;
  server: Server;
  site: UiSite;
  close(): Promise<void>;
}

const SECURITY_HEADERS = {
  'content-security-policy': SERVER_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
};

function send(
  res: ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string> = {},
  head = false,
): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'text/html; charset=utf-8', ...headers });
  res.end(head ? undefined : body);
}

/** Answers outside the site's pages; `text` is always one of this file's constants. */
const plain = (text: string): string => `<!doctype html><title>${text}</title><p>${text}</p>`;

/**
 * `/runs/index.html` → `runs/index.html`; `/` and `/x/` → their index.html; undefined for a path that escapes the site.
 */
export function sitePath(urlPath: string): string | undefined {
  let segments: string[];
  try {
    segments = urlPath.split('/').slice(1).map(decodeURIComponent);
  } catch {
    return undefined;
  }
  if (segments.some((s) => s === '..' || s === '.' || s.includes('/') || s.includes('\\') || s.includes('\0')))
    return undefined;
  const path = segments.join('/');
  return path === '' || path.endsWith('/') ? `${path}index.html` : path;
}

async function answer(
  site: UiSite,
  allowedHosts: Set<string>,
  req: IncomingMessage,
  res: ServerResponse,
  log: Logger,
): Promise<void> {
  const head = req.method === 'HEAD';
  if (req.method !== 'GET' && !head) {
    return send(res, 405, plain('Method not allowed: this UI is read-only'), { allow: 'GET, HEAD' });
  }
  if (!allowedHosts.has(req.headers.host ?? ''))
    return send(res, 421, plain('Misdirected request: unexpected Host header'), {}, head);
  const url = new URL(req.url ?? '/', 'http://ui.invalid');
  const path = sitePath(url.pathname);
  if (path === undefined) return send(res, 400, plain('Bad path'), {}, head);
  try {
    const out = await site.render(path, url.searchParams);
    if ('location' in out)
      return send(res, 303, '', { location: `/${out.location.split('/').map(encodeURIComponent).join('/')}` }, head);
    if (out.status >= 500) log.log('error', 'ui_page_failed', { path, status: out.status, error: out.error });
    send(res, out.status, out.html, {}, head);
  } catch (e) {
    log.log('error', 'ui_page_failed', {
      path,
      status: 500,
      error: e instanceof Error ? (e.stack ?? e.message) : String(e),
    });
    send(res, 500, plain('Internal error (logged on the server)'), {}, head);
  }
}

/** Starts the UI on 127.0.0.1:`port` (0 picks a free port). */
export async function startUiServer(stores: UiStores, opts: { port: number; log?: LineSink }): Promise<UiServer> {
  const site = new UiSite({ stores, mode: 'server' });
  const log = jsonLogger(opts.log ?? stderrSink);
  const allowedHosts = new Set<string>();
  const server = createServer((req, res) => {
    void answer(site, allowedHosts, req, res, log);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, UI_HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  for (const h of [`${UI_HOST}:${port}`, `localhost:${port}`]) allowedHosts.add(h);
  return {
    url: `http://${UI_HOST}:${port}`,
    server,
    site,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
