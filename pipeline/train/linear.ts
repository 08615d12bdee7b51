// Ridge regression in closed form: standardised numerics with a missing indicator (missing scores
// as the training mean), one-hot categoricals, intercept unpenalised. The fitted model is folded
// into raw-feature terms (slope·x or a constant when x is missing) so ONNX needs no scaler.
import type { ModelConfig } from '../config/index.ts';
import type { Table } from '../data/index.ts';
import { TrainingError } from '../errors/index.ts';
import { featureColumns, modelFeatureNames, type CategoryCodes } from './features.ts';

export interface LinearModel {
  intercept: number;
  /** Per model feature that is not categorical: index into the model features, slope, value when missing. */
  numeric: { feature: number; slope: number; missing: number }[];
  /** Per categorical feature: weight per category; unknown and missing score `missing`. */
  categorical: { name: string; categories: string[]; weights: number[]; missing: number }[];
  codes: CategoryCodes;
}

export function trainLinear(
  config: ModelConfig,
  alpha: number,
  table: Table,
  target: Float64Array,
  rows: Int32Array,
): LinearModel {
  const codes: CategoryCodes = {};
  for (const f of config.features) {
    if (f.type !== 'categorical') continue;
    const col = table.columns.get(f.name);
    if (col?.kind === 'categorical') codes[f.name] = col.categories;
  }
  const columns = featureColumns(config, table, codes);
  const names = modelFeatureNames(config);
  const catNames = new Set(config.features.filter((f) => f.type === 'categorical').map((f) => f.name));
  const n = rows.length;

  // Design columns: [z-score, missing indicator] per numeric, one per category (+ missing) per categorical.
  const design: Float64Array[] = [];
  const numericStats: { feature: number; mean: number; std: number; zCol: number; missCol: number }[] = [];
  const catLayout: { name: string; feature: number; first: number; k: number }[] = [];
  names.forEach((name, fi) => {
    const col = columns[fi]!;
    if (catNames.has(name)) {
      const k = codes[name]!.length;
      const cols = [...Array(k + 1)].map(() => new Float64Array(n));
      for (let i = 0; i < n; i++) {
        const x = col[rows[i]!]!;
        cols[Number.isNaN(x) ? k : x]![i] = 1;
      }
      catLayout.push({ name, feature: fi, first: design.length, k });
      design.push(...cols);
      return;
    }
    let s = 0,
      c = 0;
    for (let i = 0; i < n; i++) {
      const x = col[rows[i]!]!;
      if (Number.isFinite(x)) {
        s += x;
        c++;
      }
    }
    const mean = c ? s / c : 0;
    let v = 0;
    for (let i = 0; i < n; i++) {
      const x = col[rows[i]!]!;
      if (Number.isFinite(x)) v += (x - mean) ** 2;
    }
    const std = c > 1 && v > 0 ? Math.sqrt(v / c) : 1;
    const z = new Float64Array(n);
    const miss = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const x = col[rows[i]!]!;
      if (Number.isFinite(x)) z[i] = (x - mean) / std;
      else miss[i] = 1;
    }
    numericStats.push({ feature: fi, mean, std, zCol: design.length, missCol: design.length + 1 });
    design.push(z, miss);
  });

  const y = Float64Array.from(rows, (r) => target[r]!);
  let yMean = 0;
  for (let i = 0; i < n; i++) yMean += y[i]!;
  yMean /= n;
  const beta = ridge(design, y, yMean, alpha);

  let intercept = beta[0]!;
  const numeric = numericStats.map(({ feature, mean, std, zCol, missCol }) => {
    const slope = beta[zCol + 1]! / std;
    intercept -= slope * mean;
    // Missing scores as the mean (z = 0), so its term is the indicator weight minus the folded slope·mean.
    return { feature, slope, missing: beta[missCol + 1]! + slope * mean };
  });
  const categorical = catLayout.map(({ name, first, k }) => ({
    name,
    categories: codes[name]!,
    weights: [...Array(k).keys()].map((j) => beta[first + j + 1]!),
    missing: beta[first + k + 1]!,
  }));
  // Stored as float32 so this scorer and the ONNX graph multiply by exactly the same constants.
  const f32 = Math.fround;
  return {
    intercept: f32(intercept),
    numeric: numeric.map((t) => ({ feature: t.feature, slope: f32(t.slope), missing: f32(t.missing) })),
    categorical: categorical.map((c) => ({ ...c, weights: c.weights.map(f32), missing: f32(c.missing) })),
    codes,
  };
}

/** Solves (XᵀX + αI)β = Xᵀy with an unpenalised intercept as β[0], by Cholesky. */
function ridge(design: Float64Array[], y: Float64Array, yMean: number, alpha: number): Float64Array {
  const p = design.length + 1;
  const n = y.length;
  const cols = [new Float64Array(n).fill(1), ...design];
  const A = new Float64Array(p * p);
  const b = new Float64Array(p);
  for (let j = 0; j < p; j++) {
    const cj = cols[j]!;
    for (let i = 0; i < n; i++) b[j]! += cj[i]! * (y[i]! - yMean);
    for (let k = j; k < p; k++) {
      const ck = cols[k]!;
      let s = 0;
      for (let i = 0; i < n; i++) s += cj[i]! * ck[i]!;
      A[j * p + k] = s;
      A[k * p + j] = s;
    }
  }
  // A tiny ridge on every column keeps collinear one-hot blocks (which sum to the intercept) solvable at alpha 0.
  for (let j = 0; j < p; j++) A[j * p + j]! += j === 0 ? 1e-9 : alpha + 1e-9;
  const L = new Float64Array(p * p);
  for (let j = 0; j < p; j++) {
    let d = A[j * p + j]!;
    for (let k = 0; k < j; k++) d -= L[j * p + k]! ** 2;
    if (!(d > 0))
      throw new TrainingError('linear trainer: the design matrix is singular; set trainer.params.alpha > 0');
    L[j * p + j] = Math.sqrt(d);
    for (let i = j + 1; i < p; i++) {
      let s = A[i * p + j]!;
      for (let k = 0; k < j; k++) s -= L[i * p + k]! * L[j * p + k]!;
      L[i * p + j] = s / L[j * p + j]!;
    }
  }
  const z = new Float64Array(p);
  for (let i = 0; i < p; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= L[i * p + k]! * z[k]!;
    z[i] = s / L[i * p + i]!;
  }
  const beta = new Float64Array(p);
  for (let i = p - 1; i >= 0; i--) {
    let s = z[i]!;
    for (let k = i + 1; k < p; k++) s -= L[k * p + i]! * beta[k]!;
    beta[i] = s / L[i * p + i]!;
  }
  beta[0]! += yMean;
  return beta;
}

/** The linear model's own scoring, on the same float32 feature columns the ONNX graph sees. */
export function predictLinear(config: ModelConfig, model: LinearModel, table: Table): Float64Array {
  const columns = featureColumns(config, table, model.codes);
  const out = new Float64Array(table.rows).fill(model.intercept);
  for (const { feature, slope, missing } of model.numeric) {
    const col = columns[feature]!;
    for (let i = 0; i < out.length; i++) {
      const x = col[i]!;
      out[i]! += Number.isNaN(x) ? missing : slope * x;
    }
  }
  const names = modelFeatureNames(config);
  for (const c of model.categorical) {
    const col = columns[names.indexOf(c.name)]!;
    for (let i = 0; i < out.length; i++) {
      const x = col[i]!;
      out[i]! += Number.isNaN(x) ? c.missing : c.weights[x]!;
    }
  }
  return out;
}
