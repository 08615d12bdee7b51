// Monitoring of scored batches in the buckets: which ones are due, and one batch end to end. The
// lineage manifest names the input and the model version that scored it; the monitor reads that
// input from the data bucket, checks it is the very bytes scored (sha256), scores it again with that
// version (same ONNX bytes, same refusals, so the same predictions as the predictions object) and
// writes the report under monitoring/, metrics to CloudWatch; a failure metric and log line otherwise.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { inputFormat } from '../data/index.ts';
import { InvalidInputError } from '../errors/index.ts';
import { jsonLogger, stdoutSink, type LineSink } from '../log/index.ts';
import { modelNameOf, type ModelVersion } from '../registry/index.ts';
import type { ObjectStore } from '../store/index.ts';
import { renderReport } from './html.ts';
import {
  manifestKey,
  metricsKey,
  publishedKey,
  REPORT_PREFIX,
  reportHtmlKey,
  reportKey,
  type Lineage,
} from './lineage.ts';
import {
  defaultNamespace,
  driftMetricData,
  metricsClient,
  publishMonitorFailure,
  type MetricsSink,
} from './metrics.ts';
import {
  DRIFT_METRICS,
  publishBatchMetrics,
  readBatchMetrics,
  readPublished,
  sameBatch,
  storeBatchMetrics,
  type BatchMetrics,
  type DriftSummary,
} from './published.ts';
import { runMonitor } from './run.ts';
import { modelScorer, type ChunkScorer } from './scoring.ts';
import { listScoredBatchPaths, readLineage } from './stored.ts';
import { openLossEstimator, type BatchLossEstimator } from './estimate.ts';

/**
 * Scored batches not monitored yet, as `<path>`s: those whose metrics were computed but never
 * published (a failed or interrupted publish), then the manifests after the newest monitored batch, at
 * most the last `lastN`. A batch is monitored once its metrics are published (published.ts).
 * Keys order by name, which is time order for date-stamped paths.
 */
export async function pendingBatches(predictions: ObjectStore, lastN: number): Promise<string[]> {
  const monitoring = new Set(await predictions.list(REPORT_PREFIX));
  const paths = await listScoredBatchPaths(predictions);
  const published = (p: string) => monitoring.has(publishedKey(p));
  let lastDone = -1;
  paths.forEach((p, i) => {
    if (published(p)) lastDone = i;
  });
  const unpublished = paths.slice(0, lastDone + 1).filter((p) => !published(p) && monitoring.has(metricsKey(p)));
  return [...unpublished, ...paths.slice(lastDone + 1).slice(-lastN)];
}

export interface ObjectRunDeps {
  registry: ObjectStore;
  /** Where the predict Lambda reads inputs (incoming/...). */
  data: ObjectStore;
  /** Where it writes predictions/... and this writes monitoring/... */
  predictions: ObjectStore;
  /** The model this monitor watches; a batch scored by another model is refused. */
  model: string;
  namespace?: string;
  metrics?: MetricsSink;
  /** Where log lines go (default stdout, as in Lambda). */
  log?: LineSink;
  /** Default: the version's ONNX model from `registry` on a pipeline/predict scoring worker. */
  openScorer?: (mv: ModelVersion) => Promise<ChunkScorer>;
  /** Default: the version's loss estimator from `registry` (hash-verified). */
  openEstimator?: (mv: ModelVersion) => Promise<BatchLossEstimator | null>;
}

export type ObjectOutcome =
  | {
      path: string;
      status: 'monitored';
      report: string;
      dataset_drift: boolean;
      drift_share: number;
      rows: number;
      /** True when this run only published the metrics an earlier run computed (its publish had failed). */
      republished: boolean;
    }
  | { path: string; status: 'failed'; error: string }
  | { path: string; status: 'skipped'; reason: string };

/** `input` piped through sha256; `digest()` is the hash of every byte once the stream has ended. */
function hashing(input: Readable): { stream: Readable; digest(): string | undefined } {
  const hash = createHash('sha256');
  let ended = false;
  const stream = Readable.from(
    (async function* () {
      for await (const b of input) {
        hash.update(b as Buffer);
        yield b as Buffer;
      }
      ended = true;
    })(),
  );
  return { stream, digest: () => (ended ? hash.digest('hex') : undefined) };
}

type ScoredLineage = Extract<Lineage, { status: 'scored' }>;

