// Lambda entry point of the monitor: an EventBridge schedule (monitor the scored batches not monitored
// yet, publish quality results whose publish failed), S3 ObjectCreated notifications from the
// predictions bucket (a batch's lineage manifest or predictions object: monitor that batch's drift) or
// from the data bucket (a batch's labels under labels/: measure its realized quality). Parses, then
// delegates to pipeline/monitor, which follows the manifest to the input and the version that scored it.
import { z } from 'zod';
import { ConfigError, InvalidInputError, zodDetails } from '../pipeline/errors/index.ts';
import {
  labelsPath,
  monitorBatchObject,
  monitorLabelsObject,
  pendingBatches,
  predictionPath,
  metricsClient,
  unpublishedQuality,
  type ObjectOutcome,
  type QualityOutcome,
} from '../pipeline/monitor/index.ts';
import { checkKey, decodeEventKey, openStore } from '../pipeline/store/index.ts';

const envSchema = z.object({
  MLTK_STORE: z.string().min(1),
  MLTK_MODEL: z.string().min(1),
  MLTK_ALIAS: z.string().min(1).default('prod'),
  MLTK_PREDICTIONS_BUCKET: z.string().min(1),
  MLTK_DATA_BUCKET: z.string().min(1),
  MLTK_METRIC_NAMESPACE: z.string().min(1).optional(),
  MLTK_MONITOR_LAST_N: z.coerce.number().int().min(1).default(3),
});

const s3Record = z.object({
  s3: z.object({ bucket: z.object({ name: z.string() }), object: z.object({ key: z.string() }) }),
});
const eventSchema = z.union([
  z.object({ Records: z.array(s3Record).min(1) }),
  z.object({
    'detail-type': z.literal('Object Created'),
    detail: z.object({ bucket: z.object({ name: z.string() }), object: z.object({ key: z.string() }) }),
  }),
  z.object({ 'detail-type': z.literal('Scheduled Event') }),
]);

function parse<T>(
  schema: z.ZodType<T>,
  raw: unknown,
  what: string,
  Err: typeof ConfigError | typeof InvalidInputError,
): T {
  const r = schema.safeParse(raw);
  if (!r.success) {
    const details = zodDetails(r.error.issues);
    throw new Err(`${what}: ${details.map((d) => `${d.field}: ${d.issue}`).join('; ')}`, details);
  }
  return r.data;
}

export async function handler(event: unknown): Promise<{ monitored: ObjectOutcome[]; quality: QualityOutcome[] }> {
  const env = parse(envSchema, process.env, 'monitor Lambda environment', ConfigError);
  const ev = parse(eventSchema, event, 'monitor event', InvalidInputError);
  const predictions = openStore(`s3://${env.MLTK_PREDICTIONS_BUCKET}`);
  // Keys of created objects: S3 notifications URL-encode them, EventBridge does not. One that is not a
  // valid store key (`..`, `.`, undecodable) names no batch: it is reported skipped, never read.
  const monitored: ObjectOutcome[] = [];
  const created: { bucket: string; key: string }[] = [];
  const sent =
    'Records' in ev
      ? ev.Records.map((r) => ({ bucket: r.s3.bucket.name, key: r.s3.object.key, encoded: true }))
      : ev['detail-type'] === 'Object Created'
        ? [{ bucket: ev.detail.bucket.name, key: ev.detail.object.key, encoded: false }]
        : undefined;
  for (const o of sent ?? []) {
    try {
      created.push({ bucket: o.bucket, key: o.encoded ? decodeEventKey(o.key) : checkKey(o.key) });
    } catch (e) {
      monitored.push({ path: o.key, status: 'skipped', reason: (e as Error).message });
    }
  }
  // Only a batch's manifest or predictions object names a batch, and a labels object its labels;
  // errors files, inputs and our own reports name nothing.
  const from = (bucket: string, path: (key: string) => string | undefined) => [
    ...new Set(created.filter((o) => o.bucket === bucket).flatMap((o) => path(o.key) ?? [])),
  ];
  const paths = sent
    ? from(env.MLTK_PREDICTIONS_BUCKET, predictionPath)
    : await pendingBatches(predictions, env.MLTK_MONITOR_LAST_N);
  const labelled = sent ? from(env.MLTK_DATA_BUCKET, labelsPath) : await unpublishedQuality(predictions);
  const deps = {
    registry: openStore(env.MLTK_STORE),
    data: openStore(`s3://${env.MLTK_DATA_BUCKET}`),
    predictions,
    model: `${env.MLTK_MODEL}@${env.MLTK_ALIAS}`,
    namespace: env.MLTK_METRIC_NAMESPACE,
    metrics: await metricsClient(),
  };
  for (const path of paths) monitored.push(await monitorBatchObject(path, deps));
  const quality: QualityOutcome[] = [];
  for (const path of labelled) quality.push(await monitorLabelsObject(path, deps));
  return { monitored, quality };
}
