// CloudWatch publishing of a drift report. The metric names and dimension sets are a contract with
// the alarms in deployment/ (infrastructure builds alarms on exactly these), hence the exported constants.
import type * as CloudWatchSdk from '@aws-sdk/client-cloudwatch';
import type { CloudWatchClient, PutMetricDataCommand, MetricDatum, StandardUnit } from '@aws-sdk/client-cloudwatch';
import { AccessDeniedError, messageLine, MltkError } from '../errors/index.ts';
import { jsonLogger, stderrSink, type LineSink } from '../log/index.ts';
import type { DriftReport } from './report.ts';
import type { QualityReport } from './quality-run.ts';
import { awsRegion } from '../store/index.ts';

export const METRIC = {
  FeaturePSI: 'FeaturePSI',
  FeatureKS: 'FeatureKS',
  MissingRate: 'MissingRate',
  PredictionPSI: 'PredictionPSI',
  DriftShare: 'DriftShare',
  RowsMonitored: 'RowsMonitored',
  MonitorFailures: 'MonitorFailures',
  /** Every monitored batch with a loss estimator: the estimate, and its ratio to the version's test RMSE. */
  EstimatedRMSE: 'EstimatedRMSE',
  EstimatedMAE: 'EstimatedMAE',
  EstimatedRMSERatio: 'EstimatedRMSERatio',
  /** Every labels batch: realized quality of the joined rows, and the share of the batch the labels cover. */
  RealizedRMSE: 'RealizedRMSE',
  RealizedMAE: 'RealizedMAE',
  RealizedRMSERatio: 'RealizedRMSERatio',
  Bias: 'Bias',
  LabelCoverage: 'LabelCoverage',
  RowsLabelled: 'RowsLabelled',
} as const;

export const DIMENSION = { Model: 'Model', Version: 'Version', Feature: 'Feature' } as const;

/** FeaturePSI, FeatureKS (the KS statistic D; numeric features only), MissingRate. */
export const FEATURE_DIMENSION_SETS = [
  ['Model', 'Feature'],
  ['Model', 'Version', 'Feature'],
] as const;
/** PredictionPSI, DriftShare, RowsMonitored, and the Estimated* and Realized* quality metrics, Bias, LabelCoverage, RowsLabelled. */
export const MODEL_DIMENSION_SETS = [['Model'], ['Model', 'Version']] as const;
/** MonitorFailures: the model is known before its version is, so failures carry Model only. */
export const FAILURE_DIMENSION_SETS = [['Model']] as const;

/** PutMetricData accepts at most 1,000 metrics and 1 MB per request; 1,000 single-value datums stay far below 1 MB. */
export const MAX_DATUMS_PER_CALL = 1000;

export const defaultNamespace = (model: string): string => `mltk/${model}`;

export interface MetricsSink {
  send(command: PutMetricDataCommand): Promise<unknown>;
}

export interface PublishOptions {
  namespace?: string;
  client?: MetricsSink;
}

type DimValues = { Model: string; Version?: string; Feature?: string };

function datums(
  name: string,
  value: number | null,
  unit: StandardUnit,
  sets: ReadonlyArray<ReadonlyArray<keyof DimValues>>,
  dims: DimValues,
  timestamp: Date,
): MetricDatum[] {
  // CloudWatch rejects NaN and ±Infinity; a statistic that does not apply is simply not sent.
  if (value === null || !Number.isFinite(value)) return [];
  return sets.map((set) => ({
    MetricName: name,
    Dimensions: set.map((d) => ({ Name: d, Value: dims[d]! })),
    Value: value,
    Unit: unit,
    Timestamp: timestamp,
  }));
}

/** Every datum a report publishes, in a stable order (pure; publishDriftMetrics sends them). */
export function driftMetricData(report: DriftReport, timestamp = new Date(report.generated_at)): MetricDatum[] {
  const model = { Model: report.model.name, Version: String(report.model.version) };
  const out: MetricDatum[] = [];
  for (const f of report.features) {
    const dims = { ...model, Feature: f.name };
    out.push(...datums(METRIC.FeaturePSI, f.psi, 'None', FEATURE_DIMENSION_SETS, dims, timestamp));
    out.push(...datums(METRIC.FeatureKS, f.ks_statistic, 'None', FEATURE_DIMENSION_SETS, dims, timestamp));
    out.push(...datums(METRIC.MissingRate, f.missing_rate, 'None', FEATURE_DIMENSION_SETS, dims, timestamp));
  }
  out.push(
    ...datums(METRIC.PredictionPSI, report.prediction?.psi ?? null, 'None', MODEL_DIMENSION_SETS, model, timestamp),
  );
  out.push(...datums(METRIC.DriftShare, report.drift_share, 'None', MODEL_DIMENSION_SETS, model, timestamp));
  out.push(...datums(METRIC.RowsMonitored, report.rows, 'Count', MODEL_DIMENSION_SETS, model, timestamp));
  const e = report.estimated;
  if (e) {
    out.push(...datums(METRIC.EstimatedRMSE, e.rmse, 'None', MODEL_DIMENSION_SETS, model, timestamp));
    out.push(...datums(METRIC.EstimatedMAE, e.mae, 'None', MODEL_DIMENSION_SETS, model, timestamp));
    out.push(...datums(METRIC.EstimatedRMSERatio, e.rmse_ratio, 'None', MODEL_DIMENSION_SETS, model, timestamp));
  }
  return out;
}

