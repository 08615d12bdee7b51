// Lambda entry point of the scale-out steps (plan, shard, finalize) that the batch state machine
// invokes through the predict function (events with `mltk_step`; handlers/predict.ts routes them here).
// Settings from the environment: MLTK_PREDICTIONS_BUCKET (the run's temporary objects and the
// outputs), MLTK_SHARD_BYTES (default 256 MiB), and the predict function's own (MLTK_STORE, MLTK_MODEL,
// MLTK_ALIAS, MLTK_ORT_THREADS, MLTK_SCORER). Everything else is in pipeline/scale.
import { z } from 'zod';
import { ConfigError, zodDetails } from '../pipeline/errors/index.ts';
import { jsonLogger, stdoutSink } from '../pipeline/log/index.ts';
import { loadModel, type LoadedModel, type PredictHandler } from '../pipeline/predict/index.ts';
import { createScaleSteps, type ScaleStepResult } from '../pipeline/scale/index.ts';
import { openStore, storeUrl, type ObjectStore } from '../pipeline/store/index.ts';

const DEFAULT_SHARD_BYTES = 256 * 2 ** 20;

const envSchema = z.object({
  MLTK_STORE: z.string().min(1).optional(),
  MLTK_PREDICTIONS_BUCKET: z.string({ error: 'MLTK_PREDICTIONS_BUCKET is required (the predictions bucket)' }).min(1),
  MLTK_SHARD_BYTES: z.coerce.number().int().min(1).default(DEFAULT_SHARD_BYTES),
  MLTK_ORT_THREADS: z.coerce.number().int().positive().optional(),
  MLTK_SCORER: z.enum(['auto', 'onnxruntime']).default('auto'),
});

/** The steps, set up on their first event from `env` and the predict handler's warm model cache. */
export function scaleStepsFromEnv(
  env: NodeJS.ProcessEnv,
  predict: Pick<PredictHandler, 'cache'>,
): (event: unknown) => Promise<ScaleStepResult> {
  let steps: ((event: unknown) => Promise<ScaleStepResult>) | undefined;
  const init = () => {
    const parsed = envSchema.safeParse(env);
    if (!parsed.success)
      throw new ConfigError(
        `scale step environment is invalid: ${parsed.error.issues
          .map((i) => `${i.path.join('.')}: ${i.message}`)
          .join('; ')}`,
        zodDetails(parsed.error.issues),
      );
    const e = parsed.data;
    const stores = new Map<string, ObjectStore>();
    const storeAt = (url: string) => {
      let s = stores.get(url);
      if (!s) {
        s = openStore(url);
        stores.set(url, s);
      }
      return s;
    };
    const bucket = e.MLTK_PREDICTIONS_BUCKET.replace(/^s3:\/\//, '');
    const registry = openStore(storeUrl(e.MLTK_STORE));
    // One pinned version kept warm besides the alias's: a run scores with the version its plan pinned.
    let pinned: Promise<LoadedModel> | undefined;
    const modelVersion = async (name: string, version: number) => {
      const current = predict.cache().current();
      if (current?.name === name && current.version === version) return current;
      const held = await pinned?.catch(() => undefined);
      if (held?.name === name && held.version === version) return held;
      held?.retire();
      pinned = loadModel(registry, `${name}@${version}`, {
        threads: e.MLTK_ORT_THREADS,
        fastPath: { enabled: e.MLTK_SCORER === 'auto' },
      });
      return pinned;
    };
    return createScaleSteps({
      predictions: storeAt(`s3://${bucket}`),
      predictionsBucket: bucket,
      storeAt,
      currentModel: () => predict.cache().get(),
      modelVersion,
      shardBytes: e.MLTK_SHARD_BYTES,
      log: jsonLogger(stdoutSink),
      metrics: stdoutSink,
    });
  };
  return (event) => {
    steps ??= init();
    return steps(event);
  };
}
