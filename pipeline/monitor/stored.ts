// Reading back what the monitor and the batch scorer stored in the predictions bucket: the drift
// reports under monitoring/ and the lineage manifests under predictions/. Both are parsed with a
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
  estimated: z
    .object({
      rows: z.number(),
      rmse: z.number(),
      mae: z.number(),
      rmse_low: z.number(),
      rmse_high: z.number(),
      mae_low: z.number(),
      mae_high: z.number(),
      test_rmse: stat,
      rmse_ratio: stat,
      level: z.enum(['ok', 'warn', 'alert', 'unknown']),
    })
    .nullable()
    .optional(),
});

export type StoredDriftReport = z.infer<typeof storedDriftReportSchema>;
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
  const key = reportKey(path);
  const body = await predictions.get(key).catch((e: unknown) => {
    if (e instanceof NotFoundError) return undefined;
    throw e;
  });
  return body && parseJson(body, storedDriftReportSchema, `${predictions.url}/${key}`);
}

/** The lineage manifest of batch `<path>`, or undefined while it has none (it is written last). */
export async function readLineage(predictions: ObjectStore, path: string): Promise<Lineage | undefined> {
  const key = manifestKey(path);
  const body = await predictions.get(key).catch((e: unknown) => {
    if (e instanceof NotFoundError) return undefined;
    throw e;
  });
  return body && parseJson(body, lineageSchema, `${predictions.url}/${key}`);
}
