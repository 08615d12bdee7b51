// Realized quality in the buckets: a labels object landing at `labels/<path>` in the data bucket is
// joined to the batch `incoming/<path>` was scored into (`predictions/<path>/`: its predictions, its
// lineage manifest naming the version that scored it, and its input for segments, the estimate and
// refused ids). The result is stored beside the batch's drift report (`monitoring/<path>/quality.json`
// and `quality.html`) and its datums are published to CloudWatch as the drift report's are
// (published.ts: stored first, then sent, then marked).
//
// Writes, in order: quality.json → quality.html → quality-metrics.json → PutMetricData →
// quality-published.json. A crash before the datums are stored leaves a result without datums, which
// the Lambda's own retry of the event (twice, then the dead-letter queue) measures again from scratch;
// a crash after leaves datums without a marker, which the hourly run publishes. Labels are told apart
// by their object's ETag: an upload of new labels for a batch is measured anew, a redelivered event is not.
import { InvalidInputError } from '../errors/index.ts';
import { jsonLogger, stdoutSink } from '../log/index.ts';
import { modelNameOf } from '../registry/index.ts';
import { renderQualityReport } from './quality-html.ts';
import type { ObjectStore } from '../store/index.ts';
import {
  BATCH_FILES,
  labelsKey,
  manifestKey,
  predictionsKey,
  qualityHtmlKey,
  qualityKey,
  REPORT_PREFIX,
} from './lineage.ts';
import { defaultNamespace, metricsClient, publishMonitorFailure, qualityMetricData } from './metrics.ts';
import type { ObjectRunDeps } from './objects.ts';
import {
  publishBatchMetrics,
  QUALITY_METRICS,
  readBatchMetrics,
  readPublished,
  sameBatch,
  storeBatchMetrics,
  type BatchIdentity,
  type BatchMetrics,
  type QualitySummary,
} from './published.ts';
import { runQuality } from './quality-run.ts';
import { readLineage } from './stored.ts';

export type QualityOutcome =
  | ({
      path: string;
      status: 'measured';
      /** The stored result's key in the predictions bucket. */
      result: string;
      /** True when this run only published the metrics an earlier run computed (its publish had failed). */
      republished: boolean;
    } & QualitySummary)
  | { path: string; status: 'failed'; error: string }
  | { path: string; status: 'skipped'; reason: string };

/** Batches whose quality datums were stored but never published (a failed or interrupted publish), in key order. */
export async function unpublishedQuality(predictions: ObjectStore): Promise<string[]> {
  const keys = new Set(await predictions.list(REPORT_PREFIX));
  const suffix = `/${BATCH_FILES.qualityMetrics}`;
  return [...keys]
    .filter((k) => k.endsWith(suffix))
    .map((k) => k.slice(REPORT_PREFIX.length, -suffix.length))
    .filter((path) => !keys.has(QUALITY_METRICS.publishedKey(path)))
    .sort();
}

/** Joins, measures, stores and publishes; the datums of the result. */
async function measure(
  path: string,
  lineage: { scored_at: string; input_key: string; model: { name: string; version: number } },
  batch: BatchIdentity,
  deps: ObjectRunDeps,
): Promise<BatchMetrics<QualitySummary>> {
  const url = (store: ObjectStore, key: string) => ({ store, key, url: `${store.url}/${key}` });
  const report = await runQuality({
    store: deps.registry,
    model: `${lineage.model.name}@${lineage.model.version}`,
    predictions: url(deps.predictions, predictionsKey(path)),
    labels: url(deps.data, labelsKey(path)),
    input: url(deps.data, lineage.input_key),
    openEstimator: deps.openEstimator,
  });
  const stored = {
    ...report,
    lineage: {
      manifest: `${deps.predictions.url}/${manifestKey(path)}`,
      labels_etag: batch.labels_etag!,
      input_sha256: batch.input_sha256,
      scored_at: batch.scored_at,
    },
  };
  await deps.predictions.put(qualityKey(path), `${JSON.stringify(stored, null, 2)}\n`);
  await deps.predictions.put(qualityHtmlKey(path), renderQualityReport(report));
  return {
    batch,
    namespace: deps.namespace ?? defaultNamespace(report.model.name),
    summary: {
      rows: report.labels.joined,
      rmse: report.realized.rmse,
      rmse_ratio: report.ratio.rmse,
      coverage: report.labels.coverage,
      level: report.level,
    },
    datums: qualityMetricData(report),
  };
}

