// The plan step: one pass over the input (sha256, size, the header, the row ends) that cuts it into
// shards of whole rows and writes the items file the Distributed Map reads, then the plan. The plan is
// written last, so a plan present means its items file is whole; a re-executed plan step finds it and
// returns it (the input is pinned by its ETag, so planning again would give the same bytes).
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { NotFoundError, InvalidInputError } from '../errors/index.ts';
import { openCsvBlocks, planTable } from '../data/index.ts';
import { columnSpecs, type LoadedModel } from '../predict/index.ts';
import type { ObjectStore } from '../store/index.ts';
import { runKeys, type ShardEvent } from './contract.ts';
import { rowCutter } from './cuts.ts';
import { json, readPlan, type PlanRecord, type Rejection } from './records.ts';
import type { InputSource } from './source.ts';

/** A header row longer than this is refused: every shard reads it, and the plan holds it. */
export const MAX_HEADER_BYTES = 1 << 20;

export interface PlanOptions {
  runId: string;
  input: InputSource;
  /** The model version every shard must score with (the alias resolved once, here). */
  model: LoadedModel;
  /** Where the run's temporary objects go. */
  tmp: ObjectStore;
  shardBytes: number;
  /** The object version the event named, recorded for lineage. */
  versionId?: string;
  now?: () => Date;
}

/** Why a CSV header cannot be scored by `model`, as the single-pass scorer would say it; undefined when it can. */
async function headerProblem(header: Buffer, model: LoadedModel, source: string): Promise<Rejection | undefined> {
  try {
    const { header: names } = await openCsvBlocks(Readable.from([header]), { source });
    planTable(names, columnSpecs(model.signature), source);
    return undefined;
  } catch (e) {
    if (!(e instanceof InvalidInputError)) throw e;
    return { reason: e.message, details: e.details };
  }
}

export interface PlannedRun {
  plan: PlanRecord;
  items: ShardEvent[];
}

/** Plans run `runId` (or returns its plan when it exists already). */
export async function planRun(o: PlanOptions): Promise<PlanRecord> {
  const keys = runKeys(o.runId);
  try {
    return await readPlan(o.tmp, o.runId);
  } catch (e) {
    if (!(e instanceof NotFoundError)) throw e;
  }
  const { plan, items } = await cutInput(o);
  await o.tmp.put(keys.items, JSON.stringify(items));
  await o.tmp.put(keys.plan, json(plan));
  return plan;
}

/** The pass over the input: hash, header, cuts. */
export async function cutInput(o: PlanOptions): Promise<PlannedRun> {
  const { input } = o;
  const hash = createHash('sha256');
  const cutter = rowCutter({ format: input.format, shardBytes: o.shardBytes });
  const head: Buffer[] = [];
  let headBytes = 0;
  for await (const chunk of input.range(0, input.size)) {
    hash.update(chunk);
    if (cutter.headerEnd === undefined && headBytes <= MAX_HEADER_BYTES) {
      head.push(chunk);
      headBytes += chunk.length;
    }
    cutter.push(chunk);
  }
  const ranges = cutter.finish();
  const headerEnd = cutter.headerEnd ?? 0;
  const tooLong = headerEnd > MAX_HEADER_BYTES;
  const header = tooLong ? Buffer.alloc(0) : Buffer.concat(head).subarray(0, headerEnd);
  const rejected: Rejection | undefined = tooLong
    ? {
        reason: `${input.source}: the header row is longer than ${MAX_HEADER_BYTES} bytes, too long to shard`,
        details: [{ row: 0, field: '(file)', issue: 'header row too long' }],
      }
    : input.format === 'csv'
      ? await headerProblem(header, o.model, input.source)
      : undefined;
  const items: ShardEvent[] = rejected
    ? []
    : ranges.map((r, index) => ({ mltk_step: 'shard', run_id: o.runId, index, ...r }));
  const plan: PlanRecord = {
    kind: 'mltk.scale.plan',
    run_id: o.runId,
    planned_at: (o.now?.() ?? new Date()).toISOString(),
    source: input.source,
    input: {
      url: input.url,
      key: input.key,
      etag: input.etag,
      ...(o.versionId ? { version_id: o.versionId } : {}),
      format: input.format,
      sha256: hash.digest('hex'),
      bytes: cutter.offset,
      rows: cutter.rows,
    },
    header_base64: header.toString('base64'),
    model: { name: o.model.name, version: o.model.version, sha256: o.model.sha256 },
    shard_bytes: o.shardBytes,
    shards: items.length,
    ...(rejected ? { rejected } : {}),
  };
  return { plan, items };
}
