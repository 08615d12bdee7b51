// The batch scorer's lineage manifest, as the monitor reads it, and the key layout that ties a
// scored input to its predictions and to its drift report. The prefixes are store/layout.ts's (the
// IAM policies are built from them too); the key shapes are pipeline/predict's (outputs.ts), restated
// here so the monitor does not load ONNX Runtime just to name keys; lineage.test.ts pins the two together.
//   data bucket:         incoming/<path>.csv                      the input (features only)
//   predictions bucket:  predictions/<path>.csv | .errors.csv     id + prediction + lineage | refused rows
//                        predictions/<path>.manifest.json         lineage, written last
//                        monitoring/<path>.drift.json | .html     the drift report of that input
//                        monitoring/<path>.metrics.json           the CloudWatch datums of that report, before publishing
//                        monitoring/<path>.published.json         written once they are published: the batch is monitored
import { z } from 'zod';
import { INCOMING_PREFIX, MONITORING_PREFIX, PREDICTIONS_PREFIX } from '../store/index.ts';

export { INCOMING_PREFIX, PREDICTIONS_PREFIX };
export const REPORT_PREFIX = MONITORING_PREFIX;
const MANIFEST_SUFFIX = '.manifest.json';
const ERRORS_SUFFIX = '.errors.csv';

const model = z.object({ name: z.string().min(1), version: z.number().int().min(1), sha256: z.string().optional() });
const common = { kind: z.literal('mltk.predictions'), scored_at: z.string(), source: z.string().min(1), input_key: z.string().startsWith(INCOMING_PREFIX) };

export const lineageSchema = z.discriminatedUnion('status', [
  z.object({
    ...common, status: z.literal('scored'),
    rows: z.number().int().min(0), scored: z.number().int().min(0), errors: z.number().int().min(0),
    input: z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/), bytes: z.number().int().min(0) }),
    model: model.extend({ sha256: z.string().regex(/^[0-9a-f]{64}$/) }),
  }),
  z.object({ ...common, status: z.literal('rejected'), reason: z.string(), model }),
]);

export type Lineage = z.infer<typeof lineageSchema>;

/** `<path>` of a predictions-bucket key, or undefined for keys that are not a scored batch's predictions or manifest. */
export function predictionPath(key: string): string | undefined {
  if (!key.startsWith(PREDICTIONS_PREFIX)) return undefined;
  const rest = key.slice(PREDICTIONS_PREFIX.length);
  if (rest.endsWith(MANIFEST_SUFFIX)) return rest.slice(0, -MANIFEST_SUFFIX.length);
  if (rest.endsWith(ERRORS_SUFFIX) || !rest.endsWith('.csv')) return undefined;
  return rest.slice(0, -'.csv'.length);
}

export const manifestKey = (path: string): string => `${PREDICTIONS_PREFIX}${path}${MANIFEST_SUFFIX}`;
export const reportKey = (path: string): string => `${REPORT_PREFIX}${path}.drift.json`;
export const reportHtmlKey = (path: string): string => `${REPORT_PREFIX}${path}.drift.html`;
export const metricsKey = (path: string): string => `${REPORT_PREFIX}${path}.metrics.json`;
export const publishedKey = (path: string): string => `${REPORT_PREFIX}${path}.published.json`;
