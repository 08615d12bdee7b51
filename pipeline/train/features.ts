// The model's view of a Table: one Float32Array per model feature (config features, then derived).
// Float32 on purpose: the ONNX graph sees float inputs, so training on the same rounded values
// (and computing derived features in float) is what makes split thresholds agree exactly.
import type { ModelConfig, DerivedFeature } from '../config/index.ts';
import type { Table } from '../data/index.ts';
import { InvalidInputError, TrainingError } from '../errors/index.ts';

/** Category → float code per categorical feature; a category absent from the map is missing (NaN). */
export type CategoryCodes = Record<string, string[]>;

export function modelFeatureNames(config: ModelConfig): string[] {
  return [...config.features.map((f) => f.name), ...config.derived.map((d) => d.name)];
}

/** Throws a TrainingError naming the first config column the table lacks or holds with the wrong kind. */
export function checkColumns(config: ModelConfig, table: Table): void {
  for (const f of config.features) {
    const col = table.columns.get(f.name);
    if (!col)
      throw new TrainingError(`training table has no column "${f.name}" (feature of model ${config.name})`, [
        { field: f.name, issue: 'column missing' },
      ]);
    const want = f.type === 'categorical' ? 'categorical' : 'numeric';
    if (col.kind !== want)
      throw new TrainingError(`column "${f.name}" is ${col.kind} but the config declares it ${f.type}`, [
        { field: f.name, issue: `expected a ${want} column` },
      ]);
  }
}

/**
 * Float32 columns for every model feature. Categorical features become the float code given by
 * `codes` (index in the list), with unknown and missing categories as NaN.
 */
export function featureColumns(config: ModelConfig, table: Table, codes: CategoryCodes): Float32Array[] {
  checkColumns(config, table);
  const byName = new Map<string, Float32Array>();
  for (const f of config.features) {
    const col = table.columns.get(f.name)!;
    const out = new Float32Array(table.rows);
    if (col.kind === 'numeric') {
      out.set(col.values);
    } else if (col.kind === 'categorical') {
      const order = new Map((codes[f.name] ?? []).map((c, i) => [c, i] as const));
      // Resolve the table's own dictionary once, then map codes: no string work per row.
      const lut = new Float32Array(col.categories.length).map((_, k) => order.get(col.categories[k]!) ?? NaN);
      for (let i = 0; i < table.rows; i++) {
        const c = col.codes[i]!;
        out[i] = c < 0 ? NaN : lut[c]!;
      }
    }
    byName.set(f.name, out);
  }
  for (const d of config.derived)
    byName.set(d.name, derivedColumn(d, byName.get(d.inputs[0])!, byName.get(d.inputs[1])!));
  return modelFeatureNames(config).map((n) => byName.get(n)!);
}

/**
 * The derived features of a table's rows exactly as the model computes them (float32 inputs, float32
 * results, NaN where an input is missing), for profiling and monitoring them like any other input.
 */
export function derivedValues(derived: readonly DerivedFeature[], table: Table): Map<string, Float64Array> {
  const inputs = new Map<string, Float32Array>();
  const input = (name: string): Float32Array => {
    let v = inputs.get(name);
    if (!v) {
      const col = table.columns.get(name);
      if (col?.kind !== 'numeric')
        throw new InvalidInputError(
          `no numeric column "${name}" to derive ${derived
            .filter((d) => d.inputs.includes(name))
            .map((d) => `"${d.name}"`)
            .join(', ')} from`,
          [{ field: name, issue: 'missing column' }],
        );
      v = Float32Array.from(col.values);
      inputs.set(name, v);
    }
    return v;
  };
  return new Map(
    derived.map((d) => [d.name, Float64Array.from(derivedColumn(d, input(d.inputs[0]), input(d.inputs[1])))]),
  );
}

/** Element-wise op with float32 rounding of each result, as ONNX Div/Mul/Sub/Add on float tensors do. */
function derivedColumn(d: DerivedFeature, a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length);
  const n = a.length;
  switch (d.op) {
    case 'ratio':
      for (let i = 0; i < n; i++) out[i] = a[i]! / b[i]!;
      break;
    case 'product':
      for (let i = 0; i < n; i++) out[i] = a[i]! * b[i]!;
      break;
    case 'difference':
      for (let i = 0; i < n; i++) out[i] = a[i]! - b[i]!;
      break;
    case 'sum':
      for (let i = 0; i < n; i++) out[i] = a[i]! + b[i]!;
      break;
  }
  return out;
}

/**
 * Orders each categorical feature's categories by (smoothed) mean target on the given rows, so a
 * tree can separate high- from low-target categories with one threshold. Categories never seen in
 * these rows are left out: they score as missing.
 */
export function categoryOrderByTarget(
  config: ModelConfig,
  table: Table,
  target: Float64Array,
  rows: Int32Array,
): CategoryCodes {
  let total = 0;
  let count = 0;
  for (const r of rows) {
    const y = target[r]!;
    if (!Number.isNaN(y)) {
      total += y;
      count++;
    }
  }
  const prior = count ? total / count : 0;
  const smoothing = 10; // pseudo-rows at the global mean: rare categories do not jump to the ends of the order
  const out: CategoryCodes = {};
  for (const f of config.features) {
    if (f.type !== 'categorical') continue;
    const col = table.columns.get(f.name);
    if (col?.kind !== 'categorical') continue;
    const k = col.categories.length;
    const sum = new Float64Array(k);
    const n = new Float64Array(k);
    for (const r of rows) {
      const c = col.codes[r]!;
      if (c >= 0) {
        sum[c]! += target[r]!;
        n[c]!++;
      }
    }
    const seen = [...Array(k).keys()].filter((c) => n[c]! > 0);
    const mean = (c: number) => (sum[c]! + smoothing * prior) / (n[c]! + smoothing);
    // Ties broken by name so the order does not depend on the table's dictionary order.
    seen.sort((x, y) => mean(x) - mean(y) || (col.categories[x]! < col.categories[y]! ? -1 : 1));
    out[f.name] = seen.map((c) => col.categories[c]!);
  }
  return out;
}
