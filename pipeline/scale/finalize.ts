// The finalize step: the shards' parts assembled into the usual outputs in input order (server-side on
// S3, see store/compose.ts), the lineage manifest written last, then the run's temporary objects deleted
// but a done record (the plan last). What a crash leaves: before the manifest, outputs that may be new
// but no manifest for this run (the batch reads as not scored yet) and every part, so finalize run again
// writes the same bytes; after the manifest, a complete result, and before the done record all the run's
// temporary objects, after it some: finalize run again finishes the clean-up and answers from the record.
import { IntegrityError, InvalidInputError, NotFoundError } from '../errors/index.ts';
import { ERRORS_HEADER, predictionsHeader, writeRejected } from '../predict/index.ts';
import { parseJson, type ObjectStore } from '../store/index.ts';
import { finalizeResultSchema, runKeys, type FinalizeEvent, type FinalizeResult } from './contract.ts';
import { json, readPlan, shardRecordSchema, type PlanRecord, type ShardRecord } from './records.ts';
import { checkModel, type ModelFor } from './shard.ts';

/** An output object: where it goes. */
export interface OutputRef {
  store: ObjectStore;
  key: string;
}

export interface RunOutputs {
  predictions: OutputRef;
  errors: OutputRef;
  /** The lineage manifest (the Lambda path); none for `mltk predict` into files. */
  manifest?: OutputRef;
}

export interface FinalizeOptions {
  tmp: ObjectStore;
  model: ModelFor;
  /** Where a run's outputs go, from its plan (the input key names them). */
  outputs: (plan: PlanRecord) => RunOutputs;
  now?: () => Date;
}

/** Deletes at most this many temporary objects at once. */
const DELETE_CONCURRENCY = 16;

async function readRecords(tmp: ObjectStore, plan: PlanRecord): Promise<ShardRecord[]> {
  const keys = runKeys(plan.run_id);
  return Promise.all(
    Array.from({ length: plan.shards }, async (_, index) => {
      const key = keys.part(index).result;
      const body = await tmp.get(key).catch((e: unknown) => {
        if (!(e instanceof NotFoundError)) throw e;
        throw new NotFoundError(
          `run ${plan.run_id}: shard ${index} of ${plan.shards} has no result (${tmp.url}/${key}): it never finished`,
        );
      });
      return parseJson(body, shardRecordSchema, `${tmp.url}/${key}`);
    }),
  );
}

/** Removes the run's temporary objects but its done record, the plan last (its absence means the run is cleaned up). */
export async function deleteRun(tmp: ObjectStore, runId: string): Promise<void> {
  const keys = runKeys(runId);
  const rest = (await tmp.list(keys.prefix)).filter((k) => k !== keys.plan && k !== keys.done);
  for (let i = 0; i < rest.length; i += DELETE_CONCURRENCY)
    await Promise.all(rest.slice(i, i + DELETE_CONCURRENCY).map((k) => tmp.delete(k)));
  await tmp.delete(keys.plan);
}

async function readDone(tmp: ObjectStore, runId: string): Promise<FinalizeResult | undefined> {
  const key = runKeys(runId).done;
  const body = await tmp.get(key).catch((e: unknown) => {
    if (e instanceof NotFoundError) return undefined;
    throw e;
  });
  return body ? parseJson(body, finalizeResultSchema, `${tmp.url}/${key}`) : undefined;
}

/**
 * `header` and the parts `keys` of `tmp`, in order, as `out`: composed where the parts are (server-side
 * on S3), else streamed through (`mltk predict --shards` into a file or another bucket).
 */
async function assemble(tmp: ObjectStore, out: OutputRef, header: string, keys: string[]): Promise<void> {
  if (out.store.url === tmp.url) {
    await out.store.compose(out.key, [{ bytes: Buffer.from(header) }, ...keys.map((key) => ({ key }))]);
    return;
  }
  await out.store.putStream(
    out.key,
    (async function* () {
      yield Buffer.from(header);
      for (const key of keys) yield* await tmp.getStream(key);
    })(),
  );
}

