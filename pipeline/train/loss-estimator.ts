// The loss estimator (Direct Loss Estimation, the method of NannyML's DLE): a second, small GBDT that
// predicts the model's squared and absolute error of a row from its features and the model's
// prediction, so a batch's RMSE and MAE can be estimated before its labels arrive. Exported as one
// self-contained ONNX graph (raw features + `prediction` in, `squared_error` and `absolute_error` out).
//
// It must learn from rows the model was not trained on: on its training rows the model's errors are
// optimistically small. The held-out (test) rows are the only such rows, so they are used twice, by
// cross-fitting: each of K folds gets an estimator fit on the other K−1 folds, which gives every
// held-out row an out-of-fold estimate (how the estimator does on rows it never saw: that sets the
// band), and the estimator shipped is fit on all of them. Splitting the rows instead (half to fit,
// half to check) would halve both the estimator's data and the evidence for its band; K+1 small fits
// cost a fraction of the model's own training.
import type { GbdtParams, ModelConfig } from '../config/index.ts';
import type { Table } from '../data/index.ts';
import { TrainingError } from '../errors/index.ts';
import { predictTrees } from './ensemble.ts';
import { categoryOrderByTarget, featureColumns, type CategoryCodes } from './features.ts';
import { trainGbdt } from './gbdt.ts';
import { exportTreeHeads } from './onnx/export.ts';
import { permutation } from './random.ts';

/** The estimator's extra input: the monitored model's prediction for the row. */
export const LOSS_ESTIMATOR_INPUT = 'prediction';
export const LOSS_OUTPUTS = { squared: 'squared_error', absolute: 'absolute_error' } as const;
/** Below this many held-out rows with a target there is too little evidence to fit or judge an estimator. */
export const MIN_ESTIMATOR_ROWS = 200;
export const ESTIMATOR_FOLDS = 5;
/** Held-out rows beyond this are subsampled (seeded): the estimator's cost stays bounded on big data sets. */
const MAX_ESTIMATOR_ROWS = 50_000;
/**
 * Groups of held-out rows, ranked by estimated error, on which the estimator's calibration is measured:
 * quartiles, a shift as strong as a batch made only of a quarter of the usual rows. (Deciles would
 * price in shifts far beyond what a batch shows; halves would hide the errors at the ends.)
 */
const CALIBRATION_GROUPS = 4;

/**
 * Small and regularised: squared errors are noisy, heavy-tailed targets, and what matters is their
 * mean over a batch. No early stopping: a validation loss on squared errors is too noisy to stop on
 * (it stopped after a few trees, leaving every row near the global mean); big leaves and shallow
 * trees keep the 100 rounds from chasing single large errors.
 */
export const ESTIMATOR_PARAMS: GbdtParams = {
  trees: 100,
  max_depth: 3,
  learning_rate: 0.1,
  max_bins: 64,
  min_samples_leaf: 100,
  l2: 1,
  min_split_gain: 0,
  validation_fraction: 0.1,
  threads: 1,
};

/**
 * What the band of an estimate is built from: the held-out rows' realized errors and how well the estimator did on
 * them.
 */
export interface LossCalibration {
  rows: number;
  folds: number;
  /** Realized on the held-out rows: the sampling-error components (NannyML's for MSE/RMSE and MAE). */
  squared_error: { mean: number; std: number };
  absolute_error: { mean: number; std: number };
  /** Out-of-fold estimates against the realized metrics on the held-out rows. */
  held_out: { rmse: number; rmse_estimated: number; mae: number; mae_estimated: number };
  /**
   * The estimator's relative error beyond sampling noise, over groups of held-out rows ranked by
   * estimated error (a batch that shifts towards some rows is a reweighting of such groups).
   */
  rmse_relative_error: number;
  mae_relative_error: number;
}

export interface LossEstimator {
  onnx: Uint8Array;
  calibration: LossCalibration;
  params: GbdtParams;
  /** The trainer's own scoring of the two heads (non-negative, ' +
    'as the graph's Relu): the reference the ONNX is tested against. */
  predict(table: Table, predictions: Float64Array): { squared: Float64Array; absolute: Float64Array };
}

interface Heads {
  codes: CategoryCodes;
  squared: Awaited<ReturnType<typeof trainGbdt>>['ensemble'];
  absolute: Awaited<ReturnType<typeof trainGbdt>>['ensemble'];
}

