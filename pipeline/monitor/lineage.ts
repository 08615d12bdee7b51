// The batch scorer's lineage manifest, as the monitor reads it, and the key layout that ties a
// scored input to its predictions and to its drift report. The prefixes are store/layout.ts's (the
// IAM policies are built from them too); the key shapes are pipeline/predict's (outputs.ts), restated
// here so the monitor does not load ONNX Runtime just to name keys; lineage.test.ts pins the two together.
// A batch's `<path>` is its input key under incoming/, extension included (e.g. `2026/01/05/batch.csv`):
// one folder per input, so no two inputs share a key.
// data bucket:
//   incoming/<path>                            the input (features only)
//   labels/<path>                              its late labels (id, target), CSV or JSON lines
// predictions bucket:
//   predictions/<path>/predictions.csv         id + prediction + lineage
//   predictions/<path>/errors.csv              refused rows
//   predictions/<path>/manifest.json           lineage, written last
//   monitoring/<path>/drift.json | drift.html  the drift report of that input
//   monitoring/<path>/metrics.json             the CloudWatch datums of that report, before publishing
//   monitoring/<path>/published.json           written once they are published: the batch is monitored
//   monitoring/<path>/quality.json | .html     realized quality of its labels (with the estimate)
//   monitoring/<path>/quality-metrics.json     the CloudWatch datums of that result, before publishing
//   monitoring/<path>/quality-published.json   written once they are published
import { z } from 'zod';
import { INCOMING_PREFIX, keyProblem, LABELS_PREFIX, MONITORING_PREFIX, PREDICTIONS_PREFIX } from '../store/index.ts';

export { INCOMING_PREFIX, LABELS_PREFIX, PREDICTIONS_PREFIX };
export const REPORT_PREFIX = MONITORING_PREFIX;
/** Names inside a batch's folders (predictions/<path>/ and monitoring/<path>/). */
export const BATCH_FILES = {
  predictions: 'predictions.csv',
  errors: 'errors.csv',
  manifest: 'manifest.json',
  report: 'drift.json',
  reportHtml: 'drift.html',
  metrics: 'metrics.json',
  published: 'published.json',
  quality: 'quality.json',
  qualityHtml: 'quality.html',
  qualityMetrics: 'quality-metrics.json',
  qualityPublished: 'quality-published.json',
} as const;
const INPUT_EXTENSION = /\.(csv|jsonl|ndjson)$/i;

const model = z.object({ name: z.string().min(1), version: z.number().int().min(1), sha256: z.string().optional() });
const common = {
  kind: z.literal('mltk.predictions'),
  scored_at: z.string(),
  source: z.string().min(1),
  input_key: z.string().startsWith(INCOMING_PREFIX),
};

export const lineageSchema = z.discriminatedUnion('status', [
  z.object({
    ...common,
    status: z.literal('scored'),
    rows: z.number().int().min(0),
    scored: z.number().int().min(0),
    errors: z.number().int().min(0),
    input: z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/), bytes: z.number().int().min(0) }),
    model: model.extend({ sha256: z.string().regex(/^[0-9a-f]{64}$/) }),
  }),
  z.object({ ...common, status: z.literal('rejected'), reason: z.string(), model }),
]);

export type Lineage = z.infer<typeof lineageSchema>;

/**
 * `<path>` of a predictions-bucket key, or undefined for keys that are not a scored batch's predictions or
 * manifest (nor a valid store key: a forged `predictions/../x.csv/manifest.json` names no batch).
 */
export function predictionPath(key: string): string | undefined {
  if (!key.startsWith(PREDICTIONS_PREFIX) || keyProblem(key)) return undefined;
  const cut = key.lastIndexOf('/');
  const file = key.slice(cut + 1);
  if (file !== BATCH_FILES.manifest && file !== BATCH_FILES.predictions) return undefined;
  const path = key.slice(PREDICTIONS_PREFIX.length, cut);
  return INPUT_EXTENSION.test(path) ? path : undefined;
}

/** `<path>` of a `monitoring/<path>/drift.json` key, or undefined for any other key. */
export function reportPath(key: string): string | undefined {
  const suffix = `/${BATCH_FILES.report}`;
  if (!key.startsWith(REPORT_PREFIX) || !key.endsWith(suffix) || keyProblem(key)) return undefined;
  const path = key.slice(REPORT_PREFIX.length, -suffix.length);
  return INPUT_EXTENSION.test(path) ? path : undefined;
}

/** `<path>` of a data-bucket key under labels/ (the labels of the batch incoming/<path>), or undefined. */
export function labelsPath(key: string): string | undefined {
  if (!key.startsWith(LABELS_PREFIX) || keyProblem(key)) return undefined;
  const path = key.slice(LABELS_PREFIX.length);
  return INPUT_EXTENSION.test(path) ? path : undefined;
}

/** `<path>` of a `monitoring/<path>/quality.json` key, or undefined for any other key. */
export function qualityPath(key: string): string | undefined {
  const suffix = `/${BATCH_FILES.quality}`;
  if (!key.startsWith(REPORT_PREFIX) || !key.endsWith(suffix) || keyProblem(key)) return undefined;
  const path = key.slice(REPORT_PREFIX.length, -suffix.length);
  return INPUT_EXTENSION.test(path) ? path : undefined;
}

export const labelsKey = (path: string): string => `${LABELS_PREFIX}${path}`;

const inFolder =
  (prefix: string, file: string) =>
  (path: string): string =>
    `${prefix}${path}/${file}`;
export const manifestKey = inFolder(PREDICTIONS_PREFIX, BATCH_FILES.manifest);
export const predictionsKey = inFolder(PREDICTIONS_PREFIX, BATCH_FILES.predictions);
export const reportKey = inFolder(REPORT_PREFIX, BATCH_FILES.report);
export const reportHtmlKey = inFolder(REPORT_PREFIX, BATCH_FILES.reportHtml);
export const metricsKey = inFolder(REPORT_PREFIX, BATCH_FILES.metrics);
export const publishedKey = inFolder(REPORT_PREFIX, BATCH_FILES.published);
export const qualityKey = inFolder(REPORT_PREFIX, BATCH_FILES.quality);
export const qualityHtmlKey = inFolder(REPORT_PREFIX, BATCH_FILES.qualityHtml);
export const qualityMetricsKey = inFolder(REPORT_PREFIX, BATCH_FILES.qualityMetrics);
export const qualityPublishedKey = inFolder(REPORT_PREFIX, BATCH_FILES.qualityPublished);
