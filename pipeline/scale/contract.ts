// The contract between sharded scoring (pipeline/scale: plan, shard, finalize) and the state machine
// that runs it (deployment/infra): the events each step's Lambda invocation takes and returns, the
// run-scoped temporary keys, and the run id that names both the temporary folder and the execution.
//
// The state machine invokes only the predict function; the field `mltk_step` routes its events:
//   execution input  {run_id, input}                      started by the predict handler for a large object
//   Plan      task   {mltk_step:"plan", run_id, input}  → PlanResult {run_id, shards, items:{bucket,key}}
//   Shards    DISTRIBUTED map, ItemReader = S3 JSON array at PlanResult.items (InputType JSON): each item
//                    is a whole ShardEvent, passed as the Lambda payload unchanged → ShardResult (not needed
//                    downstream: give the map ResultPath null; finalize reads the shards' records from S3)
//   Finalize  task   {mltk_step:"finalize", run_id}      → FinalizeResult
// Every step is idempotent: a retried or re-executed step rewrites the same keys, so Retry on any error
// is safe (except those in NON_RETRYABLE_ERRORS: retrying cannot help them).
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { SCALE_TMP_PREFIX } from '../store/index.ts';

export { SCALE_TMP_PREFIX };

/** The state names of the machine, for the definition, its logs and the dashboard. */
export const SCALE_STATES = { plan: 'Plan', shards: 'Shards', finalize: 'Finalize' } as const;

/** CloudWatch metrics the shard step emits (one EMF line per shard, namespace mltk/<model>, dimension Model). */
export const SCALE_METRICS = {
  shardDurationMs: 'ShardDurationMs',
  shardRowsPerSecond: 'ShardRowsPerSecond',
  shardRows: 'ShardRows',
} as const;

/** The event field that routes a state machine invocation of the predict function. */
export const STEP_FIELD = 'mltk_step';
export const SCALE_STEPS = ['plan', 'shard', 'finalize'] as const;
export type ScaleStep = (typeof SCALE_STEPS)[number];

/**
 * Errors a step throws (Lambda reports them as `errorType`) that a retry cannot fix: the input
 * changed or vanished since the plan, or the run's plan is missing. Anything else (throttles, S3 5xx,
 * timeouts) is worth a retry with backoff.
 */
export const NON_RETRYABLE_ERRORS = ['InvalidInputError', 'IntegrityError', 'NotFoundError', 'ConfigError'] as const;

/** Step Functions execution names: at most 80 characters; these only, so the name is also safe in logs and keys. */
export const RUN_ID_PATTERN = /^[A-Za-z0-9_-]{1,80}$/;
const RUN_ID_HASH_HEX = 32;
const RUN_ID_SLUG_MAX = 40;

const runId = z.string().regex(RUN_ID_PATTERN, 'expected a run id: 1–80 characters of A-Z, a-z, 0-9, "-", "_"');
const count = z.number().int().nonnegative();

/** The object a run scores, as the S3 event named it: the ETag (and version) pin the exact bytes. */
export const inputObjectSchema = z.object({
  bucket: z.string().min(1),
  key: z.string().min(1),
  /** Without quotes, as S3 notifications carry it. */
  etag: z.string().min(1),
  /** Present when the data bucket is versioned. */
  version_id: z.string().min(1).optional(),
  size: count,
});
export type InputObject = z.infer<typeof inputObjectSchema>;

/** What the predict handler passes to StartExecution (execution name = run_id). */
export const executionInputSchema = z.object({ run_id: runId, input: inputObjectSchema }).strict();
export type ExecutionInput = z.infer<typeof executionInputSchema>;

export const planEventSchema = executionInputSchema.extend({ mltk_step: z.literal('plan') }).strict();
export type PlanEvent = z.infer<typeof planEventSchema>;

export const planResultSchema = z
  .object({
    run_id: runId,
    /** Items in the items file (0 when the input was rejected whole: finalize then writes why). */
    shards: count,
    items: z.object({ bucket: z.string().min(1), key: z.string().min(1) }).strict(),
  })
  .strict();
export type PlanResult = z.infer<typeof planResultSchema>;

/**
 * One item of the items file: bytes [start, end) of the input, whole rows only (the header, when the
 * format has one, is not in the range: the shard reads it from the plan). `first_row` is the number
 * of data rows before the range, so the shard's error rows keep the input's row numbers.
 */
export const shardEventSchema = z
  .object({
    mltk_step: z.literal('shard'),
    run_id: runId,
    index: count,
    start: count,
    end: count,
    first_row: count,
    rows: count,
  })
  .strict()
  .refine((s) => s.end > s.start, {
    message: 'end must be past start (a shard holds at least one byte)',
    path: ['end'],
  });
