// Monitoring of prediction objects in a bucket: which ones are due, and one object end to end
// (report next to it under monitoring/, metrics to CloudWatch, a failure metric and log line otherwise).
import type { ObjectStore } from '../store/index.ts';
import { publishDriftMetrics, publishMonitorFailure, type MetricsSink } from './metrics.ts';
import { renderReport } from './html.ts';
import { runMonitor } from './run.ts';

export const REPORT_PREFIX = 'monitoring/';
export const reportKey = (key: string): string => `${REPORT_PREFIX}${key}.drift.json`;
export const reportHtmlKey = (key: string): string => `${REPORT_PREFIX}${key}.drift.html`;

/**
 * Prediction objects not monitored yet: CSV keys after the newest one that already has a report,
 * at most the last `lastN`. Keys order by name, which is time order for the scorer's date-stamped keys.
 */
export async function pendingPredictionKeys(predictions: ObjectStore, lastN: number): Promise<string[]> {
  const all = await predictions.list('');
  const reports = new Set(all.filter((k) => k.startsWith(REPORT_PREFIX)));
  const candidates = all.filter((k) => !k.startsWith(REPORT_PREFIX) && k.endsWith('.csv'));
  let lastDone = -1;
  candidates.forEach((k, i) => { if (reports.has(reportKey(k))) lastDone = i; });
  return candidates.slice(lastDone + 1).slice(-lastN);
}

export interface ObjectRunDeps {
  registry: ObjectStore;
  predictions: ObjectStore;
  model: string;
  namespace?: string;
  metrics?: MetricsSink;
  log?: (line: string) => void;
}

export type ObjectOutcome =
  | { key: string; ok: true; report: string; dataset_drift: boolean; drift_share: number; rows: number }
  | { key: string; ok: false; error: string };

/** Monitors one prediction object. Nothing is written or published for a batch that fails. */
export async function monitorObject(key: string, deps: ObjectRunDeps): Promise<ObjectOutcome> {
  const source = `${deps.predictions.url.replace(/\/$/, '')}/${key}`;
  try {
    const { report, baseline } = await runMonitor({ store: deps.registry, model: deps.model, input: await deps.predictions.getStream(key), source });
    await deps.predictions.put(reportKey(key), JSON.stringify(report, null, 2));
    await deps.predictions.put(reportHtmlKey(key), renderReport(report, baseline));
    await publishDriftMetrics(report, { namespace: deps.namespace, client: deps.metrics });
    (deps.log ?? console.log)(JSON.stringify({ level: 'info', event: 'monitored', source, model: report.model, rows: report.rows, drift_share: report.drift_share, dataset_drift: report.dataset_drift }));
    return { key, ok: true, report: reportKey(key), dataset_drift: report.dataset_drift, drift_share: report.drift_share, rows: report.rows };
  } catch (e) {
    await publishMonitorFailure(e, { model: deps.model.split('@')[0]!, source, namespace: deps.namespace, client: deps.metrics, log: deps.log });
    return { key, ok: false, error: (e as Error).message };
  }
}
