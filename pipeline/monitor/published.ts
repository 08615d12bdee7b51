// The CloudWatch side of a monitored batch, stored next to its report: the datums to publish
// (`monitoring/<path>/metrics.json`, written before publishing) and a marker written once CloudWatch
// has them all (`published.json`). A batch counts as monitored only when its marker exists, so a
// publish that failed or was cut short is sent again from the stored datums, with their timestamps.
// A labels batch's quality result follows the same rules with its own pair of objects
// (`quality-metrics.json`, `quality-published.json`).
//
// Writes, in order: report → datums → PutMetricData → marker. What a crash between them leaves:
//   before the datums: a report without datums; the next run monitors the batch again from scratch;
//   before or during the publish: datums without a marker; the next run publishes them;
//   after the publish, before the marker: the same, so CloudWatch gets those datums twice, at the same
//   timestamps (Maximum, Minimum and Average are unchanged; SampleCount and Sum count them twice).
import type { MetricDatum, StandardUnit } from '@aws-sdk/client-cloudwatch';
import { z } from 'zod';
import type { ObjectStore } from '../store/index.ts';
import { metricsKey, publishedKey, qualityMetricsKey, qualityPublishedKey } from './lineage.ts';
import { putMetricData, type MetricsSink } from './metrics.ts';
import { readIfPresent } from './stored.ts';

/**
 * Which scoring of the input the datums describe: a rescored input (new manifest) is monitored anew.
 * Quality datums also name the labels object they measured (its ETag): new labels are measured anew.
 */
const batchSchema = z.object({ scored_at: z.string(), input_sha256: z.string(), labels_etag: z.string().optional() });
export type BatchIdentity = z.infer<typeof batchSchema>;

const datumSchema = z.object({
  MetricName: z.string().min(1),
  Dimensions: z.array(z.object({ Name: z.string().min(1), Value: z.string() })),
  Value: z.number(),
  Unit: z.string(),
  Timestamp: z.coerce.date(),
});

/** The two kinds of stored datums: a drift report's and a labels batch's quality result's, each with its own keys. */
export interface MetricsKind<S> {
  /** The `kind` field of the stored datums (the marker's is this + `_published`). */
  kind: string;
  metricsKey(path: string): string;
  publishedKey(path: string): string;
  /** What the run's outcome reports, so a retried publish answers like the first run. */
  summary: z.ZodType<S>;
}

const driftSummary = z.object({ rows: z.number().int().min(0), drift_share: z.number(), dataset_drift: z.boolean() });
const qualitySummary = z.object({
  rows: z.number().int().min(0),
  rmse: z.number(),
  rmse_ratio: z.number().nullable(),
  coverage: z.number(),
  level: z.enum(['ok', 'warn', 'alert', 'unknown']),
});
export type DriftSummary = z.infer<typeof driftSummary>;
export type QualitySummary = z.infer<typeof qualitySummary>;

export const DRIFT_METRICS: MetricsKind<DriftSummary> = {
  kind: 'mltk.drift_metrics',
  metricsKey,
  publishedKey,
  summary: driftSummary,
};
export const QUALITY_METRICS: MetricsKind<QualitySummary> = {
  kind: 'mltk.quality_metrics',
  metricsKey: qualityMetricsKey,
  publishedKey: qualityPublishedKey,
  summary: qualitySummary,
};

export interface BatchMetrics<S> {
  batch: BatchIdentity;
  namespace: string;
  summary: S;
  datums: MetricDatum[];
}

const storedSchema = <S>(k: MetricsKind<S>) =>
  z.object({
    kind: z.literal(k.kind),
    batch: batchSchema,
    namespace: z.string().min(1),
    summary: k.summary,
    datums: z.array(datumSchema),
  });

const publishedSchema = z.object({
  kind: z.string(),
  batch: batchSchema,
  namespace: z.string(),
  datums: z.number().int().min(0),
  calls: z.number().int().min(0),
  published_at: z.string(),
});
export type Published = z.infer<typeof publishedSchema>;

export const sameBatch = (a: BatchIdentity, b: BatchIdentity): boolean =>
  a.scored_at === b.scored_at && a.input_sha256 === b.input_sha256 && a.labels_etag === b.labels_etag;

export async function readPublished<S>(
  store: ObjectStore,
  path: string,
  k: MetricsKind<S>,
): Promise<Published | undefined> {
  return readIfPresent(store, k.publishedKey(path), publishedSchema.extend({ kind: z.literal(`${k.kind}_published`) }));
}

export async function readBatchMetrics<S>(
  store: ObjectStore,
  path: string,
  k: MetricsKind<S>,
): Promise<BatchMetrics<S> | undefined> {
  const stored = await readIfPresent(store, k.metricsKey(path), storedSchema(k));
  return (
    stored && {
      batch: stored.batch,
      namespace: stored.namespace,
      summary: stored.summary as S,
      datums: stored.datums.map((d) => ({ ...d, Unit: d.Unit as StandardUnit })),
    }
  );
}

export async function storeBatchMetrics<S>(
  store: ObjectStore,
  path: string,
  k: MetricsKind<S>,
  metrics: BatchMetrics<S>,
): Promise<void> {
  await store.put(k.metricsKey(path), `${JSON.stringify({ kind: k.kind, ...metrics })}\n`);
}

/** Publishes the stored datums of `<path>`, then writes its marker: from then on the batch is monitored. */
export async function publishBatchMetrics<S>(
  store: ObjectStore,
  path: string,
  k: MetricsKind<S>,
  metrics: BatchMetrics<S>,
  client: MetricsSink,
): Promise<Published> {
  const calls = await putMetricData(client, metrics.namespace, metrics.datums);
  const published: Published = {
    kind: `${k.kind}_published`,
    batch: metrics.batch,
    namespace: metrics.namespace,
    datums: metrics.datums.length,
    calls,
    published_at: new Date().toISOString(),
  };
  await store.put(k.publishedKey(path), `${JSON.stringify(published, null, 2)}\n`);
  return published;
}
