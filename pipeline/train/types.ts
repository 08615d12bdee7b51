// Shapes shared by the trainers and the public surface.
import type { Table } from '../data/index.ts';

export interface RoundLog {
  step: number;
  train_loss: number;
  valid_loss?: number;
}

export interface TrainOptions {
  /** After each round: the RMSE of the residuals on the training rows, and on the held-out rows if any. */
  onRound?(round: number, total: number, trainLoss: number, validLoss?: number): void;
  seed?: number;
  /** Held-out rows for the command trainer's {test} file; other trainers ignore them. */
  test?: Table;
}

export interface TrainedModel {
  onnx: Uint8Array;
  /** The trainer's own scoring (tree traversal, dot product, or an ORT session for `command`). */
  predict(table: Table): Promise<Float64Array>;
  rounds: RoundLog[];
  params: Record<string, number | string | boolean>;
  /** Trees kept after early stopping (gbdt only). */
  trees?: number;
}
