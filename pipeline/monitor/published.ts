// The CloudWatch side of a monitored batch, stored next to its report: the datums to publish
// (`monitoring/<path>/metrics.json`, written before publishing) and a marker written once CloudWatch
// has them all (`published.json`). A batch counts as monitored only when its marker exists, so a
// publish that failed or was cut short is sent again from the stored datums, with their timestamps.
//
// Writes, in order: report → datums → PutMetricData → marker. What a crash between them leaves:
//   before the datums: a report without datums; the next run monitors the batch again from scratch;
//   before or during the publish: datums without a marker; the next run publishes them;
//   after the publish, before the marker: the same, so CloudWatch gets those datums twice, at the same
//   timestamps (Maximum, Minimum and Average are unchanged; SampleCount and Sum count them twice).
import type { MetricDatum, StandardUnit } from '@aws-sdk/client-cloudwatch';
import { z } from 'zod';
import { NotFoundError } from '../errors/index.ts';
import { parseJson, type ObjectStore } from '../store/index.ts';
import { metricsKey, publishedKey } from './lineage.ts';
import { putMetricData, type MetricsSink } from './metrics.ts';

/** Which scoring of the input the datums describe: a rescored input (new manifest) is monitored anew. */
const batchSchema = z.object({ scored_at: z.string(), input_sha256: z.string() });
export type BatchIdentity = z.infer<typeof batchSchema>;

const datumSchema = z.object({
  MetricName: z.string().min(1),
  Dimensions: z.array(z.object({ Name: z.string().min(1), Value: z.string() })),
  Value: z.number(),
  Unit: z.string(),
  Timestamp: z.coerce.date(),
});

const batchMetricsSchema = z.object({
  kind: z.literal('mltk.drift_metrics'),
  batch: batchSchema,
  namespace: z.string().min(1),
  /** What the run's outcome reports, so a retried publish answers like the first run. */
  summary: z.object({ rows: z.number().int().min(0), drift_share: z.number(), dataset_drift: z.boolean() }),
  datums: z.array(datumSchema),
});
export type BatchMetrics = Omit<z.infer<typeof batchMetricsSchema>, 'kind' | 'datums'> & { datums: MetricDatum[] };

const publishedSchema = z.object({
  kind: z.literal('mltk.drift_metrics_published'),
  batch: batchSchema,
  namespace: z.string(),
  datums: z.number().int().min(0),
  calls: z.number().int().min(0),
  published_at: z.string(),
});
export type Published = z.infer<typeof publishedSchema>;

export const sameBatch = (a: BatchIdentity, b: BatchIdentity): boolean =>
  a.scored_at === b.scored_at && a.input_sha256 === b.input_sha256;

async function readOptional<T>(store: ObjectStore, key: string, schema: z.ZodType<T>): Promise<T | undefined> {
  const body = await store.get(key).catch((e: unknown) => {
    if (e instanceof NotFoundError) return undefined;
    throw e;
  });
  return body && parseJson(body, schema, `${store.url}/${key}`);
}

export async function readPublished(store: ObjectStore, path: string): Promise<Published | undefined> {
  return readOptional(store, publishedKey(path), publishedSchema);
}

export async function readBatchMetrics(store: ObjectStore, path: string): Promise<BatchMetrics | undefined> {
  const stored = await readOptional(store, metricsKey(path), batchMetricsSchema);
  return stored && { ...stored, datums: stored.datums.map((d) => ({ ...d, Unit: d.Unit as StandardUnit })) };
}

export async function storeBatchMetrics(store: ObjectStore, path: string, metrics: BatchMetrics): Promise<void> {
  await store.put(metricsKey(path), `${JSON.stringify({ kind: 'mltk.drift_metrics', ...metrics })}\n`);
}

/** Publishes the stored datums of `<path>`, then writes its marker: from then on the batch is monitored. */
export async function publishBatchMetrics(
  store: ObjectStore,
  path: string,
  metrics: BatchMetrics,
  client: MetricsSink,
): Promise<Published> {
  const calls = await putMetricData(client, metrics.namespace, metrics.datums);
  const published: Published = {
    kind: 'mltk.drift_metrics_published',
    batch: metrics.batch,
    namespace: metrics.namespace,
    datums: metrics.datums.length,
    calls,
    published_at: new Date().toISOString(),
  };
  await store.put(publishedKey(path), `${JSON.stringify(published, null, 2)}\n`);
  return published;
}
