// Gradient boosting for squared error: trees fit the residuals, early stopping on a held-out
// slice of the training rows keeps the best round.
import { availableParallelism } from 'node:os';
import type { GbdtParams, ModelConfig } from '../config/index.ts';
import type { Table } from '../data/index.ts';
import { binFeatures } from './binning.ts';
import { addTree, type TreeEnsemble } from './ensemble.ts';
import { categoryOrderByTarget, featureColumns, type CategoryCodes } from './features.ts';
import { TreeGrower } from './grow.ts';
import { permutation } from './random.ts';
import type { RoundLog, TrainOptions } from './types.ts';

export interface GbdtModel {
  ensemble: TreeEnsemble;
  codes: CategoryCodes;
  rounds: RoundLog[];
  threads: number;
}

// Below this many cells a worker's start-up costs more than it saves.
const PARALLEL_MIN_CELLS = 1_000_000;

/** `codes`: a fixed category order instead of one learned from these rows (models sharing one encoding). */
export async function trainGbdt(
  config: ModelConfig,
  params: GbdtParams,
  table: Table,
  target: Float64Array,
  rows: Int32Array,
  opts: TrainOptions & { codes?: CategoryCodes },
): Promise<GbdtModel> {
  const seed = opts.seed ?? 42;
  // Too few rows for a validation slice: train on all of them, without early stopping.
  const nValid = Math.floor(rows.length * params.validation_fraction);
  const early = nValid > 0 ? params.early_stopping_rounds : undefined;
  let fitRows = rows;
  let validRows = new Int32Array(0);
  if (early !== undefined) {
    const perm = permutation(rows.length, seed);
    validRows = Int32Array.from(perm.subarray(0, nValid), (i) => rows[i]!).sort();
    fitRows = Int32Array.from(perm.subarray(nValid), (i) => rows[i]!).sort();
  }
  const codes = opts.codes ?? categoryOrderByTarget(config, table, target, fitRows);
  const columns = featureColumns(config, table, codes);
  const binned = binFeatures(columns, fitRows, params.max_bins, seed);
  const validCols = columns.map((c) => Float32Array.from(validRows, (r) => c[r]!));

  const n = fitRows.length;
  const y = Float64Array.from(fitRows, (r) => target[r]!);
  const yValid = Float64Array.from(validRows, (r) => target[r]!);
  let base = 0;
  for (let i = 0; i < n; i++) base += y[i]!;
  base /= n;
  const validPred = new Float64Array(validRows.length).fill(base);

  const threads =
    params.threads ?? (n * columns.length >= PARALLEL_MIN_CELLS ? Math.min(2, availableParallelism()) : 1);
  const grower = await TreeGrower.create(
    binned,
    {
      maxDepth: params.max_depth,
      minLeaf: params.min_samples_leaf,
      lambda: params.l2,
      minSplitGain: params.min_split_gain,
      learningRate: params.learning_rate,
    },
    threads,
  );

  const trees: TreeEnsemble['trees'] = [];
  const rounds: RoundLog[] = [];
  let best = { round: 0, loss: Infinity };
  try {
    const grad = grower.grad;
    for (let i = 0; i < n; i++) grad[i] = base - y[i]!;
    for (let round = 1; round <= params.trees; round++) {
      const tree = grower.grow();
      trees.push(tree);
      const log: RoundLog = { step: round, train_loss: rootMeanSquare(grad) };
      if (validRows.length) {
        addTree(tree, validCols, validPred);
        log.valid_loss = rmse(yValid, validPred);
      }
      rounds.push(log);
      opts.onRound?.(round, params.trees, log.train_loss, log.valid_loss);
      if (early !== undefined) {
        if (log.valid_loss! < best.loss) best = { round, loss: log.valid_loss! };
        else if (round - best.round >= early) break;
      }
    }
  } finally {
    await grower.close();
  }
  const kept = early !== undefined ? best.round : trees.length;
  return { ensemble: { base, trees: trees.slice(0, kept) }, codes, rounds, threads };
}

/** Training RMSE from the residuals the grower leaves in `grad`. */
function rootMeanSquare(grad: Float64Array): number {
  let s = 0;
  for (let i = 0; i < grad.length; i++) s += grad[i]! * grad[i]!;
  return Math.sqrt(s / grad.length);
}

export function rmse(y: Float64Array, p: Float64Array): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) {
    const d = p[i]! - y[i]!;
    s += d * d;
  }
  return Math.sqrt(s / y.length);
}
