// What a run keeps under tmp/scale/<run_id>/ between its steps: the plan (written last by the plan
// step: its presence means the items file is whole) and one record per finished shard (written after
// both of its parts). Parsed with zod where they are read back.
import { z } from 'zod';
import { NotFoundError } from '../errors/index.ts';
import { parseJson, type ObjectStore } from '../store/index.ts';
import { runKeys, shardResultSchema } from './contract.ts';

const count = z.number().int().nonnegative();
const detail = z.object({ row: z.number().int().optional(), field: z.string().optional(), issue: z.string() });

/** An input refused whole: the message and details the single-pass scorer would have written. */
const rejectionSchema = z.object({ reason: z.string(), details: z.array(detail) }).strict();
export type Rejection = z.infer<typeof rejectionSchema>;

export const planRecordSchema = z
  .object({
    kind: z.literal('mltk.scale.plan'),
    run_id: z.string(),
    planned_at: z.string(),
    /** Names the input in messages and manifests, as the single-pass path names it. */
    source: z.string(),
    input: z
      .object({
        /** The store holding it (`s3://bucket`, or a folder) and its key there. */
        url: z.string(),
        key: z.string(),
        etag: z.string(),
        version_id: z.string().optional(),
        format: z.enum(['csv', 'jsonl']),
        sha256: z.string().regex(/^[0-9a-f]{64}$/),
        bytes: count,
        rows: count,
      })
      .strict(),
    /** The input's header row as bytes (base64; empty for JSON lines): every CSV shard reads it first. */
    header_base64: z.string(),
    model: z.object({ name: z.string(), version: z.number().int().min(1), sha256: z.string() }).strict(),
    shard_bytes: z.number().int().min(1),
    shards: count,
    rejected: rejectionSchema.optional(),
  })
  .strict();
export type PlanRecord = z.infer<typeof planRecordSchema>;

export const shardRecordSchema = shardResultSchema
  .extend({
    timings: z.object({ parse_s: z.number(), score_s: z.number(), write_s: z.number(), total_s: z.number() }),
    workers: count,
    rejection: rejectionSchema.optional(),
  })
  .strict();
export type ShardRecord = z.infer<typeof shardRecordSchema>;

export const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

/** The run's plan; NotFoundError naming the run when it has none (never planned, or finalized and cleaned up). */
export async function readPlan(tmp: ObjectStore, runId: string): Promise<PlanRecord> {
  const key = runKeys(runId).plan;
  try {
    return parseJson(await tmp.get(key), planRecordSchema, `${tmp.url}/${key}`);
  } catch (e) {
    if (e instanceof NotFoundError)
      throw new NotFoundError(`run ${runId} has no plan at ${tmp.url}/${key}: it was never planned, or is finished`);
    throw e;
  }
}
