// Estimated quality of a batch before its labels arrive: the version's loss estimator (an ONNX graph
// over the raw features and the prediction, trained by pipeline/train on the held-out rows) scores
// every row that has a prediction; the batch's RMSE is √(mean estimated squared error) and its MAE
// the mean estimated absolute error, as NannyML's DLE forms them. The band around each comes from the
// estimator's calibration (see qualityBand).
import type { Table } from '../data/index.ts';
import type { LossCalibrationManifest, ModelVersion } from '../registry/index.ts';
import { getModelArtifact, type ObjectStore } from '../store/index.ts';
import type { FastPathVerdict, InputColumn } from '../predict/index.ts';
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
  /** Per head, whether the fast tree evaluator scores it (and why not); absent for other estimators. */
  fastPath?: Record<string, FastPathVerdict>;
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

/** A category outside the signature's list (never a real value: the LabelEncoder's default applies). */
const UNKNOWN_VALUE = '\u0000mltk-unknown-category';

/** Indices of the rows with a prediction; undefined when every row has one (no copy needed). */
function predictedRows(predictions: Float64Array): Int32Array | undefined {
  let n = 0;
  for (let i = 0; i < predictions.length; i++) if (!Number.isNaN(predictions[i]!)) n++;
  if (n === predictions.length) return undefined;
  const out = new Int32Array(n);
  for (let i = 0, k = 0; i < predictions.length; i++) if (!Number.isNaN(predictions[i]!)) out[k++] = i;
  return out;
}

/** The category code of each text value: the signature's own, -1 for empty, `unknown` for any other. */
function categoryCodes(
  values: readonly string[],
  codeOf: Map<string, number>,
  unknown: number,
  n: number,
  pick: (i: number) => number,
): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = values[pick(i)]!;
    out[i] = v === '' ? -1 : (codeOf.get(v) ?? unknown);
  }
  return out;
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
  const features = mv.signature.features;
  // Categorical inputs by code: the signature's categories, then one for any value outside them (the
  // graph's LabelEncoder gives it its default, as it does for an unknown string).
  const categories = new Map(
    features.flatMap((f) =>
      f.type === 'categorical' ? [[f.name, [...f.values, UNKNOWN_VALUE] as string[]] as const] : [],
    ),
  );
  const codeOf = new Map(
    features.flatMap((f) =>
      f.type === 'categorical' ? [[f.name, new Map(f.values.map((v, i) => [v, i]))] as const] : [],
    ),
  );
  return {
    calibration: mv.loss_estimator.calibration,
    fastPath: heads.fastPath,
    async estimate(table, predictions) {
      const rows = predictedRows(predictions);
      const n = rows ? rows.length : table.rows;
      if (n === 0) return { rows: 0, squared: 0, absolute: 0 };
      const pick = rows ? (i: number) => rows[i]! : (i: number) => i;
      const floats = (values: ArrayLike<number>) => {
        const out = new Float32Array(n);
        for (let i = 0; i < n; i++) out[i] = values[pick(i)]!;
        return out;
      };
      const inputs: InputColumn[] = features.map((f): InputColumn => {
        const col = table.columns.get(f.name);
        if (!col) throw new Error(`internal: chunk has no column "${f.name}" for the loss estimator`);
        if (col.kind === 'numeric') return { name: f.name, values: floats(col.values) };
        const cats = categories.get(f.name) ?? [UNKNOWN_VALUE];
        if (col.kind === 'text')
          return {
            name: f.name,
            codes: categoryCodes(col.values, codeOf.get(f.name) ?? new Map(), cats.length - 1, n, pick),
            categories: cats,
          };
        const codes = new Int32Array(n);
        for (let i = 0; i < n; i++) codes[i] = col.codes[pick(i)]!;
        return { name: f.name, codes, categories: col.categories };
      });
      inputs.push({ name: LOSS_ESTIMATOR_INPUT, values: floats(predictions) });
      const out = await heads.score(inputs, n);
      let squared = 0,
        absolute = 0;
      const sq = out[LOSS_OUTPUTS.squared]!,
        ab = out[LOSS_OUTPUTS.absolute]!;
      for (let i = 0; i < n; i++) {
        squared += sq[i]!;
        absolute += ab[i]!;
      }
      return { rows: n, squared, absolute };
    },
    close: () => heads.close(),
  };
}
