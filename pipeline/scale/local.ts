// `mltk predict --shards N`: the state machine's steps run on one machine with the same modules —
// plan here, the shards in W processes (started by the caller, the CLI, which knows its executable),
// finalize here. The run's temporary objects go in a folder beside a file output, or under tmp/scale/
// of an output bucket; the outputs are a predictions file and an errors file, as `mltk predict` writes.
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { InvalidInputError, NotFoundError } from '../errors/index.ts';
import { batchFormat, errorsPathFor, loadModel, type LoadedModel } from '../predict/index.ts';
import {
  checkLocalFile,
  isUrl,
  LocalStore,
  openObjectUrl,
  openStore,
  parseJson,
  type ObjectStore,
} from '../store/index.ts';
import { runIdFor, runKeys, shardEventSchema } from './contract.ts';
import { finalizeRun, type OutputRef } from './finalize.ts';
import { planRun } from './plan.ts';
import { readPlan, type PlanRecord, type ShardRecord } from './records.ts';
import { runShard } from './shard.ts';
import { pinnedInput, storedInput } from './source.ts';

/**
 * Runs shards `indices` of run `runId` (temporary objects in `tmp`) in one process; resolves with their records and the
 * process's peak RSS.
 */
export type ShardProcess = (job: {
  tmp: string;
  runId: string;
  indices: number[];
  threads: number;
}) => Promise<{ records: ShardRecord[]; maxRssBytes: number }>;

export interface LocalRunOptions {
  /** The model, its alias resolved: the run is pinned to this version. */
  model: LoadedModel;
  /** FILE or s3://bucket/key. */
  input: string;
  /** FILE or s3://bucket/key; the errors go to `errorsOutput` (default: OUTPUT with .errors.csv). */
  output: string;
  errorsOutput?: string;
  shards: number;
  /** Shard processes at once. */
  workers: number;
  /** Cores to share among the processes (default: this machine's). */
  cores: number;
  startShards: ShardProcess;
}

export interface LocalRunResult {
  run_id: string;
  rows: number;
  scored: number;
  errors: number;
  issues: number;
  shards: number;
  workers: number;
  threads_per_worker: number;
  input: { path: string; sha256: string; bytes: number };
  output: string;
  errors_output: string;
  timings: { plan_s: number; shards_s: number; finalize_s: number; total_s: number };
  /** Peak resident memory of each shard process. */
  worker_peak_rss_mb: number[];
  /** Each shard's rows per second of scoring (its process's start and model load excluded), in shard order. */
  shard_rows_per_s: number[];
}

/** Where a FILE or s3://bucket/key is: its store and key there. */
function locate(pathOrUrl: string): { store: ObjectStore; key: string } {
  if (isUrl(pathOrUrl)) return openObjectUrl(pathOrUrl);
  const abs = resolve(pathOrUrl);
  return { store: new LocalStore(dirname(abs)), key: basename(abs) };
}

const seconds = (ms: number) => Math.round(ms) / 1000;

