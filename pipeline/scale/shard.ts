// The shard step: the batch scorer of pipeline/predict on one byte range of the input (the header read
// from the plan first), its outputs written as the run's part objects, without headers and with the
// whole file's row numbers. The record is written after both parts, so a record present means its parts
// are whole; a re-executed shard overwrites the same keys with the same bytes.
import { performance } from 'node:perf_hooks';
import { IntegrityError, InvalidInputError } from '../errors/index.ts';
import { scoreBatch, type LoadedModel } from '../predict/index.ts';
import type { ObjectStore } from '../store/index.ts';
import { runKeys, type ShardEvent, type ShardResult } from './contract.ts';
import { json, readPlan, type PlanRecord, type ShardRecord } from './records.ts';
import type { InputSource } from './source.ts';

/** The model version a plan names (loaded by the caller, which may have it warm). */
export type ModelFor = (plan: PlanRecord) => Promise<LoadedModel>;

export interface ShardOptions {
  tmp: ObjectStore;
  /** The run's input as its plan recorded it. */
  input: (plan: PlanRecord) => InputSource;
  model: ModelFor;
  /** Scoring threads (default: one per core). */
  workers?: number;
  chunkRows?: number;
}

/** The model a run's plan names, or an error saying which one the caller should have loaded. */
export function checkModel(plan: PlanRecord, model: LoadedModel): void {
  const m = plan.model;
  if (model.name !== m.name || model.version !== m.version || model.sha256 !== m.sha256)
    throw new IntegrityError(
      `run ${plan.run_id} was planned with ${m.name} v${m.version} (${m.sha256.slice(0, 12)}), ` +
        `not ${model.name} v${model.version} (${model.sha256.slice(
          0,
          12,
        )}): every shard scores with the plan's version`,
    );
}

/** Counts the bytes of a stream on its way to a sink. */
function counted(body: AsyncIterable<Buffer>, add: (n: number) => void): AsyncIterable<Buffer> {
  return (async function* () {
    for await (const b of body) {
      add(b.length);
      yield b;
    }
  })();
}

export async function runShard(event: ShardEvent, o: ShardOptions): Promise<ShardRecord> {
  const t0 = performance.now();
  const plan = await readPlan(o.tmp, event.run_id);
  const model = await o.model(plan);
  checkModel(plan, model);
  const input = o.input(plan);
  const keys = runKeys(event.run_id).part(event.index);
  const header = Buffer.from(plan.header_base64, 'base64');
  const body = (async function* () {
    if (header.length) yield header;
    yield* input.range(event.start, event.end);
  })();
  const bytes = { predictions: 0, errors: 0 };
  const base = { run_id: event.run_id, index: event.index };
  let record: ShardRecord;
  try {
    const res = await scoreBatch(
      model,
      body,
      {
        format: plan.input.format,
        source: plan.source,
        workers: o.workers,
        chunkRows: o.chunkRows,
        rowsBefore: event.first_row,
        headers: false,
      },
      {
        predictions: (b) =>
          o.tmp.putStream(
            keys.predictions,
            counted(b, (n) => (bytes.predictions += n)),
          ),
        errors: (b) =>
          o.tmp.putStream(
            keys.errors,
            counted(b, (n) => (bytes.errors += n)),
          ),
      },
    );
    if (res.rows !== event.rows)
      throw new IntegrityError(
        `shard ${event.index} of run ${event.run_id} read ${res.rows} rows where the plan counted ${event.rows} ` +
          `(bytes ${event.start}–${event.end} of ${plan.source})`,
      );
    const { rows, scored, errors, issues, timings, workers } = res;
    record = { ...base, rows, scored, errors, issues, bytes, timings, workers };
  } catch (e) {
    if (!(e instanceof InvalidInputError)) throw e;
    // Rows that cannot be read at all (broken quoting): the single-pass scorer refuses such a file whole.
    const total_s = Math.round(performance.now() - t0) / 1000;
    record = {
      ...base,
      rows: 0,
      scored: 0,
      errors: 0,
      issues: 0,
      bytes: { predictions: 0, errors: 0 },
      timings: { parse_s: 0, score_s: 0, write_s: 0, total_s },
      workers: 0,
      rejected: e.message,
      rejection: { reason: e.message, details: e.details },
    };
  }
  await o.tmp.put(keys.result, json(record));
  return record;
}

/** The step's answer to the state machine: the record without what only finalize needs. */
export function shardResult(r: ShardRecord): ShardResult {
  const { timings: _t, workers: _w, rejection: _r, ...result } = r;
  return result;
}
