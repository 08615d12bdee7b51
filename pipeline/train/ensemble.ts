// A trained tree ensemble and its own scorer: the reference the ONNX export is tested against.
import type { Tree } from './grow.ts';

export interface TreeEnsemble {
  /** Initial prediction (training target mean), the ONNX base_values. */
  base: number;
  trees: Tree[];
}

/** Scores rows of float32 feature columns (NaN = missing) the way TreeEnsembleRegressor does. */
export function predictTrees(model: TreeEnsemble, columns: Float32Array[], rows: number): Float64Array {
  const out = new Float64Array(rows).fill(model.base);
  for (const t of model.trees) addTree(t, columns, out);
  return out;
}

/** Adds one tree's leaf values to `out`: used per round for the validation set as well. */
export function addTree(t: Tree, columns: Float32Array[], out: Float64Array): void {
  const { feature, threshold, defaultLeft, left, right, value } = t;
  for (let r = 0; r < out.length; r++) {
    let node = 0;
    while (left[node]! >= 0) {
      const x = columns[feature[node]!]![r]!;
      // NaN compares false, so missing values need the learned default explicitly.
      const goLeft = Number.isNaN(x) ? defaultLeft[node] === 1 : x <= threshold[node]!;
      node = goLeft ? left[node]! : right[node]!;
    }
    out[r]! += value[node]!;
  }
}