/** Reads, re-scores and reports the batch: the report under monitoring/ and the datums to publish. */
async function driftOf(
  path: string,
  lineage: ScoredLineage,
  deps: ObjectRunDeps,
  input: { stream?: Readable },
): Promise<BatchMetrics<DriftSummary>> {
  const where = `${deps.predictions.url}/${manifestKey(path)}`;
  const source = `${deps.data.url}/${lineage.input_key}`;
  const format = inputFormat(lineage.input_key);
  if (!format)
    throw new InvalidInputError(`${where}: input ${source} is neither CSV nor JSON lines (.csv, .jsonl, .ndjson)`);
  const hashed = hashing(await deps.data.getStream(lineage.input_key));
  input.stream = hashed.stream;
  const open = deps.openScorer ?? modelScorer(deps.registry);
  const { report, baseline, scoring } = await runMonitor({
    store: deps.registry,
    model: `${lineage.model.name}@${lineage.model.version}`,
    input: hashed.stream,
    source,
    format,
    openScorer: async (mv) => {
      if (mv.artifact.sha256 !== lineage.model.sha256) {
        throw new InvalidInputError(
          `${where}: scored with ONNX ${lineage.model.sha256.slice(0, 12)}, but ${mv.name} v${mv.version} is now ` +
            `${mv.artifact.sha256.slice(0, 12)}`,
        );
      }
      return open(mv);
    },
    openEstimator: deps.openEstimator ?? ((mv) => openLossEstimator(deps.registry, mv)),
  });
  const sha256 = hashed.digest();
  if (sha256 !== lineage.input.sha256) {
    throw new InvalidInputError(
      `${source} changed since it was scored (sha256 ${sha256 ?? '(not read to the end)'}, lineage ${where} says ` +
        `${lineage.input.sha256})`,
    );
  }
  if (scoring && (scoring.scored !== lineage.scored || scoring.refused !== lineage.errors)) {
    throw new InvalidInputError(
      `${source}: scored ${scoring.scored} rows and refused ${scoring.refused} here, but the batch scorer scored ` +
        `${lineage.scored} and refused ${lineage.errors} (${where})`,
    );
  }
  const withLineage = {
    ...report,
    lineage: {
      manifest: where,
      input_sha256: lineage.input.sha256,
      scored_at: lineage.scored_at,
      refused_rows: lineage.errors,
    },
  };
  await deps.predictions.put(reportKey(path), JSON.stringify(withLineage, null, 2));
  await deps.predictions.put(reportHtmlKey(path), renderReport(report, baseline));
  return {
    batch: { scored_at: lineage.scored_at, input_sha256: lineage.input.sha256 },
    namespace: deps.namespace ?? defaultNamespace(report.model.name),
    summary: { rows: report.rows, drift_share: report.drift_share, dataset_drift: report.dataset_drift },
    datums: driftMetricData(report),
  };
}

/**
 * Monitors the scored batch `<path>`: nothing is written or published for a batch that fails, and a
 * batch whose metrics are already published is skipped. Metrics computed by an earlier run that could
 * not publish them are published as they were (published.ts says what a crash leaves and how this recovers).
 */
export async function monitorBatchObject(path: string, deps: ObjectRunDeps): Promise<ObjectOutcome> {
  const where = `${deps.predictions.url}/${manifestKey(path)}`;
  const watched = modelNameOf(deps.model);
  let modelName = watched;
  let source = where;
  const input: { stream?: Readable } = {};
  let stored = false;
  try {
    const lineage = await readLineage(deps.predictions, path);
    // The manifest is written last: without it the batch is still being scored (or never was).
    if (!lineage) return { path, status: 'skipped', reason: `no lineage manifest ${where} yet` };
    modelName = lineage.model.name;
    if (lineage.model.name !== watched) {
      throw new InvalidInputError(
        `${where}: scored by model ${lineage.model.name}, but this monitor watches ${watched}`,
      );
    }
    if (lineage.status === 'rejected')
      throw new InvalidInputError(
        `${where}: the scorer rejected ${lineage.source} whole (${lineage.reason}); nothing to monitor`,
      );
    source = `${deps.data.url}/${lineage.input_key}`;
    if (lineage.source !== source)
      throw new InvalidInputError(
        `${where}: input ${lineage.source} is not in the data bucket this monitor reads (${deps.data.url})`,
      );
    const batch = { scored_at: lineage.scored_at, input_sha256: lineage.input.sha256 };
    const published = await readPublished(deps.predictions, path, DRIFT_METRICS);
    if (published && sameBatch(published.batch, batch)) {
      const reason = `already monitored: its metrics were published at ${published.published_at}`;
      return { path, status: 'skipped', reason };
    }
    const earlier = await readBatchMetrics(deps.predictions, path, DRIFT_METRICS);
    const republished = earlier !== undefined && sameBatch(earlier.batch, batch);
    const metrics = republished ? earlier : await driftOf(path, lineage, deps, input);
    if (!republished) await storeBatchMetrics(deps.predictions, path, DRIFT_METRICS, metrics);
    stored = true;
    await publishBatchMetrics(deps.predictions, path, DRIFT_METRICS, metrics, deps.metrics ?? (await metricsClient()));
    jsonLogger(deps.log ?? stdoutSink).log('info', 'monitored', {
      source,
      lineage: where,
      model: lineage.model,
      republished,
      ...metrics.summary,
    });
    return { path, status: 'monitored', report: reportKey(path), republished, ...metrics.summary };
  } catch (e) {
    input.stream?.destroy();
    await publishMonitorFailure(e, {
      model: modelName,
      source,
      namespace: deps.namespace,
      client: deps.metrics,
      log: deps.log ?? stdoutSink,
    });
    const retry = !stored
      ? ''
      : ` (its metrics are stored in ${deps.predictions.url}/${metricsKey(path)}; the hourly run publishes them again)`;
    return { path, status: 'failed', error: `${(e as Error).message}${retry}` };
  }
}