/** Every datum a labels batch's quality report publishes (pure; publishQualityMetrics sends them). */
export function qualityMetricData(report: QualityReport, timestamp = new Date(report.generated_at)): MetricDatum[] {
  const model = { Model: report.model.name, Version: String(report.model.version) };
  const r = report.realized;
  return [
    ...datums(METRIC.RealizedRMSE, r.rmse, 'None', MODEL_DIMENSION_SETS, model, timestamp),
    ...datums(METRIC.RealizedMAE, r.mae, 'None', MODEL_DIMENSION_SETS, model, timestamp),
    ...datums(METRIC.RealizedRMSERatio, report.ratio.rmse, 'None', MODEL_DIMENSION_SETS, model, timestamp),
    ...datums(METRIC.Bias, r.bias, 'None', MODEL_DIMENSION_SETS, model, timestamp),
    ...datums(METRIC.LabelCoverage, report.labels.coverage, 'None', MODEL_DIMENSION_SETS, model, timestamp),
    ...datums(METRIC.RowsLabelled, report.labels.joined, 'Count', MODEL_DIMENSION_SETS, model, timestamp),
  ];
}

let sdk: Promise<typeof CloudWatchSdk> | undefined;

/** The CloudWatch SDK, loaded on first use: only publishing needs it, and it costs more to load than most commands take. */
function cloudWatchSdk(): Promise<typeof CloudWatchSdk> {
  sdk ??= import('@aws-sdk/client-cloudwatch');
  return sdk;
}

/**
 * A CloudWatch client for metrics. Request compression is off: a full batch of 1,000 datums is ~250 KB,
 * well inside the 1 MB limit, and moto (our test server) cannot read the SDK's gzip-encoded bodies.
 */
export async function metricsClient(
  config: ConstructorParameters<typeof CloudWatchClient>[0] = {},
): Promise<CloudWatchClient> {
  const { CloudWatchClient } = await cloudWatchSdk();
  return new CloudWatchClient({ region: awsRegion(), disableRequestCompression: true, ...config });
}

/** CloudWatch refused or never answered a PutMetricData call (after the SDK's own retries). */
export class MetricsPublishError extends MltkError {
  constructor(message: string, options?: ErrorOptions) {
    super('INTERNAL', message, [], options);
  }
}

const isDenied = (e: unknown): boolean =>
  /AccessDenied/.test((e as Error)?.name ?? '') ||
  (e as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode === 403;

/** Sends `data` in calls of at most MAX_DATUMS_PER_CALL; a failure names the namespace and how far it got. */
export async function putMetricData(
  sink: MetricsSink | undefined,
  namespace: string,
  data: MetricDatum[],
): Promise<number> {
  const { PutMetricDataCommand } = await cloudWatchSdk();
  const client = sink ?? (await metricsClient());
  const total = Math.ceil(data.length / MAX_DATUMS_PER_CALL);
  let calls = 0;
  for (let i = 0; i < data.length; i += MAX_DATUMS_PER_CALL) {
    try {
      const MetricData = data.slice(i, i + MAX_DATUMS_PER_CALL);
      await client.send(new PutMetricDataCommand({ Namespace: namespace, MetricData }));
    } catch (e) {
      const call = `call ${calls + 1} of ${total}`;
      const message = `cloudwatch:PutMetricData to namespace "${namespace}" failed (${call}): ${(e as Error).message}`;
      throw isDenied(e) ? new AccessDeniedError(message, { cause: e }) : new MetricsPublishError(message, { cause: e });
    }
    calls++;
  }
  return calls;
}

export async function publishDriftMetrics(
  report: DriftReport,
  opts: PublishOptions = {},
): Promise<{ namespace: string; datums: number; calls: number }> {
  const namespace = opts.namespace ?? defaultNamespace(report.model.name);
  const data = driftMetricData(report);
  const calls = await putMetricData(opts.client, namespace, data);
  return { namespace, datums: data.length, calls };
}

export async function publishQualityMetrics(
  report: QualityReport,
  opts: PublishOptions = {},
): Promise<{ namespace: string; datums: number; calls: number }> {
  const namespace = opts.namespace ?? defaultNamespace(report.model.name);
  const data = qualityMetricData(report);
  const calls = await putMetricData(opts.client, namespace, data);
  return { namespace, datums: data.length, calls };
}

export interface FailureContext {
  model: string;
  source: string;
  namespace?: string;
  client?: MetricsSink;
  /** Where log lines go (default stderr). */
  log?: LineSink;
}

/**
 * Records a failed monitoring run: one structured JSON error line (for log metric filters and humans)
 * and MonitorFailures = 1. A failure to publish is logged too but never masks the original error.
 */
export async function publishMonitorFailure(error: unknown, ctx: FailureContext): Promise<void> {
  const log = jsonLogger(ctx.log ?? stderrSink);
  const err = error instanceof Error ? error : new Error(String(error));
  log.log('error', 'monitor_failed', {
    model: ctx.model,
    source: ctx.source,
    error: err.name,
    code: error instanceof MltkError ? error.code : 'INTERNAL',
    message: messageLine(err.message),
    details: error instanceof MltkError ? error.details : [],
  });
  const namespace = ctx.namespace ?? defaultNamespace(ctx.model);
  try {
    const failure = datums(
      METRIC.MonitorFailures,
      1,
      'Count',
      FAILURE_DIMENSION_SETS,
      { Model: ctx.model },
      new Date(),
    );
    await putMetricData(ctx.client, namespace, failure);
  } catch (e) {
    log.log('error', 'monitor_failure_metric_failed', { model: ctx.model, message: (e as Error).message });
  }
}
