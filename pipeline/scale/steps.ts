// The three steps as the state machine invokes them through the predict function: each event parsed
// at the edge (contract.ts), the stores and models found, the step run, its answer returned. The
// caller (handlers/scale.ts) supplies where things are and the models it keeps warm.
import { performance } from 'node:perf_hooks';
import { InvalidInputError, zodDetails } from '../errors/index.ts';
import type { Logger, LineSink } from '../log/index.ts';
import { metricNamespace, outputKeys, type LoadedModel } from '../predict/index.ts';
import type { ObjectStore } from '../store/index.ts';
import {
  runKeys,
  SCALE_METRICS,
  scaleEventSchema,
  type FinalizeResult,
  type PlanEvent,
  type PlanResult,
  type ShardResult,
} from './contract.ts';
import { finalizeRun } from './finalize.ts';
import { planRun } from './plan.ts';
import type { PlanRecord, ShardRecord } from './records.ts';
import { runShard, shardResult } from './shard.ts';
import { pinnedInput, storedInput } from './source.ts';

export interface ScaleStepsOptions {
  /** The predictions bucket as a store: the run's temporary objects and the outputs. */
  predictions: ObjectStore;
  predictionsBucket: string;
  /** The store of a bucket (`s3://NAME`) or folder an input is in. */
  storeAt(url: string): ObjectStore;
  /** The version the alias serves now: a plan pins it for its run. */
  currentModel(): Promise<LoadedModel>;
  /** An exact version (shards and finalize score with the plan's). */
  modelVersion(name: string, version: number): Promise<LoadedModel>;
  shardBytes: number;
  /** Scoring threads per shard (default: one per core). */
  workers?: number;
  log: Logger;
  metrics: LineSink;
}

export type ScaleStepResult = PlanResult | ShardResult | FinalizeResult;

/** One EMF document per shard: its duration, rows and rows per second under dimension Model. */
export function shardEmfLine(model: string, record: ShardRecord, durationMs: number, now = Date.now()): string {
  return JSON.stringify({
    _aws: {
      Timestamp: now,
      CloudWatchMetrics: [
        {
          Namespace: metricNamespace(model),
          Dimensions: [['Model']],
          Metrics: [
            { Name: SCALE_METRICS.shardDurationMs, Unit: 'Milliseconds' },
            { Name: SCALE_METRICS.shardRows, Unit: 'Count' },
            { Name: SCALE_METRICS.shardRowsPerSecond, Unit: 'Count/Second' },
          ],
        },
      ],
    },
    Model: model,
    run_id: record.run_id,
    shard: record.index,
    [SCALE_METRICS.shardDurationMs]: Math.round(durationMs),
    [SCALE_METRICS.shardRows]: record.rows,
    [SCALE_METRICS.shardRowsPerSecond]: durationMs > 0 ? Math.round((record.rows * 1000) / durationMs) : 0,
  });
}

export function createScaleSteps(o: ScaleStepsOptions): (raw: unknown) => Promise<ScaleStepResult> {
  const modelFor = (plan: PlanRecord) => o.modelVersion(plan.model.name, plan.model.version);
  const inputFor = (plan: PlanRecord) =>
    pinnedInput(o.storeAt(plan.input.url), plan.input.key, {
      source: plan.source,
      etag: plan.input.etag,
      size: plan.input.bytes,
      format: plan.input.format,
    });

  async function plan(event: PlanEvent): Promise<PlanResult> {
    outputKeys(event.input.key); // only incoming/ objects of a known format are scored
    const input = await storedInput(o.storeAt(`s3://${event.input.bucket}`), event.input.key, {
      expectEtag: event.input.etag,
    });
    const record = await planRun({
      runId: event.run_id,
      input,
      model: await o.currentModel(),
      tmp: o.predictions,
      shardBytes: o.shardBytes,
      versionId: event.input.version_id,
    });
    o.log.log('info', 'scale_planned', {
      run_id: event.run_id,
      key: event.input.key,
      bytes: record.input.bytes,
      rows: record.input.rows,
      shards: record.shards,
      version: record.model.version,
      rejected: record.rejected?.reason,
    });
    const items = { bucket: o.predictionsBucket, key: runKeys(event.run_id).items };
    return { run_id: event.run_id, shards: record.shards, items };
  }

  return async (raw) => {
    const parsed = scaleEventSchema.safeParse(raw);
    if (!parsed.success)
      throw new InvalidInputError(
        `unsupported scale event: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
        zodDetails(parsed.error.issues),
      );
    const event = parsed.data;
    if (event.mltk_step === 'plan') return plan(event);
    if (event.mltk_step === 'shard') {
      const t0 = performance.now();
      const record = await runShard(event, {
        tmp: o.predictions,
        input: inputFor,
        model: modelFor,
        workers: o.workers,
      });
      const ms = performance.now() - t0;
      const model = (await o.currentModel().catch(() => undefined))?.name ?? 'unknown';
      o.metrics(shardEmfLine(model, record, ms));
      o.log.log(record.rejection ? 'warn' : 'info', 'scale_shard_scored', {
        run_id: event.run_id,
        shard: event.index,
        rows: record.rows,
        scored: record.scored,
        errors: record.errors,
        duration_ms: Math.round(ms),
        rejected: record.rejected,
      });
      return shardResult(record);
    }
    const result = await finalizeRun(event, {
      tmp: o.predictions,
      model: modelFor,
      outputs: (plan) => {
        const keys = outputKeys(plan.input.key);
        const at = (key: string) => ({ store: o.predictions, key });
        return { predictions: at(keys.predictions), errors: at(keys.errors), manifest: at(keys.manifest) };
      },
    });
    o.log.log('info', 'scale_finalized', { ...result });
    return result;
  };
}
