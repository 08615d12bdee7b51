// The prediction service one container runs: its settings (from the Lambda environment or CLI
// flags), the warm model cache, and dispatch of each event to the online or the batch path.
// `mltk serve` and the Lambda handler are both `createPredictHandler(...)`: the same code.
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { ConfigError, InvalidInputError, NotFoundError, zodDetails } from '../errors/index.ts';
import { openStore, storeUrl, type ObjectStore } from '../store/index.ts';
import { handleApiRequest, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_INSTANCES } from './api.ts';
import { parseEvent, type HttpResult, type S3ObjectRef } from './events.ts';
import type { FastPathOptions } from './fast-path.ts';
import { ModelCache } from './model.ts';
import { outputKeys, scoreObject, type ObjectBatchResult } from './outputs.ts';
import { handOffLarge, type HandedOff, type LargeObjectRoute, type Skipped } from './handoff.ts';
import { jsonLogger, stdoutSink, type LineSink, type Logger } from '../log/index.ts';
import { emfLine, metricNamespace } from './telemetry.ts';

export interface ServiceOptions {
  store: ObjectStore;
  /** NAME@ALIAS (followed), NAME@N (pinned) or NAME. */
  model: string;
  aliasTtlS: number;
  /** Bucket name (s3://NAME) or store URL for batch outputs; required for S3 events. */
  predictions?: string;
  maxBodyBytes: number;
  maxInstances: number;
  chunkRows?: number;
  threads?: number;
  /** Serve with the fast evaluator where it is proven equal to ONNX Runtime (default), or never. */
  fastPath?: FastPathOptions;
  log: Logger;
  metrics: LineSink;
  /** Where objects too large for one invocation go (the state machine); without it every object is scored here. */
  largeObjects?: LargeObjectRoute;
}

const envSchema = z.object({
  MLTK_STORE: z.string().min(1).optional(),
  MLTK_MODEL: z
    .string({ error: 'MLTK_MODEL is required (the model name, e.g. sap_change)' })
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a model name'),
  MLTK_ALIAS: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, 'expected an alias or a version number')
    .default('prod'),
  MLTK_ALIAS_TTL_S: z.coerce.number().min(0).default(60),
  MLTK_PREDICTIONS_BUCKET: z.string().min(1).optional(),
  MLTK_MAX_BODY_BYTES: z.coerce.number().int().positive().default(DEFAULT_MAX_BODY_BYTES),
  MLTK_MAX_INSTANCES: z.coerce.number().int().positive().default(DEFAULT_MAX_INSTANCES),
  MLTK_ORT_THREADS: z.coerce.number().int().positive().optional(),
  MLTK_SCORER: z.enum(['auto', 'onnxruntime']).default('auto'),
});

/** Settings from the Lambda environment (documented in the README's serving section). */
export function serviceOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): ServiceOptions {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success)
    throw new ConfigError(
      `prediction service environment is invalid: ` +
        `${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      zodDetails(parsed.error.issues),
    );
  const e = parsed.data;
  const log = jsonLogger();
  return {
    store: openStore(storeUrl(e.MLTK_STORE)),
    model: `${e.MLTK_MODEL}@${e.MLTK_ALIAS}`,
    aliasTtlS: e.MLTK_ALIAS_TTL_S,
    predictions: e.MLTK_PREDICTIONS_BUCKET,
    maxBodyBytes: e.MLTK_MAX_BODY_BYTES,
    maxInstances: e.MLTK_MAX_INSTANCES,
    threads: e.MLTK_ORT_THREADS,
    fastPath: { enabled: e.MLTK_SCORER === 'auto' },
    log,
    metrics: stdoutSink,
  };
}

/** A bucket name means s3://NAME; anything with a scheme or a path is a store URL. */
function outputStoreUrl(predictions: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(predictions) || /^[./]/.test(predictions)
    ? predictions
    : `s3://${predictions}`;
}

export type BatchEventResult = ObjectBatchResult | Skipped | HandedOff;

export interface PredictHandler {
  (event: unknown, context?: { awsRequestId?: string }): Promise<HttpResult | { results: BatchEventResult[] }>;
  /** Starts the cold load now (Lambda init, `mltk serve` start-up); errors surface on the first request. */
  warm(): Promise<void>;
  cache(): ModelCache;
}