/**
 * The model's config seen by the estimator: the same features and derived features, plus the prediction, trained as a
 * small GBDT.
 */
export function lossEstimatorConfig(config: ModelConfig): ModelConfig {
  if (config.features.some((f) => f.name === LOSS_ESTIMATOR_INPUT)) {
    throw new TrainingError(
      `feature "${LOSS_ESTIMATOR_INPUT}" clashes with the loss estimator's prediction input; rename it`,
    );
  }
  return {
    ...config,
    name: `${config.name}__loss`,
    features: [...config.features, { name: LOSS_ESTIMATOR_INPUT, type: 'numeric', nullable: true }],
    trainer: { type: 'gbdt', params: ESTIMATOR_PARAMS },
  };
}

function withPredictions(table: Table, predictions: Float64Array): Table {
  return {
    rows: table.rows,
    columns: new Map([...table.columns, [LOSS_ESTIMATOR_INPUT, { kind: 'numeric', values: predictions }]]),
  };
}

async function fitHeads(
  est: ModelConfig,
  table: Table,
  se: Float64Array,
  ae: Float64Array,
  rows: Int32Array,
  seed: number,
): Promise<Heads> {
  // One categorical encoding for both heads, ordered by squared error, so the graph encodes once.
  const codes = categoryOrderByTarget(est, table, se, rows);
  const squared = await trainGbdt(est, ESTIMATOR_PARAMS, table, se, rows, { seed, codes });
  const absolute = await trainGbdt(est, ESTIMATOR_PARAMS, table, ae, rows, { seed, codes });
  return { codes, squared: squared.ensemble, absolute: absolute.ensemble };
}

function scoreHeads(
  est: ModelConfig,
  heads: Heads,
  table: Table,
  rows?: Int32Array,
): { squared: Float64Array; absolute: Float64Array } {
  let columns = featureColumns(est, table, heads.codes);
  if (rows) columns = columns.map((c) => Float32Array.from(rows, (r) => c[r]!));
  const n = rows ? rows.length : table.rows;
  const clip = (v: Float64Array) => v.map((x) => Math.max(x, 0));
  return {
    squared: clip(predictTrees(heads.squared, columns, n)),
    absolute: clip(predictTrees(heads.absolute, columns, n)),
  };
}

const mean = (v: ArrayLike<number>, idx: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < idx.length; i++) s += v[idx[i]!]!;
  return s / idx.length;
};
const std = (v: ArrayLike<number>, idx: ArrayLike<number>, m: number): number => {
  let s = 0;
  for (let i = 0; i < idx.length; i++) s += (v[idx[i]!]! - m) ** 2;
  return Math.sqrt(s / idx.length);
};

/**
 * Relative error of the estimated metric over groups of rows ranked by estimated squared error, net of
 * the sampling noise of each group's realized metric: sqrt(max(0, mean(r²) − mean(s²))), where r is a
 * group's relative error and s the relative standard error of its realized metric. `root` compares
 * square roots of the means (RMSE from squared errors), else the means (MAE).
 */
function excessRelativeError(
  realized: Float64Array,
  estimated: Float64Array,
  groups: Int32Array[],
  root: boolean,
): number {
  let r2 = 0,
    s2 = 0;
  for (const g of groups) {
    const m = mean(realized, g);
    const e = mean(estimated, g);
    if (!(m > 0)) continue;
    const r = root ? Math.sqrt(e / m) - 1 : e / m - 1;
    // Standard error of a mean of n values is std/√n; of its square root, half that relative error.
    const rel = std(realized, g, m) / (m * Math.sqrt(g.length));
    r2 += r * r;
    s2 += (root ? rel / 2 : rel) ** 2;
  }
  return Math.sqrt(Math.max(0, (r2 - s2) / groups.length));
}

/** Rows ranked by `score`, cut into `k` groups of (nearly) equal size. */
function rankGroups(score: Float64Array, rows: number, k: number): Int32Array[] {
  const order = Int32Array.from({ length: rows }, (_, i) => i).sort((a, b) => score[a]! - score[b]! || a - b);
  return Array.from({ length: k }, (_, g) => order.slice(Math.floor((g * rows) / k), Math.floor(((g + 1) * rows) / k)));
}

