// Reading back what the monitor and the batch scorer stored in the predictions bucket: the drift
// reports and quality results under monitoring/ and the lineage manifests under predictions/. Both are parsed with a
// schema, because a reader (the UI) must treat anything in a bucket as untrusted.
import { z } from 'zod';
import { NotFoundError } from '../errors/index.ts';
import { parseJson, type ObjectStore } from '../store/index.ts';
import {
  BATCH_FILES,
  lineageSchema,
  manifestKey,
  predictionPath,
  PREDICTIONS_PREFIX,
  qualityKey,
  qualityPath,
  REPORT_PREFIX,
  reportKey,
  reportPath,
  type Lineage,
} from './lineage.ts';

const level = z.enum(['ok', 'warn', 'alert']);
// JSON has no NaN or Infinity: a statistic that was not finite was written as null.
const stat = z.number().nullable();

const featureDriftSchema = z.object({
  name: z.string(),
  type: z.enum(['numeric', 'categorical', 'boolean']),
  rows: z.number(),
  psi: stat,
  ks_statistic: stat,
  ks_pvalue: stat,
  js_distance: stat,
  missing_rate: stat,
  baseline_missing_rate: stat,
  missing_rate_change: stat,
  out_of_range: stat,
  unseen: stat,
  unseen_categories: z.array(z.string()).nullable(),
  distribution: z.object({ buckets: z.array(z.string()), baseline: z.array(z.number()), current: z.array(z.number()) }),
  level,
  drifted: z.boolean(),
  /** A derived feature (absent in reports written before derived features were monitored). */
  derived: z.boolean().optional(),
});

const qualityLevel = z.enum(['ok', 'warn', 'alert', 'unknown']);
const estimatedSchema = z.object({
  rows: z.number(),
  rmse: z.number(),
  mae: z.number(),
  rmse_low: z.number(),
  rmse_high: z.number(),
  mae_low: z.number(),
  mae_high: z.number(),
  test_rmse: stat,
  rmse_ratio: stat,
  level: qualityLevel,
});

/** A drift report as monitorBatchObject stores it: the DriftReport plus the batch's lineage. */
export const storedDriftReportSchema = z.object({
  model: z.object({ name: z.string(), version: z.union([z.number(), z.string()]) }),
  input: z.string(),
  rows: z.number(),
  generated_at: z.string(),
  thresholds: z.object({ psi_warn: z.number(), psi_alert: z.number(), drift_share: z.number() }),
  features: z.array(featureDriftSchema),
  prediction: featureDriftSchema.nullable(),
  drifted_features: z.array(z.string()),
  drift_share: z.number(),
  dataset_drift: z.boolean(),
  level,
  lineage: z
    .object({ manifest: z.string(), input_sha256: z.string(), scored_at: z.string(), refused_rows: z.number() })
    .optional(),
  /** The loss estimator's estimate (absent in reports written before it existed; null for a version without one). */
  estimated: estimatedSchema.nullable().optional(),
});

export type StoredDriftReport = z.infer<typeof storedDriftReportSchema>;

const errorsSchema = z.object({ rows: z.number(), rmse: z.number(), mae: z.number(), bias: z.number() });

/** A labels batch's quality result as monitorLabelsObject stores it: the QualityReport plus the batch's lineage. */
export const storedQualitySchema = z.object({
  model: z.object({ name: z.string(), version: z.number() }),
  generated_at: z.string(),
  sources: z.object({
    predictions: z.string(),
    labels: z.string(),
    input: z.string().nullable(),
    lineage: z.string().nullable(),
  }),
  predictions: z.object({ rows: z.number(), ambiguous: z.number() }),
  segment: z.object({ name: z.string(), column: z.string() }).nullable(),
  realized: errorsSchema.extend({ r2: stat }),
  by_band: z.record(z.string(), errorsSchema.extend({ test_rmse: stat, rmse_ratio: stat })).nullable(),
  test: z.object({ rmse: stat, mae: stat, r2: stat }),
  ratio: z.object({ rmse: stat, mae: stat }),
  labels: z.object({
    rows: z.number(),
    joined: z.number(),
    unmatched: z.number(),
    unknown: stat,
    refused: stat,
    duplicates: z.number(),
    non_numeric: z.number(),
    missing: z.number(),
    ambiguous: z.number(),
    coverage: z.number(),
  }),
  level: qualityLevel,
  estimated: estimatedSchema.nullable(),
  thresholds: z
    .object({ rmse_ratio_warn: z.number(), rmse_ratio_alert: z.number(), min_label_coverage: z.number() })
    .nullable(),
  lineage: z.object({
    manifest: z.string(),
    labels_etag: z.string(),
    input_sha256: z.string(),
    scored_at: z.string(),
  }),
});

export type StoredQuality = z.infer<typeof storedQualitySchema>;
export type StoredFeatureDrift = z.infer<typeof featureDriftSchema>;

/** `<path>`s of the stored drift reports, in key order (time order for date-stamped paths). */
export async function listDriftReportPaths(predictions: ObjectStore): Promise<string[]> {
  return (await predictions.list(REPORT_PREFIX)).flatMap((k) => reportPath(k) ?? []);
}

/** `<path>`s of the scored batches (those with a lineage manifest), in key order. */
export async function listScoredBatchPaths(predictions: ObjectStore): Promise<string[]> {
  return (await predictions.list(PREDICTIONS_PREFIX))
    .filter((k) => k.endsWith(`/${BATCH_FILES.manifest}`))
    .flatMap((k) => predictionPath(k) ?? []);
}

/** The drift report of batch `<path>`, or undefined when it has none. */
export async function readDriftReport(predictions: ObjectStore, path: string): Promise<StoredDriftReport | undefined> {
  return readIfPresent(predictions, reportKey(path), storedDriftReportSchema);
}

/** `<path>`s of the batches with a stored quality result, in key order. */
export async function listQualityPaths(predictions: ObjectStore): Promise<string[]> {
  return (await predictions.list(REPORT_PREFIX)).flatMap((k) => qualityPath(k) ?? []);
}

/** The quality result of batch `<path>` (its latest labels), or undefined when it has none. */
export async function readQuality(predictions: ObjectStore, path: string): Promise<StoredQuality | undefined> {
  return readIfPresent(predictions, qualityKey(path), storedQualitySchema);
}

/** The lineage manifest of batch `<path>`, or undefined while it has none (it is written last). */
export async function readLineage(predictions: ObjectStore, path: string): Promise<Lineage | undefined> {
  return readIfPresent(predictions, manifestKey(path), lineageSchema);
}

/** The object at `key` parsed with `schema`, or undefined when there is none. */
export async function readIfPresent<T>(store: ObjectStore, key: string, schema: z.ZodType<T>): Promise<T | undefined> {
  const body = await store.get(key).catch((e: unknown) => {
    if (e instanceof NotFoundError) return undefined;
    throw e;
  });
  return body && parseJson(body, schema, `${store.url}/${key}`);
}