export async function runLocally(o: LocalRunOptions): Promise<LocalRunResult> {
  const t0 = performance.now();
  // A local file is reported missing, a directory or unreadable as every command does (store/files.ts).
  if (!isUrl(o.input)) await checkLocalFile(o.input, 'input file');
  if (!batchFormat(o.input)) throw new InvalidInputError(`${o.input}: expected a .csv, .jsonl or .ndjson input`);
  const errorsOutput = o.errorsOutput ?? errorsPathFor(o.output);
  const names = [o.input, o.output, errorsOutput].map((p) => (isUrl(p) ? p : resolve(p)));
  if (new Set(names).size !== 3)
    throw new InvalidInputError('--input, --output and the errors file must be three different files');
  const from = locate(o.input);
  const input = await storedInput(from.store, from.key, { source: o.input }).catch((e: unknown) => {
    if (e instanceof NotFoundError) throw new NotFoundError(`input ${o.input} does not exist`);
    throw e;
  });
  const runId = runIdFor({ bucket: from.store.url, key: from.key, etag: input.etag });
  const predictions = locate(o.output);
  const errors = locate(errorsOutput);
  // A file output: the run's objects in a folder beside it; a bucket: under its tmp/scale/.
  const tmpUrl = isUrl(o.output)
    ? predictions.store.url.replace(/^(s3:\/\/[^/]+).*$/, '$1')
    : join(dirname(resolve(o.output)), `.mltk-scale-${randomBytes(4).toString('hex')}`);
  const tmp = openStore(tmpUrl);
  const cleanUp = async () => {
    if (isUrl(o.output)) {
      for (const key of await tmp.list(runKeys(runId).prefix)) await tmp.delete(key);
    } else await rm(tmpUrl, { recursive: true, force: true });
  };
  try {
    const plan = await planRun({
      runId,
      input,
      model: o.model,
      tmp,
      // 1% over an even split: each shard ends up to a row short of its limit, and N short shards must not leave an
      // N+1th.
      shardBytes: Math.max(1, Math.ceil((input.size / Math.max(1, o.shards)) * 1.01)),
    });
    if (plan.rejected) throw new InvalidInputError(plan.rejected.reason, plan.rejected.details);
    const tPlan = performance.now();
    const workers = Math.max(1, Math.min(o.workers, plan.shards));
    const threads = Math.max(1, Math.floor(o.cores / workers));
    const jobs = Array.from({ length: workers }, (_, k) =>
      Array.from({ length: plan.shards }, (_, i) => i).filter((i) => i % workers === k),
    );
    const done = await Promise.all(jobs.map((indices) => o.startShards({ tmp: tmpUrl, runId, indices, threads })));
    const tShards = performance.now();
    const at = (r: { store: ObjectStore; key: string }): OutputRef => ({ store: r.store, key: r.key });
    const result = await finalizeRun(
      { mltk_step: 'finalize', run_id: runId },
      { tmp, model: async () => o.model, outputs: () => ({ predictions: at(predictions), errors: at(errors) }) },
    );
    const tEnd = performance.now();
    const records = done.flatMap((d) => d.records);
    return {
      run_id: runId,
      rows: result.rows,
      scored: result.scored,
      errors: result.errors,
      issues: records.reduce((a, r) => a + r.issues, 0),
      shards: plan.shards,
      workers,
      threads_per_worker: threads,
      input: { path: o.input, sha256: plan.input.sha256, bytes: plan.input.bytes },
      output: o.output,
      errors_output: errorsOutput,
      timings: {
        plan_s: seconds(tPlan - t0),
        shards_s: seconds(tShards - tPlan),
        finalize_s: seconds(tEnd - tShards),
        total_s: seconds(tEnd - t0),
      },
      worker_peak_rss_mb: done.map((d) => Math.round(d.maxRssBytes / 2 ** 20)),
      shard_rows_per_s: records
        .sort((a, b) => a.index - b.index)
        .map((r) => (r.timings.total_s > 0 ? Math.round(r.rows / r.timings.total_s) : 0)),
    };
  } finally {
    await cleanUp();
  }
}

/**
 * One shard process (`mltk scale-shard`): loads the plan's model version from `registry` once and
 * runs shards `indices` of the run in order, each on `threads` scoring threads.
 */
export async function runShardsHere(
  registry: ObjectStore,
  job: { tmp: string; runId: string; indices: number[]; threads: number },
): Promise<ShardRecord[]> {
  const tmp = openStore(job.tmp);
  const plan = await readPlan(tmp, job.runId);
  const model = await loadModel(registry, `${plan.model.name}@${plan.model.version}`);
  try {
    const key = runKeys(job.runId).items;
    const items = parseJson(await tmp.get(key), z.array(shardEventSchema), `${tmp.url}/${key}`);
    const input = (p: PlanRecord) =>
      pinnedInput(openStore(p.input.url), p.input.key, {
        source: p.source,
        etag: p.input.etag,
        size: p.input.bytes,
        format: p.input.format,
      });
    const records: ShardRecord[] = [];
    for (const index of job.indices) {
      const item = items[index];
      if (!item) throw new NotFoundError(`run ${job.runId} has no shard ${index} (${items.length} shards)`);
      records.push(await runShard(item, { tmp, input, model: async () => model, workers: job.threads }));
    }
    return records;
  } finally {
    model.retire();
  }
}
