// Estimated quality of a batch before its labels arrive: the version's loss estimator (an ONNX graph
// over the raw features and the prediction, trained by pipeline/train on the held-out rows) scores
// every row that has a prediction; the batch's RMSE is √(mean estimated squared error) and its MAE
// the mean estimated absolute error, as NannyML's DLE forms them. The band around each comes from the
// estimator's calibration (see qualityBand).
import type { Table } from '../data/index.ts';
import type { LossCalibrationManifest, ModelVersion } from '../registry/index.ts';
import { getModelArtifact, type ObjectStore } from '../store/index.ts';
import type { FastPathVerdict } from '../predict/index.ts';
import { LOSS_ESTIMATOR_INPUT, LOSS_OUTPUTS } from '../train/index.ts';
import { lossInputsOf, type LossInputs } from './loss-inputs.ts';
import type { QualityLevel, QualityThresholds } from './quality.ts';
import { qualityLevel } from './quality.ts';

/** Half-width of the sampling part of the band in standard errors (NannyML's SAMPLING_ERROR_RANGE). */
export const SAMPLING_ERROR_RANGE = 3;

export interface EstimatedQuality {
  /** Rows with a prediction, the rows estimated. */
  rows: number;
  rmse: number;
  mae: number;
  rmse_low: number;
  rmse_high: number;
  mae_low: number;
  mae_high: number;
  /** The version's test RMSE and the estimate's ratio to it (null for a version without test metrics). */
  test_rmse: number | null;
  rmse_ratio: number | null;
  level: QualityLevel;
}

/** Sums of the estimated losses over the rows estimated so far. */
export interface LossSums {
  rows: number;
  squared: number;
  absolute: number;
}

/** What estimates a batch chunk by chunk; the ONNX session behind it, or anything that scores like it. */
export interface BatchLossEstimator {
  calibration: LossCalibrationManifest;
  /** Per head, whether the fast tree evaluator scores it (and why not); absent for other estimators. */
  fastPath?: Record<string, FastPathVerdict>;
  /** Sums of the estimated losses of the rows of `table` whose prediction is not NaN. */
  estimate(table: Table, predictions: Float64Array): Promise<LossSums>;
  /** The same from a chunk's inputs built elsewhere (lossInputsOf; a counting worker builds them). */
  estimateInputs(inputs: LossInputs): Promise<LossSums>;
  close(): Promise<void>;
}

/**
 * The band of an estimate of `sums.rows` rows: the estimator's own relative error measured out of fold
 * on the held-out rows (δ), plus SAMPLING_ERROR_RANGE standard errors of the batch's realized metric —
 * for RMSE, NannyML's √(σ² / (4 n μ)) of the squared errors, rescaled from the held-out RMSE to the
 * estimate (a batch whose errors are larger has a proportionally larger spread); for MAE, σ / √n.
 */
export function qualityBand(
  sums: LossSums,
  c: LossCalibrationManifest,
  test: { rmse: number | null; thresholds?: QualityThresholds },
): EstimatedQuality {
  const n = sums.rows;
  const rmse = Math.sqrt(sums.squared / n);
  const mae = sums.absolute / n;
  const cvSquared = c.squared_error.mean > 0 ? c.squared_error.std / c.squared_error.mean : 0;
  const cvAbsolute = c.absolute_error.mean > 0 ? c.absolute_error.std / c.absolute_error.mean : 0;
  const rmseSampling = (SAMPLING_ERROR_RANGE * rmse * cvSquared) / (2 * Math.sqrt(n));
  const maeSampling = (SAMPLING_ERROR_RANGE * mae * cvAbsolute) / Math.sqrt(n);
  const ratio = test.rmse && test.rmse > 0 ? rmse / test.rmse : null;
  return {
    rows: n,
    rmse,
    mae,
    rmse_low: Math.max(0, rmse * (1 - c.rmse_relative_error) - rmseSampling),
    rmse_high: rmse * (1 + c.rmse_relative_error) + rmseSampling,
    mae_low: Math.max(0, mae * (1 - c.mae_relative_error) - maeSampling),
    mae_high: mae * (1 + c.mae_relative_error) + maeSampling,
    test_rmse: test.rmse,
    rmse_ratio: ratio,
    level: qualityLevel(ratio, test.thresholds),
  };
}

/**
 * The version's loss estimator (the blob hash-verified), or null for a version registered without one.
 * Its two heads are scored by the fast tree evaluator, each proven equal to ONNX Runtime at load on the
 * probe set (the baseline's samples and the edge rows), or else by ONNX Runtime.
 */
export async function openLossEstimator(store: ObjectStore, mv: ModelVersion): Promise<BatchLossEstimator | null> {
  if (!mv.loss_estimator) return null;
  const bytes = await getModelArtifact(store, mv.name, mv.loss_estimator.artifact.sha256);
  const baseline = mv.baseline
    ? await getModelArtifact(store, mv.name, mv.baseline.sha256).catch(() => undefined)
    : undefined;
  const outputs = [LOSS_OUTPUTS.squared, LOSS_OUTPUTS.absolute];
  // pipeline/predict (and ONNX Runtime) loads on first use: most users of this module never estimate.
  const { loadTreeHeads } = await import('../predict/index.ts');
  // On a worker thread: a chunk is estimated while the next one is parsed and counted.
  const heads = await loadTreeHeads(bytes, mv.signature, outputs, {
    baseline,
    worker: true,
    label: `loss estimator of ${mv.name} v${mv.version}`,
  });
  const inputsOf = lossInputsOf(mv.signature.features);
  const estimateInputs = async ({ inputs, predictions, rows }: LossInputs): Promise<LossSums> => {
    if (rows === 0) return { rows: 0, squared: 0, absolute: 0 };
    const out = await heads.score([...inputs, { name: LOSS_ESTIMATOR_INPUT, values: predictions }], rows);
    let squared = 0,
      absolute = 0;
    const sq = out[LOSS_OUTPUTS.squared]!,
      ab = out[LOSS_OUTPUTS.absolute]!;
    for (let i = 0; i < rows; i++) {
      squared += sq[i]!;
      absolute += ab[i]!;
    }
    return { rows, squared, absolute };
  };
  return {
    calibration: mv.loss_estimator.calibration,
    fastPath: heads.fastPath,
    estimate: (table, predictions) => estimateInputs(inputsOf(table, predictions)),
    estimateInputs,
    close: () => heads.close(),
  };
}
