// `mltk serve`: the online API on a local port. Each HTTP request becomes the API Gateway v2 event
// Lambda would get and goes through the same handler, so what is tried here is what runs there.
import type { Command } from 'commander';
import { performance } from 'node:perf_hooks';
import {
  createPredictHandler,
  startLocalServer,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_INSTANCES,
  type LocalServer,
} from '../../predict/index.ts';
import { jsonLogger, stderrSink } from '../../log/index.ts';
import type { ObjectStore } from '../../store/index.ts';
import { action } from '../context.ts';
import { intOption, scorerOption, type ScorerChoice } from '../options.ts';

export interface ServeFlags {
  model: string;
  host: string;
  port: number;
  aliasTtl: number;
  maxBodyBytes: number;
  maxInstances: number;
  predictions?: string;
  threads?: number;
  scorer?: ScorerChoice;
  /** Listen even when the model cannot be loaded yet, answering 503 until it can (as the Lambda does). */
  waitForModel?: boolean;
}

type Served = { name: string; version: number; alias: string | null };

/**
 * Loads the model, then listens; resolves once both are done (the model is warm before the first
 * request). With `waitForModel`, a model that cannot be loaded yet does not stop the server: it
 * answers 503 and retries the store, like a Lambda container whose alias does not exist yet.
 */
async function startServe(
  store: ObjectStore,
  flags: ServeFlags,
): Promise<{ server: LocalServer; loadMs: number; model: Served | null }> {
  const t0 = performance.now();
  // Logs and metrics go to stderr: stdout carries the command's own result.
  const handler = createPredictHandler({
    store,
    model: flags.model,
    aliasTtlS: flags.aliasTtl,
    predictions: flags.predictions,
    maxBodyBytes: flags.maxBodyBytes,
    maxInstances: flags.maxInstances,
    threads: flags.threads,
    fastPath: { enabled: flags.scorer !== 'onnxruntime' },
    log: jsonLogger(stderrSink),
    metrics: stderrSink,
  });
  const loading = handler.cache().get();
  const m = flags.waitForModel ? await loading.catch(() => null) : await loading;
  const loadMs = performance.now() - t0;
  const server = await startLocalServer(handler, { host: flags.host, port: flags.port });
  return { server, loadMs, model: m && { name: m.name, version: m.version, alias: m.alias } };
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve the online API (POST /predict, GET /health) locally through the Lambda handler')
    .requiredOption('--model <ref>', 'NAME@ALIAS (followed within --alias-ttl), NAME@VERSION or NAME')
    .option('--port <n>', 'port (0 picks a free one)', intOption('--port', 0), 8080)
    .option('--host <host>', 'address to bind (127.0.0.1 keeps it local)', '127.0.0.1')
    .option('--alias-ttl <seconds>', 're-read the alias at most this often', intOption('--alias-ttl', 0), 60)
    .option(
      '--max-body-bytes <n>',
      'larger request bodies answer 413',
      intOption('--max-body-bytes'),
      DEFAULT_MAX_BODY_BYTES,
    )
    .option(
      '--max-instances <n>',
      'more instances per request answer 400',
      intOption('--max-instances'),
      DEFAULT_MAX_INSTANCES,
    )
    .option('--predictions <url>', 'bucket or store URL for batch (S3 event) outputs')
    .option('--threads <n>', 'ONNX Runtime intra-op threads (default: one per core)', intOption('--threads'))
    .option(
      '--scorer <auto|onnxruntime>',
      'auto: the fast tree evaluator where it is proven equal to ONNX Runtime at load',
      scorerOption,
      'auto',
    )
    .option(
      '--wait-for-model',
      'listen even if the model cannot be loaded yet: /health and /predict answer 503 until it can',
    )
    .action(
      action(async (ctx, flags: ServeFlags) => {
        const { server, loadMs, model } = await startServe(ctx.store(), flags);
        ctx.result(
          { url: server.url, model, load_ms: Math.round(loadMs), routes: ['POST /predict', 'GET /health'] },
          model
            ? `serving ${model.name} v${model.version}${model.alias ? ` (@${model.alias})` : ''} on ${server.url} — ` +
                `POST ${server.url}/predict, GET ${server.url}/health (loaded in ${Math.round(loadMs)} ms; ` +
                `Ctrl-C stops)`
            : `listening on ${server.url}: ${flags.model} cannot be loaded yet, answering 503 until it can ` +
                `(Ctrl-C stops)`,
        );
        await new Promise<void>((resolve) => {
          const stop = () => {
            void server.close().then(resolve);
          };
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
      }),
    );
}
