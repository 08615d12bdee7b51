// Deterministic train/test split: a seeded shuffle, the first test_fraction of it held out.
import { TrainingError } from '../errors/index.ts';

/** xorshift32-seeded Fisher–Yates over 0..n-1; the same seed gives the same split everywhere. */
export function splitRows(n: number, testFraction: number, seed: number): { train: Int32Array; test: Int32Array } {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  let s = (seed ^ 0x9e3779b9) >>> 0 || 1;
  for (let i = n - 1; i > 0; i--) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    const j = s % (i + 1);
    const t = order[i]!; order[i] = order[j]!; order[j] = t;
  }
  const nTest = Math.round(n * testFraction);
  if (nTest < 1 || n - nTest < 2) throw new TrainingError(`cannot split ${n} rows with test_fraction ${testFraction}: need at least 2 training rows and 1 test row`);
  return { test: order.slice(0, nTest).sort(), train: order.slice(nTest).sort() };
}
