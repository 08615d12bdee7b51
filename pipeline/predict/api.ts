// The online API: routes, request limits, validation against the model signature, scoring,
// and one response per request. Client mistakes answer 4xx and leave the session loaded.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_INSTANCES } from '../config/index.ts';
import { InvalidInputError, PayloadTooLargeError } from '../errors/index.ts';
import { MethodNotAllowedError, RouteNotFoundError, httpError } from './errors.ts';
import type { HttpEvent, HttpResult } from './events.ts';
import { shortestFloat32 } from './format.ts';
import { instancesToChunk } from './instances.ts';
import type { ModelCache } from './model.ts';
import type { LineSink, Logger } from '../log/index.ts';
import { emfLine, metricNamespace } from './telemetry.ts';

// The config's defaults (config/serving.ts: the two limits agree, and fit what Lambda takes).
export { DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_INSTANCES };

export interface ApiOptions {
  cache: ModelCache;
  maxBodyBytes: number;
  maxInstances: number;
  log: Logger;
  /** Where EMF metric lines go (stdout in Lambda). */
  metrics: LineSink;
}

const ROUTES = { predict: ['POST'], health: ['GET', 'HEAD'] } as const;
type Route = keyof typeof ROUTES;

/** `/predict`, `/health`, or the same under a `/<model>` prefix (the custom domain's API mapping). */
export function routeOf(path: string, model: string): Route {
  const parts = path.split('/').filter(Boolean);
  const last = parts.length === 1 || (parts.length === 2 && parts[0] === model) ? parts.at(-1) : undefined;
  if (last === 'predict' || last === 'health') return last;
  throw new RouteNotFoundError(`no route ${path} (this API serves /predict and /health, optionally under /${model})`);
}

/** The body's size is checked before it is decoded or parsed, so a huge body costs nothing. */
function bodyText(event: HttpEvent, maxBytes: number): string {
  const body = event.body ?? '';
  let bytes: number;
  if (event.isBase64Encoded) {
    const pad = body.endsWith('==') ? 2 : body.endsWith('=') ? 1 : 0;
    bytes = Math.floor((body.length * 3) / 4) - pad;
  } else {
    bytes = body.length > maxBytes ? body.length : Buffer.byteLength(body, 'utf8');
  }
  if (bytes > maxBytes) throw new PayloadTooLargeError(`request body is ${bytes} bytes; the limit is ${maxBytes}`);
  return event.isBase64Encoded ? Buffer.from(body, 'base64').toString('utf8') : body;
}

function requestSchema(maxInstances: number) {
  return z.object(
    {
      instances: z
        .array(z.unknown(), {
          error: (iss) =>
            iss.input === undefined
              ? 'missing "instances" (expected {"instances": [{feature: value, …}, …]})'
              : 'expected "instances" to be an array',
        })
        .min(1, { error: '"instances" is empty' })
        .max(maxInstances, { error: `too many instances (the limit is ${maxInstances} per request)` }),
    },
    { error: 'expected a JSON object {"instances": […]}' },
  );
}

function parseBody(text: string, maxInstances: number): unknown[] {
  if (text.trim() === '')
    throw new InvalidInputError('empty request body (expected {"instances": […]})', [
      { field: '(body)', issue: 'empty body' },
    ]);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    // Only the position: the engine's message quotes the body, and messages reach the logs.
    const at = /position (\d+)/.exec((e as Error).message)?.[1];
    const issue = `malformed JSON${at ? ` at position ${at}` : ''}`;
    throw new InvalidInputError(issue, [{ field: '(body)', issue }]);
  }
  const parsed = requestSchema(maxInstances).safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0]!;
    throw new InvalidInputError(first.message, [
      { field: first.path.length ? first.path.map(String).join('.') : '(body)', issue: first.message },
    ]);
  }
  return parsed.data.instances;
}

function respond(status: number, body: unknown, headers: Record<string, string> = {}): HttpResult {
  return {
    statusCode: status,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    isBase64Encoded: false,
  };
}

// every route and its error answers read top to bottom in one place
// biome-ignore lint/complexity/noExcessiveLinesPerFunction: the reason is the comment above
export async function handleApiRequest(event: HttpEvent, opts: ApiOptions): Promise<HttpResult> {
  const started = performance.now();
  const requestId = event.requestContext.requestId ?? randomUUID();
  const method = event.requestContext.http.method.toUpperCase();
  const path = event.rawPath;
  const model = opts.cache.ref.name;
  let route: Route | undefined;
  let instances = 0;
  let scored = 0;
  let invalid = 0;
  let result: HttpResult;
  let failure: unknown;
  try {
    route = routeOf(path, model);
    const allow: readonly string[] = ROUTES[route];
    if (!allow.includes(method))
      throw new MethodNotAllowedError(allow, `${method} is not allowed on ${path} (allowed: ${allow.join(', ')})`);
    if (route === 'health') {
      const m = await opts.cache.get();
      // The training data's lineage travels with the model: a synthetic-data model says so here.
      const dataset = m.dataset && {
        name: m.dataset.name,
        version: m.dataset.version,
        pinned: m.dataset.pinned ?? false,
        synthetic: m.dataset.synthetic ?? false,
      };
      result = respond(200, {
        status: 'ok',
        model: { name: m.name, version: m.version, alias: m.alias, sha256: m.sha256, loaded_at: m.loadedAt, dataset },
      });
    } else {
      const body = parseBody(bodyText(event, opts.maxBodyBytes), opts.maxInstances);
      instances = body.length;
      const m = await opts.cache.get();
      const chunk = instancesToChunk(m.signature, m.requestSchema, body, 0, { withId: false });
      if (chunk.issues.length) {
        for (let i = 0; i < chunk.bad.length; i++) invalid += chunk.bad[i]!;
        throw new InvalidInputError(
          `${invalid} of ${instances} instance${instances > 1 ? 's' : ''} failed validation against ${m.name} v${
            m.version
          }; nothing was scored (see details: row is the index in "instances")`,
          chunk.issues,
        );
      }
      const predictions = await m.score(chunk.table);
      scored = predictions.length;
      result = respond(200, {
        predictions: Array.from(predictions, shortestFloat32),
        model: { name: m.name, version: m.version },
      });
    }
  } catch (e) {
    failure = e;
    const h = httpError(e);
    if (h.status === 400 && route === 'predict' && invalid === 0) invalid = Math.max(instances, 1);
    result = respond(h.status, h.body, h.headers);
  }
  const latencyMs = performance.now() - started;
  const current = opts.cache.current();
  const fields = {
    request_id: requestId,
    method,
    path,
    route: route ?? null,
    status: result.statusCode,
    latency_ms: Math.round(latencyMs * 1000) / 1000,
    instances,
    scored,
    invalid,
    model,
    version: current?.version ?? null,
  };
  if (result.statusCode >= 500)
    opts.log.log('error', 'request failed', {
      ...fields,
      error: (failure as Error)?.message,
      stack: (failure as Error)?.stack,
    });
  else
    opts.log.log(result.statusCode >= 400 ? 'warn' : 'info', 'request', {
      ...fields,
      ...(failure ? { error: (failure as Error).message.slice(0, 300) } : {}),
    });
  if (route === 'predict' && current) {
    opts.metrics(
      emfLine(
        {
          model,
          version: current.version,
          rowsScored: scored,
          validationErrors: invalid,
          latencyMs,
          properties: { request_id: requestId, path: 'online' },
        },
        metricNamespace(model),
      ),
    );
  }
  return result;
}
