// monitorBatch: one batch of inputs (as a stream of Table chunks) against a model's baseline profile
// → the drift report. No I/O here; callers bring the chunks and, if needed, a scoring function.
import type { DerivedFeature, FeatureSpec, ModelConfig } from '../config/index.ts';
import { InvalidInputError } from '../errors/index.ts';
import type { Table } from '../data/index.ts';
import type { FeatureStats } from './accumulate.ts';
import { driftCounter, monitoredDerived, type CountingPlan, type DriftCounter, type DriftCounts } from './counting.ts';
import { qualityBand, type BatchLossEstimator, type EstimatedQuality, type LossSums } from './estimate.ts';
import type { LossInputs } from './loss-inputs.ts';
import type { BaselineProfile } from './profile.ts';
import type { QualityThresholds } from './quality.ts';

export type Thresholds = Pick<ModelConfig['monitoring'], 'psi_warn' | 'psi_alert' | 'drift_share'>;
export type DriftLevel = 'ok' | 'warn' | 'alert';

export interface FeatureDrift extends FeatureStats {
  level: DriftLevel;
  drifted: boolean;
  /** A derived feature (computed from other features inside the model), monitored like the others. */
  derived: boolean;
}

export interface DriftReport {
  model: { name: string; version: number | string };
  input: string;
  rows: number;
  generated_at: string;
  thresholds: Thresholds;
  /** Drifted features first (highest PSI first), then the rest by PSI. */
  features: FeatureDrift[];
  prediction: FeatureDrift | null;
  drifted_features: string[];
  drift_share: number;
  dataset_drift: boolean;
  level: DriftLevel;
  /** Estimated quality of the rows with a prediction, from the version's loss estimator; null without one. */
  estimated: EstimatedQuality | null;
}

export interface MonitorBatchInput {
  model: { name: string; version: number | string };
  /** The model signature's features: their min/max and allowed values define out-of-range counts. */
  features: readonly FeatureSpec[];
  /**
   * The model's derived features, computed from each chunk as the model computes them and monitored
   * like the others where the baseline profiles them (baselines from before derived profiles do not).
   */
  derived?: readonly DerivedFeature[];
  baseline: BaselineProfile;
  thresholds: Thresholds;
  chunks: Iterable<Table> | AsyncIterable<Table>;
  /** Names the input in errors and in the report (a file path or an S3 key). */
  source: string;
  /** Batch-scored files carry the model's output column; its values are the predictions monitored. */
  predictionColumn?: string;
  /** Used when a chunk lacks `predictionColumn`: scores the chunk (e.g. through pipeline/predict). */
  predict?: (table: Table) => Float64Array | Promise<Float64Array>;
  /** Estimates the quality of every chunk's predicted rows; its band against the version's test RMSE. */
  estimator?: { estimator: BatchLossEstimator; testRmse: number | null; thresholds?: QualityThresholds };
  now?: () => Date;
}

type Estimation = MonitorBatchInput['estimator'];

/**
 * Sums the loss estimator's estimates chunk by chunk, one chunk in flight (chunks are not kept waiting).
 * The estimator may still be loading: chunks are counted meanwhile, and estimated once it is ready.
 */
function estimation(loading: Estimation | Promise<Estimation>) {
  const ready = Promise.resolve(loading);
  const sums: LossSums = { rows: 0, squared: 0, absolute: 0 };
  let inflight: Promise<void> = Promise.resolve();
  // Sums are added in chunk order, whichever thread built the chunk's inputs: the same doubles either way.
  const next = async (estimate: (input: NonNullable<Estimation>) => Promise<LossSums>): Promise<void> => {
    const input = await ready;
    if (!input) return;
    await inflight;
    inflight = estimate(input).then((s) => {
      sums.rows += s.rows;
      sums.squared += s.squared;
      sums.absolute += s.absolute;
    });
    inflight.catch(() => undefined); // awaited by the next add or by finish
  };
  return {
    add: (chunk: Table, predictions: Float64Array) => next((input) => input.estimator.estimate(chunk, predictions)),
    addInputs: (inputs: LossInputs) => next((input) => input.estimator.estimateInputs(inputs)),
    async finish(): Promise<EstimatedQuality | null> {
      const input = await ready;
      await inflight;
      if (!input || sums.rows === 0) return null;
      return qualityBand(sums, input.estimator.calibration, { rmse: input.testRmse, thresholds: input.thresholds });
    },
  };
}

export function levelOf(psi: number, t: Thresholds): DriftLevel {
  return psi >= t.psi_alert ? 'alert' : psi >= t.psi_warn ? 'warn' : 'ok';
}

function judged(stats: FeatureStats, t: Thresholds, derived = false): FeatureDrift {
  const level = levelOf(stats.psi, t);
  return { ...stats, level, drifted: level === 'alert', derived };
}

/** The counting plan of a batch: the baseline must profile every monitored feature. */
export function countingPlan(
  input: Pick<MonitorBatchInput, 'model' | 'features' | 'derived' | 'baseline'>,
): CountingPlan {
  const { baseline } = input;
  const profiled = new Set(baseline.features.map((p) => p.name));
  const missingInBaseline = input.features.filter((f) => !profiled.has(f.name)).map((f) => f.name);
  if (missingInBaseline.length) {
    throw new InvalidInputError(
      `baseline profile of ${input.model.name} v${input.model.version} has no profile for ` +
        `${missingInBaseline.map((n) => `"${n}"`).join(', ')}`,
      missingInBaseline.map((n) => ({ field: n, issue: 'not in baseline profile' })),
    );
  }
  return { features: input.features, derived: monitoredDerived(baseline, input.derived ?? []), baseline };
}

