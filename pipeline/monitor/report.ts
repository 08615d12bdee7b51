// monitorBatch: one batch of inputs (as a stream of Table chunks) against a model's baseline profile
// → the drift report. No I/O here; callers bring the chunks and, if needed, a scoring function.
import type { DerivedFeature, FeatureSpec, ModelConfig } from '../config/index.ts';
import { InvalidInputError } from '../errors/index.ts';
import type { Table } from '../data/index.ts';
import { derivedValues } from '../train/index.ts';
import { featureAccumulator, numericAccumulator, type FeatureAccumulator, type FeatureStats } from './accumulate.ts';
import { qualityBand, type BatchLossEstimator, type EstimatedQuality, type LossSums } from './estimate.ts';
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

/** Sums the loss estimator's estimates chunk by chunk, one chunk in flight (chunks are not kept waiting). */
function estimation(input: MonitorBatchInput['estimator']) {
  const sums: LossSums = { rows: 0, squared: 0, absolute: 0 };
  let inflight: Promise<void> = Promise.resolve();
  return {
    async add(chunk: Table, predictions: Float64Array): Promise<void> {
      if (!input) return;
      await inflight;
      inflight = input.estimator.estimate(chunk, predictions).then((s) => {
        sums.rows += s.rows;
        sums.squared += s.squared;
        sums.absolute += s.absolute;
      });
      inflight.catch(() => undefined); // awaited by the next add or by finish
    },
    async finish(): Promise<EstimatedQuality | null> {
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

export async function monitorBatch(input: MonitorBatchInput): Promise<DriftReport> {
  const { baseline, thresholds: t, source } = input;
  const profiles = new Map(baseline.features.map((p) => [p.name, p]));
  const missingInBaseline = input.features.filter((f) => !profiles.has(f.name)).map((f) => f.name);
  if (missingInBaseline.length) {
    throw new InvalidInputError(
      `baseline profile of ${input.model.name} v${input.model.version} has no profile for ` +
        `${missingInBaseline.map((n) => `"${n}"`).join(', ')}`,
      missingInBaseline.map((n) => ({ field: n, issue: 'not in baseline profile' })),
    );
  }
  const accs: [string, FeatureAccumulator][] = input.features.map((f) => [
    f.name,
    featureAccumulator(profiles.get(f.name)!, f),
  ]);
  const derived = (input.derived ?? []).filter((d) => profiles.get(d.name)?.type === 'numeric');
  const derivedAccs: [string, FeatureAccumulator][] = derived.map((d) => [
    d.name,
    featureAccumulator(profiles.get(d.name)!),
  ]);
  const needed = [...new Set([...accs.map(([name]) => name), ...derived.flatMap((d) => d.inputs)])];
  const predAcc = baseline.prediction ? numericAccumulator(baseline.prediction) : null;
  let rows = 0;
  let pending: { chunk: Table; predictions: Promise<Float64Array> } | undefined;
  const estimate = estimation(input.estimator);
  for await (const chunk of input.chunks) {
    const absent = needed.filter((name) => !chunk.columns.has(name));
    if (absent.length) {
      throw new InvalidInputError(
        `${source}: missing column${absent.length > 1 ? 's' : ''} ${absent.map((n) => `"${n}"`).join(', ')}`,
        absent.map((n) => ({ field: n, issue: 'missing column' })),
      );
    }
    const own = predAcc && input.predictionColumn ? chunk.columns.get(input.predictionColumn) : undefined;
    if (predAcc && !own && !input.predict) {
      throw new InvalidInputError(
        `${source}: no prediction column "${input.predictionColumn ?? '(none configured)'}" and no model to score with`,
        [{ field: input.predictionColumn ?? 'prediction', issue: 'missing column' }],
      );
    }
    // A scorer on its own thread scores this chunk while the features are counted and the next
    // chunk is parsed; its predictions are counted one chunk later (counts do not depend on order).
    const scoring = predAcc && !own ? Promise.resolve(input.predict!(chunk)) : undefined;
    scoring?.catch(() => undefined); // awaited below; no unhandled rejection if a feature throws first
    for (const [name, acc] of accs) acc.add(chunk.columns.get(name)!, source);
    if (derived.length) {
      const values = derivedValues(derived, chunk);
      for (const [name, acc] of derivedAccs) acc.add({ kind: 'numeric', values: values.get(name)! }, source);
    }
    if (own) {
      predAcc!.add(own, source);
      if (own.kind === 'numeric') await estimate.add(chunk, own.values);
    }
    if (pending) {
      const values = await pending.predictions;
      predAcc!.add({ kind: 'numeric', values }, source);
      await estimate.add(pending.chunk, values);
    }
    pending = scoring && { chunk, predictions: scoring };
    rows += chunk.rows;
  }
  if (pending) {
    const values = await pending.predictions;
    predAcc!.add({ kind: 'numeric', values }, source);
    await estimate.add(pending.chunk, values);
  }
  if (rows === 0) throw new InvalidInputError(`${source}: no rows to monitor`, [{ issue: 'zero data rows' }]);

  const features = [
    ...accs.map(([, acc]) => judged(acc.finish(), t)),
    ...derivedAccs.map(([, acc]) => judged(acc.finish(), t, true)),
  ].sort((a, b) => Number(b.drifted) - Number(a.drifted) || b.psi - a.psi);
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
    prediction: predAcc ? judged(predAcc.finish(), t) : null,
    drifted_features: drifted,
    drift_share: driftShare,
    dataset_drift: datasetDrift,
    level: datasetDrift ? 'alert' : features.some((f) => f.level !== 'ok') ? 'warn' : 'ok',
    estimated: await estimate.finish(),
  };
}