export type ShardEvent = z.infer<typeof shardEventSchema>;

export const shardResultSchema = z
  .object({
    run_id: runId,
    index: count,
    rows: count,
    scored: count,
    /** Rows routed to the errors part. */
    errors: count,
    /** Lines in the errors part (a row with two bad fields has two). */
    issues: count,
    /** Bytes of the two parts (no headers: finalize writes those once). */
    bytes: z.object({ predictions: count, errors: count }).strict(),
    /** Set when the range cannot be read as rows at all (broken quoting): finalize rejects the input whole. */
    rejected: z.string().optional(),
  })
  .strict();
export type ShardResult = z.infer<typeof shardResultSchema>;

export const finalizeEventSchema = z.object({ mltk_step: z.literal('finalize'), run_id: runId }).strict();
export type FinalizeEvent = z.infer<typeof finalizeEventSchema>;

export const finalizeResultSchema = z
  .object({
    run_id: runId,
    status: z.enum(['scored', 'rejected']),
    input_key: z.string().min(1),
    shards: count,
    rows: count,
    scored: count,
    errors: count,
    outputs: z.object({ predictions: z.string(), errors: z.string(), manifest: z.string() }).strict(),
  })
  .strict();
export type FinalizeResult = z.infer<typeof finalizeResultSchema>;

/** Any state machine invocation of the predict function. */
export const scaleEventSchema = z.discriminatedUnion(STEP_FIELD, [
  planEventSchema,
  shardEventSchema,
  finalizeEventSchema,
]);
export type ScaleEvent = z.infer<typeof scaleEventSchema>;

/** True for an event meant for a scale step (the predict handler routes it here before HTTP and S3 events). */
export const isScaleEvent = (raw: unknown): boolean => typeof raw === 'object' && raw !== null && STEP_FIELD in raw;

/** An object larger than one shard goes through the state machine; anything else keeps the single-Lambda path. */
export const needsShards = (size: number, shardBytes: number): boolean => size > shardBytes;

/**
 * The run id, which is also the execution name: the same object version always gets the same id, so a
 * redelivered S3 event cannot start a second execution (StartExecution refuses a used name). A readable
 * slug of the key's last segment, then 128 bits of sha256 over bucket, key, ETag and version id.
 */
export function runIdFor(input: Pick<InputObject, 'bucket' | 'key' | 'etag' | 'version_id'>): string {
  const etag = input.etag.replace(/^"|"$/g, '');
  const digest = createHash('sha256')
    .update([input.bucket, input.key, etag, input.version_id ?? ''].join('\0'))
    .digest('hex')
    .slice(0, RUN_ID_HASH_HEX);
  const last = input.key.slice(input.key.lastIndexOf('/') + 1);
  const slug = last.replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, RUN_ID_SLUG_MAX);
  return slug ? `${slug}-${digest}` : digest;
}

/** Every temporary key of run `runId`: one folder, deleted whole by its finalize. */
export function runPrefix(runId: string): string {
  if (!RUN_ID_PATTERN.test(runId)) throw new Error(`internal: "${runId}" is not a run id`);
  return `${SCALE_TMP_PREFIX}${runId}/`;
}

const SHARD_DIGITS = 6;
const shardFolder = (runId: string, index: number) =>
  `${runPrefix(runId)}parts/${String(index).padStart(SHARD_DIGITS, '0')}/`;

/**
 * The run's temporary keys (in the predictions bucket):
 *   tmp/scale/<run_id>/plan.json                       the plan: input, sha256, header, model version, shards
 *   tmp/scale/<run_id>/items.json                      the map's ItemReader file: a JSON array of ShardEvents
 *   tmp/scale/<run_id>/parts/<index>/predictions.csv   a shard's prediction lines (no header)
 *   tmp/scale/<run_id>/parts/<index>/errors.csv        its error lines, global row numbers (no header)
 *   tmp/scale/<run_id>/parts/<index>/result.json       its ShardResult, written after both parts
 *   tmp/scale/<run_id>/done.json                       the FinalizeResult, the one object finalize leaves
 *                                                      (a re-executed finalize answers from it; a lifecycle
 *                                                      rule on tmp/scale/ removes it, and any failed run's)
 */
export const runKeys = (runId: string) => ({
  prefix: runPrefix(runId),
  plan: `${runPrefix(runId)}plan.json`,
  items: `${runPrefix(runId)}items.json`,
  done: `${runPrefix(runId)}done.json`,
  part: (index: number) => ({
    predictions: `${shardFolder(runId, index)}predictions.csv`,
    errors: `${shardFolder(runId, index)}errors.csv`,
    result: `${shardFolder(runId, index)}result.json`,
  }),
});