export async function monitorBatch(input: MonitorBatchInput): Promise<DriftReport> {
  const { source } = input;
  const counter = driftCounter(countingPlan(input));
  let rows = 0;
  let pending: { chunk: Table; predictions: Promise<Float64Array>; at: number } | undefined;
  const estimate = estimation(input.estimator);
  for await (const chunk of input.chunks) {
    const absent = counter.needed.filter((name) => !chunk.columns.has(name));
    if (absent.length) {
      throw new InvalidInputError(
        `${source}: missing column${absent.length > 1 ? 's' : ''} ${absent.map((n) => `"${n}"`).join(', ')}`,
        absent.map((n) => ({ field: n, issue: 'missing column' })),
      );
    }
    const own = counter.predictions && input.predictionColumn ? chunk.columns.get(input.predictionColumn) : undefined;
    if (counter.predictions && !own && !input.predict) {
      throw new InvalidInputError(
        `${source}: no prediction column "${input.predictionColumn ?? '(none configured)'}" and no model to score with`,
        [{ field: input.predictionColumn ?? 'prediction', issue: 'missing column' }],
      );
    }
    const at = rows; // where the chunk's rows are in the input: the unseen categories named are the first seen
    // A scorer on its own thread scores this chunk while the features are counted and the next
    // chunk is parsed; its predictions are counted one chunk later (counts do not depend on order).
    const scoring = counter.predictions && !own ? Promise.resolve(input.predict!(chunk)) : undefined;
    scoring?.catch(() => undefined); // awaited below; no unhandled rejection if a feature throws first
    counter.addFeatures(chunk, source, at);
    if (own) {
      counter.addPredictions(own, source, at);
      if (own.kind === 'numeric') await estimate.add(chunk, own.values);
    }
    if (pending) {
      const values = await pending.predictions;
      counter.addPredictions({ kind: 'numeric', values }, source, pending.at);
      await estimate.add(pending.chunk, values);
    }
    pending = scoring && { chunk, predictions: scoring, at };
    rows += chunk.rows;
  }
  if (pending) {
    const values = await pending.predictions;
    counter.addPredictions({ kind: 'numeric', values }, source, pending.at);
    await estimate.add(pending.chunk, values);
  }
  return driftReport(input, counter, rows, await estimate.finish());
}

/** A chunk counted elsewhere (a counting worker): its rows, and the loss estimator's inputs when it estimates. */
export interface CountedChunk {
  rows: number;
  loss?: LossInputs;
}

/** A batch counted elsewhere: its chunks in input order, then every counter's counts. */
export interface CountedBatch {
  chunks: AsyncIterable<CountedChunk>;
  counts(): Promise<DriftCounts[]>;
}

/**
 * monitorBatch over a batch whose chunks were parsed and counted elsewhere (the monitor's counting
 * workers): the same report, merged from their counts, its estimate summed here in input order.
 */
export async function monitorCounted(
  input: Omit<MonitorBatchInput, 'chunks' | 'predict' | 'estimator'>,
  counted: CountedBatch,
  /** The estimator, which may still be loading when the first chunks are counted. */
  estimator?: Estimation | Promise<Estimation>,
): Promise<DriftReport> {
  const counter = driftCounter(countingPlan(input));
  const estimate = estimation(estimator);
  let rows = 0;
  for await (const chunk of counted.chunks) {
    if (chunk.loss) await estimate.addInputs(chunk.loss);
    rows += chunk.rows;
  }
  for (const c of await counted.counts()) counter.merge(c);
  return driftReport(input, counter, rows, await estimate.finish());
}

async function driftReport(
  input: Omit<MonitorBatchInput, 'chunks' | 'predict' | 'estimator'>,
  counter: DriftCounter,
  rows: number,
  estimated: EstimatedQuality | null,
): Promise<DriftReport> {
  const { thresholds: t, source } = input;
  if (rows === 0) throw new InvalidInputError(`${source}: no rows to monitor`, [{ issue: 'zero data rows' }]);
  const stats = counter.finish();
  const features = [...stats.features.map((s) => judged(s, t)), ...stats.derived.map((s) => judged(s, t, true))].sort(
    (a, b) => Number(b.drifted) - Number(a.drifted) || b.psi - a.psi,
  );
  const drifted = features.filter((f) => f.drifted).map((f) => f.name);
  const driftShare = drifted.length / features.length;
  const datasetDrift = driftShare >= t.drift_share;
  return {
    model: { name: input.model.name, version: input.model.version },
    input: source,
    rows,
    generated_at: (input.now?.() ?? new Date()).toISOString(),
    thresholds: t,
    features,
    prediction: stats.prediction ? judged(stats.prediction, t) : null,
    drifted_features: drifted,
    drift_share: driftShare,
    dataset_drift: datasetDrift,
    level: datasetDrift ? 'alert' : features.some((f) => f.level !== 'ok') ? 'warn' : 'ok',
    estimated,
  };
}
