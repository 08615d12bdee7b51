// Estimated quality of a batch before its labels arrive: the version's loss estimator (an ONNX graph
// over the raw features and the prediction, trained by pipeline/train on the held-out rows) scores
// every row that has a prediction; the batch's RMSE is √(mean estimated squared error) and its MAE
// the mean estimated absolute error, as NannyML's DLE forms them. The band around each comes from the
// estimator's calibration (see qualityBand).
import type { Table } from '../data/index.ts';
import type { LossCalibrationManifest, ModelVersion } from '../registry/index.ts';
import { getModelArtifact, type ObjectStore } from '../store/index.ts';
import { LOSS_ESTIMATOR_INPUT, LOSS_OUTPUTS } from '../train/index.ts';
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
  /** Sums of the estimated losses of the rows of `table` whose prediction is not NaN. */
  estimate(table: Table, predictions: Float64Array): Promise<LossSums>;
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

/** Indices of the rows with a prediction; undefined when every row has one (no copy needed). */
function predictedRows(predictions: Float64Array): Int32Array | undefined {
  let n = 0;
  for (let i = 0; i < predictions.length; i++) if (!Number.isNaN(predictions[i]!)) n++;
  if (n === predictions.length) return undefined;
  const out = new Int32Array(n);
  for (let i = 0, k = 0; i < predictions.length; i++) if (!Number.isNaN(predictions[i]!)) out[k++] = i;
  return out;
}

/**
 * The version's loss estimator in an ONNX Runtime session (the blob hash-verified), or null for a version
 * registered without one. ONNX Runtime is imported on first use: most users of this module never score.
 */
export async function openLossEstimator(store: ObjectStore, mv: ModelVersion): Promise<BatchLossEstimator | null> {
  if (!mv.loss_estimator) return null;
  const bytes = await getModelArtifact(store, mv.name, mv.loss_estimator.artifact.sha256);
  // Named imports: under tsx's loader a dynamic import of this CommonJS package has no usable default.
  const { InferenceSession, Tensor } = await import('onnxruntime-node');
  const session = await InferenceSession.create(bytes, { graphOptimizationLevel: 'all' });
  const features = mv.signature.features;
  return {
    calibration: mv.loss_estimator.calibration,
    async estimate(table, predictions) {
      const rows = predictedRows(predictions);
      const n = rows ? rows.length : table.rows;
      if (n === 0) return { rows: 0, squared: 0, absolute: 0 };
      const pick = <T>(values: ArrayLike<T>, i: number): T => values[rows ? rows[i]! : i]!;
      const feeds: Record<string, InstanceType<typeof Tensor>> = {};
      for (const f of features) {
        const col = table.columns.get(f.name);
        if (!col) throw new Error(`internal: chunk has no column "${f.name}" for the loss estimator`);
        if (col.kind === 'numeric')
          feeds[f.name] = new Tensor(
            'float32',
            Float32Array.from({ length: n }, (_, i) => pick(col.values, i)),
            [n, 1],
          );
        else if (col.kind === 'text')
          feeds[f.name] = new Tensor(
            'string',
            Array.from({ length: n }, (_, i) => pick(col.values, i)),
            [n, 1],
          );
        else
          feeds[f.name] = new Tensor(
            'string',
            Array.from({ length: n }, (_, i) => {
              const c = pick(col.codes, i);
              return c < 0 ? '' : col.categories[c]!;
            }),
            [n, 1],
          );
      }
      feeds[LOSS_ESTIMATOR_INPUT] = new Tensor(
        'float32',
        Float32Array.from({ length: n }, (_, i) => pick(predictions, i)),
        [n, 1],
      );
      const out = await session.run(feeds);
      let squared = 0,
        absolute = 0;
      const sq = out[LOSS_OUTPUTS.squared]!.data as Float32Array,
        ab = out[LOSS_OUTPUTS.absolute]!.data as Float32Array;
      for (let i = 0; i < n; i++) {
        squared += sq[i]!;
        absolute += ab[i]!;
      }
      return { rows: n, squared, absolute };
    },
    close: () => session.release(),
  };
}