/** The lineage manifest of a scored run: the single pass's fields, the shards' counts summed, and the run. */
function scoredManifest(plan: PlanRecord, records: ShardRecord[], outputs: RunOutputs, at: string) {
  const sum = (f: (r: ShardRecord) => number) => records.reduce((a, r) => a + f(r), 0);
  const seconds = (f: (r: ShardRecord) => number) => Math.round(sum(f) * 1000) / 1000;
  return {
    kind: 'mltk.predictions',
    scored_at: at,
    status: 'scored',
    input_key: plan.input.key,
    outputs: names(outputs),
    source: plan.source,
    rows: sum((r) => r.rows),
    scored: sum((r) => r.scored),
    errors: sum((r) => r.errors),
    issues: sum((r) => r.issues),
    input: { sha256: plan.input.sha256, bytes: plan.input.bytes },
    model: plan.model,
    timings: {
      parse_s: seconds((r) => r.timings.parse_s),
      score_s: seconds((r) => r.timings.score_s),
      write_s: seconds((r) => r.timings.write_s),
      total_s: (Date.parse(at) - Date.parse(plan.planned_at)) / 1000,
    },
    workers: sum((r) => r.workers),
    scale: { run_id: plan.run_id, shards: plan.shards, shard_bytes: plan.shard_bytes },
  };
}

const names = (o: RunOutputs) => ({
  predictions: o.predictions.key,
  errors: o.errors.key,
  manifest: o.manifest?.key ?? '',
});

export async function finalizeRun(event: FinalizeEvent, o: FinalizeOptions): Promise<FinalizeResult> {
  const runId = event.run_id;
  let plan: PlanRecord;
  try {
    plan = await readPlan(o.tmp, runId);
  } catch (e) {
    // Finalized before (a re-executed step): its done record answers.
    const done = e instanceof NotFoundError ? await readDone(o.tmp, runId) : undefined;
    if (!done) throw e;
    return done;
  }
  const finished = await readDone(o.tmp, runId);
  if (finished) {
    await deleteRun(o.tmp, runId); // a crash after the done record, before the clean-up ended
    return finished;
  }
  const model = await o.model(plan);
  checkModel(plan, model);
  const outputs = o.outputs(plan);
  const at = (o.now?.() ?? new Date()).toISOString();
  const scale = { run_id: runId, shards: plan.shards, shard_bytes: plan.shard_bytes };
  const records = await readRecords(o.tmp, plan);
  const rejection = plan.rejected ?? records.find((r) => r.rejection)?.rejection;
  const base = { run_id: runId, input_key: plan.input.key, shards: plan.shards, outputs: names(outputs) };
  let result: FinalizeResult;
  if (rejection) {
    const store = outputs.manifest?.store;
    if (!store || outputs.predictions.store !== store || outputs.errors.store !== store)
      throw new InvalidInputError(rejection.reason, rejection.details);
    await writeRejected(model, store, {
      source: plan.source,
      inputKey: plan.input.key,
      keys: names(outputs),
      error: new InvalidInputError(rejection.reason, rejection.details),
      at,
      extra: { scale },
    });
    result = { ...base, status: 'rejected', rows: 0, scored: 0, errors: 0 };
  } else {
    const sum = (f: (r: ShardRecord) => number) => records.reduce((a, r) => a + f(r), 0);
    const rows = sum((r) => r.rows);
    const scored = sum((r) => r.scored);
    const errors = sum((r) => r.errors);
    if (rows !== plan.input.rows || scored + errors !== rows)
      throw new IntegrityError(
        `run ${runId}: the shards read ${rows} rows (${scored} scored + ${errors} errors) where the plan counted ` +
          `${plan.input.rows} in ${plan.source}; nothing final was written`,
      );
    const parts = records.map((r) => runKeys(runId).part(r.index));
    await assemble(
      o.tmp,
      outputs.predictions,
      predictionsHeader(model.signature),
      parts.map((p) => p.predictions),
    );
    await assemble(
      o.tmp,
      outputs.errors,
      ERRORS_HEADER,
      parts.map((p) => p.errors),
    );
    if (outputs.manifest)
      await outputs.manifest.store.put(outputs.manifest.key, json(scoredManifest(plan, records, outputs, at)));
    result = { ...base, status: 'scored', rows, scored, errors };
  }
  await o.tmp.put(runKeys(runId).done, json(result));
  await deleteRun(o.tmp, runId);
  return result;
}