/**
 * Measures the realized quality of batch `<path>` from its labels `labels/<path>`: nothing is written or
 * published for labels that fail (but MonitorFailures and a log line), labels already measured and
 * published are skipped, and a result whose publish failed is published as it was computed.
 */
export async function monitorLabelsObject(path: string, deps: ObjectRunDeps): Promise<QualityOutcome> {
  const source = `${deps.data.url}/${labelsKey(path)}`;
  const watched = modelNameOf(deps.model);
  let model = watched;
  let stored = false;
  try {
    const info = await deps.data.head(labelsKey(path));
    if (!info) return { path, status: 'skipped', reason: `no labels object ${source} (deleted since the event)` };
    const where = `${deps.predictions.url}/${manifestKey(path)}`;
    const lineage = await readLineage(deps.predictions, path);
    if (!lineage)
      throw new InvalidInputError(
        `${source}: no scored batch for these labels (no lineage manifest ${where}); labels are joined to the ` +
          `predictions of incoming/${path}, so upload them once it is scored`,
      );
    model = lineage.model.name;
    if (lineage.model.name !== watched)
      throw new InvalidInputError(
        `${where}: scored by model ${lineage.model.name}, but this monitor watches ${watched}`,
      );
    if (lineage.status === 'rejected')
      throw new InvalidInputError(
        `${where}: the scorer rejected ${lineage.source} whole (${lineage.reason}); its labels have no ` +
          `predictions to join`,
      );
    const input = `${deps.data.url}/${lineage.input_key}`;
    if (lineage.source !== input)
      throw new InvalidInputError(
        `${where}: input ${lineage.source} is not in the data bucket this monitor reads (${deps.data.url})`,
      );
    const batch = { scored_at: lineage.scored_at, input_sha256: lineage.input.sha256, labels_etag: info.etag };
    const published = await readPublished(deps.predictions, path, QUALITY_METRICS);
    if (published && sameBatch(published.batch, batch))
      return {
        path,
        status: 'skipped',
        reason: `already measured: its metrics were published at ${published.published_at}`,
      };
    const earlier = await readBatchMetrics(deps.predictions, path, QUALITY_METRICS);
    const republished = earlier !== undefined && sameBatch(earlier.batch, batch);
    const metrics = republished ? earlier : await measure(path, lineage, batch, deps);
    if (!republished) await storeBatchMetrics(deps.predictions, path, QUALITY_METRICS, metrics);
    stored = true;
    await publishBatchMetrics(
      deps.predictions,
      path,
      QUALITY_METRICS,
      metrics,
      deps.metrics ?? (await metricsClient()),
    );
    // The line's `level` is the log level; the quality level goes as `quality_level`.
    const { level: quality_level, ...summary } = metrics.summary;
    jsonLogger(deps.log ?? stdoutSink).log('info', 'quality_measured', {
      source,
      lineage: where,
      model: lineage.model,
      republished,
      ...summary,
      quality_level,
    });
    return { path, status: 'measured', result: qualityKey(path), republished, ...metrics.summary };
  } catch (e) {
    await publishMonitorFailure(e, {
      model,
      source,
      namespace: deps.namespace,
      client: deps.metrics,
      log: deps.log ?? stdoutSink,
    });
    const retry = !stored
      ? ''
      : ` (its metrics are stored in ${deps.predictions.url}/${QUALITY_METRICS.metricsKey(path)}; the hourly run ` +
        `publishes them again)`;
    return { path, status: 'failed', error: `${(e as Error).message}${retry}` };
  }
}