// Why noExcessiveLinesPerFunction is waived: the handler's closures share one model cache and telemetry; they read best
// together
// biome-ignore lint/complexity/noExcessiveLinesPerFunction: the reason is above
export function createPredictHandler(options: ServiceOptions | (() => ServiceOptions)): PredictHandler {
  let state: { opts: ServiceOptions; cache: ModelCache } | undefined;
  const init = () => {
    if (!state) {
      const opts = typeof options === 'function' ? options() : options;
      state = {
        opts,
        cache: new ModelCache(opts.store, opts.model, {
          aliasTtlMs: opts.aliasTtlS * 1000,
          threads: opts.threads,
          fastPath: opts.fastPath,
          log: opts.log,
        }),
      };
    }
    return state;
  };
  const outputs = new Map<string, ObjectStore>();
  const storeFor = (url: string) => {
    let s = outputs.get(url);
    if (!s) {
      s = openStore(url);
      outputs.set(url, s);
    }
    return s;
  };

  async function scoreRecord(ref: S3ObjectRef, requestId: string): Promise<BatchEventResult> {
    const { opts, cache } = init();
    try {
      if (ref.refused) throw new InvalidInputError(ref.refused);
      outputKeys(ref.key);
    } catch (e) {
      opts.log.log('warn', 'object skipped', {
        request_id: requestId,
        bucket: ref.bucket,
        key: ref.key,
        reason: (e as Error).message,
      });
      return { status: 'skipped', input_key: ref.key, reason: (e as Error).message };
    }
    if (!opts.predictions)
      throw new ConfigError('MLTK_PREDICTIONS_BUCKET is not set: batch events have nowhere to write');
    if (opts.largeObjects) {
      const log = opts.log.with({ request_id: requestId });
      const handedOff = await handOffLarge(opts.largeObjects, ref, storeFor(`s3://${ref.bucket}`), log);
      if (handedOff) return handedOff;
    }
    const started = performance.now();
    const model = await cache.get();
    let res: ObjectBatchResult;
    try {
      res = await scoreObject(
        model,
        { store: storeFor(`s3://${ref.bucket}`), key: ref.key },
        storeFor(outputStoreUrl(opts.predictions)),
        { chunkRows: opts.chunkRows },
      );
    } catch (e) {
      // Deleted between the notification and now: retrying (Lambda's default) cannot help.
      if (!(e instanceof NotFoundError)) throw e;
      opts.log.log('warn', 'object skipped', {
        request_id: requestId,
        bucket: ref.bucket,
        key: ref.key,
        reason: e.message,
      });
      return { status: 'skipped', input_key: ref.key, reason: e.message };
    }
    const latencyMs = performance.now() - started;
    const counts =
      res.status === 'scored'
        ? {
            rows: res.rows,
            scored: res.scored,
            errors: res.errors,
            timings: res.timings,
            input_sha256: res.input.sha256,
          }
        : { reason: res.reason };
    opts.log.log(res.status === 'scored' ? 'info' : 'warn', `batch ${res.status}`, {
      request_id: requestId,
      model: model.name,
      version: model.version,
      bucket: ref.bucket,
      key: ref.key,
      outputs: res.outputs,
      latency_ms: Math.round(latencyMs),
      ...counts,
    });
    opts.metrics(
      emfLine(
        {
          model: model.name,
          version: model.version,
          latencyMs,
          rowsScored: res.status === 'scored' ? res.scored : 0,
          validationErrors: res.status === 'scored' ? res.errors : 1,
          properties: { request_id: requestId, path: 'batch' },
        },
        metricNamespace(model.name),
      ),
    );
    return res;
  }

  const handler = (async (event: unknown, context?: { awsRequestId?: string }) => {
    const { opts, cache } = init();
    const parsed = parseEvent(event);
    if (parsed.kind === 'http')
      return handleApiRequest(parsed.event, {
        cache,
        maxBodyBytes: opts.maxBodyBytes,
        maxInstances: opts.maxInstances,
        log: opts.log,
        metrics: opts.metrics,
      });
    const requestId = context?.awsRequestId ?? 'local';
    const results: BatchEventResult[] = [];
    // One object at a time: each is already scored in parallel by ORT, and memory stays one pipeline deep.
    for (const ref of parsed.objects) results.push(await scoreRecord(ref, requestId));
    return { results };
  }) as PredictHandler;
  handler.warm = async () => {
    await init()
      .cache.get()
      .then(
        () => undefined,
        () => undefined,
      );
  };
  handler.cache = () => init().cache;
  return handler;
}
