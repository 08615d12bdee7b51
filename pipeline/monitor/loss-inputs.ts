// The loss estimator's inputs for a chunk: its rows with a prediction, features as the graph takes them
// (numbers as float32, categories as codes) and the prediction itself. Pure and light (types only from
// pipeline/predict), so a counting worker builds them next to the counts while the estimator's heads
// score on their own thread.
import type { FeatureSpec } from '../config/index.ts';
import type { Table } from '../data/index.ts';
import type { InputColumn } from '../predict/index.ts';

/** A chunk's estimator inputs: every feature column and the predictions, `rows` rows (those with a prediction). */
export interface LossInputs {
  inputs: InputColumn[];
  predictions: Float32Array;
  rows: number;
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

/** Builds the estimator's inputs of chunks read against `features` (the model's signature features). */
export function lossInputsOf(
  features: readonly FeatureSpec[],
): (table: Table, predictions: Float64Array) => LossInputs {
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
  return (table, predictions) => {
    const rows = predictedRows(predictions);
    const n = rows ? rows.length : table.rows;
    const pick = rows ? (i: number) => rows[i]! : (i: number) => i;
    const floats = (values: ArrayLike<number>) => {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = values[pick(i)]!;
      return out;
    };
    const inputs = features.map((f): InputColumn => {
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
      // The chunk's categories by name: the signature's code, or the unknown one for a category outside it.
      const known = codeOf.get(f.name) ?? new Map<string, number>();
      const unknown = cats.length - 1;
      const slot = Int32Array.from(col.categories, (c) => known.get(c) ?? unknown);
      const codes = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const c = col.codes[pick(i)]!;
        codes[i] = c < 0 ? -1 : slot[c]!;
      }
      return { name: f.name, codes, categories: cats };
    });
    return { inputs, predictions: floats(predictions), rows: n };
  };
}
