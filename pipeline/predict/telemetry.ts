// CloudWatch Embedded Metric Format lines of the prediction service.
// Both go to stdout: in Lambda, CloudWatch Logs ingests them and extracts the EMF metrics.

export const METRICS = {
  rowsScored: 'RowsScored',
  validationErrors: 'ValidationErrors',
  latency: 'PredictLatencyMs',
} as const;

export interface PredictMetrics {
  model: string;
  version: number;
  rowsScored: number;
  validationErrors: number;
  latencyMs: number;
  /** Extra properties (not metrics): request id, route, path kind. */
  properties?: Record<string, string | number>;
}

export function metricNamespace(model: string, env: NodeJS.ProcessEnv = process.env): string {
  return env.MLTK_METRIC_NAMESPACE || `mltk/${model}`;
}

/** One EMF document: RowsScored, ValidationErrors, PredictLatencyMs under dimension Model. */
export function emfLine(m: PredictMetrics, namespace: string, now: number = Date.now()): string {
  return JSON.stringify({
    _aws: {
      Timestamp: now,
      CloudWatchMetrics: [
        {
          Namespace: namespace,
          Dimensions: [['Model']],
          Metrics: [
            { Name: METRICS.rowsScored, Unit: 'Count' },
            { Name: METRICS.validationErrors, Unit: 'Count' },
            { Name: METRICS.latency, Unit: 'Milliseconds' },
          ],
        },
      ],
    },
    Model: m.model,
    ModelVersion: m.version,
    ...m.properties,
    [METRICS.rowsScored]: m.rowsScored,
    [METRICS.validationErrors]: m.validationErrors,
    [METRICS.latency]: Math.round(m.latencyMs * 1000) / 1000,
  });
}