/**
 * Fits the loss estimator on held-out rows and their predictions by the model (see the module
 * comment). Rows without a target or a prediction are left out; returns null when fewer than
 * MIN_ESTIMATOR_ROWS remain.
 */
export async function trainLossEstimator(
  config: ModelConfig,
  heldOut: Table,
  predictions: Float64Array,
  opts: { seed?: number } = {},
): Promise<LossEstimator | null> {
  const seed = opts.seed ?? 42;
  const target = heldOut.columns.get(config.target.column);
  if (target?.kind !== 'numeric')
    throw new TrainingError(`held-out rows have no numeric target column "${config.target.column}"`);
  let usable: number[] = [];
  for (let i = 0; i < heldOut.rows; i++)
    if (Number.isFinite(target.values[i]!) && Number.isFinite(predictions[i]!)) usable.push(i);
  if (usable.length < MIN_ESTIMATOR_ROWS) return null;
  if (usable.length > MAX_ESTIMATOR_ROWS)
    usable = Array.from(permutation(usable.length, seed).subarray(0, MAX_ESTIMATOR_ROWS), (k) => usable[k]!).sort(
      (a, b) => a - b,
    );
  const n = usable.length;
  const est = lossEstimatorConfig(config);
  const table = withPredictions(heldOut, predictions);
  const se = new Float64Array(heldOut.rows),
    ae = new Float64Array(heldOut.rows);
  for (const i of usable) {
    const d = predictions[i]! - target.values[i]!;
    se[i] = d * d;
    ae[i] = Math.abs(d);
  }
  const rows = Int32Array.from(usable);

  // Cross-fitting: fold f holds the rows at positions ≡ f (mod K) of a seeded shuffle.
  const order = permutation(n, seed + 1);
  const oofSquared = new Float64Array(heldOut.rows),
    oofAbsolute = new Float64Array(heldOut.rows);
  for (let f = 0; f < ESTIMATOR_FOLDS; f++) {
    const inFold = Int32Array.from(
      order.filter((_, k) => k % ESTIMATOR_FOLDS === f),
      (k) => rows[k]!,
    ).sort();
    const fitRows = Int32Array.from(
      order.filter((_, k) => k % ESTIMATOR_FOLDS !== f),
      (k) => rows[k]!,
    ).sort();
    const heads = await fitHeads(est, table, se, ae, fitRows, seed + f);
    const out = scoreHeads(est, heads, table, inFold);
    inFold.forEach((r, k) => {
      oofSquared[r] = out.squared[k]!;
      oofAbsolute[r] = out.absolute[k]!;
    });
  }
  const groups = rankGroups(
    Float64Array.from(rows, (r) => oofSquared[r]!),
    n,
    CALIBRATION_GROUPS,
  ).map((g) => g.map((k) => rows[k]!));
  const seMean = mean(se, rows),
    aeMean = mean(ae, rows);
  const calibration: LossCalibration = {
    rows: n,
    folds: ESTIMATOR_FOLDS,
    squared_error: { mean: seMean, std: std(se, rows, seMean) },
    absolute_error: { mean: aeMean, std: std(ae, rows, aeMean) },
    held_out: {
      rmse: Math.sqrt(seMean),
      rmse_estimated: Math.sqrt(mean(oofSquared, rows)),
      mae: aeMean,
      mae_estimated: mean(oofAbsolute, rows),
    },
    rmse_relative_error: excessRelativeError(se, oofSquared, groups, true),
    mae_relative_error: excessRelativeError(ae, oofAbsolute, groups, false),
  };

  const heads = await fitHeads(est, table, se, ae, rows, seed);
  const onnx = await exportTreeHeads(
    est,
    heads.codes,
    [
      { output: LOSS_OUTPUTS.squared, ensemble: heads.squared, nonNegative: true },
      { output: LOSS_OUTPUTS.absolute, ensemble: heads.absolute, nonNegative: true },
    ],
    {
      'mltk.model': config.name,
      'mltk.kind': 'loss_estimator',
      'mltk.features': JSON.stringify(est.features.map((f) => ({ name: f.name, type: f.type }))),
    },
  );
  return {
    onnx,
    calibration,
    params: ESTIMATOR_PARAMS,
    predict: (t, p) => scoreHeads(est, heads, withPredictions(t, p)),
  };
}
