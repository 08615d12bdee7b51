// Deterministic train/test split: a seeded shuffle, the first test_fraction of it held out.
import { TrainingError } from '../errors/index.ts';
import { permutation } from '../train/index.ts';

/** The same seed gives the same split everywhere (the trainer's seeded Fisher–Yates). */
export function splitRows(n: number, testFraction: number, seed: number): { train: Int32Array; test: Int32Array } {
  const nTest = Math.round(n * testFraction);
  if (nTest < 1 || n - nTest < 2)
    throw new TrainingError(
      `cannot split ${n} rows with test_fraction ${testFraction}: need at least 2 training rows and 1 test row`,
    );
  const order = permutation(n, seed);
  return { test: order.slice(0, nTest).sort(), train: order.slice(nTest).sort() };
}
