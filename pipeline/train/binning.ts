// Quantile binning: each feature's float32 values become a byte per row (one column per feature;
// bundles.ts packs them row-major for histogram building).
import { mulberry32 } from './random.ts';

import { MISSING_BIN } from './layout.ts';

// Value bins are 0..edges.length-1, so at most MISSING_BIN of them.
export { MISSING_BIN };
/** The quantile sample's radix sort: one byte of the float32 key per pass. */
const RADIX = 256;
const QUANTILE_SAMPLE = 200_000; // enough for 255 quantiles; keeps sorting cheap for 1M rows

export interface BinnedFeatures {
  rows: number;
  features: number;
  /** features × rows bytes, column-major: feature f's bins are at [f·rows, (f+1)·rows). */
  byFeature: Uint8Array;
  /** Per feature: 1 if any training row is missing (then the missing bin is a state of its own). */
  hasMissing: Uint8Array;
  /** Per feature: ascending float32 upper edges; value bin b holds x ≤ edges[b] (and > edges[b-1]). */
  edges: Float32Array[];
}

function binEdges(values: Float32Array, maxBins: number, seed: number): Float32Array {
  const valueBins = Math.min(maxBins, MISSING_BIN);
  let present = 0;
  for (let i = 0; i < values.length; i++) if (!Number.isNaN(values[i]!)) present++;
  if (present === 0) return new Float32Array([Infinity]);
  let sample = new Float32Array(present);
  let k = 0;
  for (let i = 0; i < values.length; i++) if (!Number.isNaN(values[i]!)) sample[k++] = values[i]!;
  if (present > QUANTILE_SAMPLE) {
    const rnd = mulberry32(seed);
    const picked = new Float32Array(QUANTILE_SAMPLE);
    for (let i = 0; i < QUANTILE_SAMPLE; i++) picked[i] = sample[Math.floor(rnd() * present)]!;
    sample = picked;
  }
  // Most features (booleans, categoricals, small counts) have few distinct values: those need no sort of the sample.
  const distinct = new Set<number>();
  for (let i = 0; i < sample.length && distinct.size <= valueBins; i++) distinct.add(sample[i]!);
  let edges: number[];
  if (distinct.size <= valueBins) {
    edges = [...distinct].sort((a, b) => a - b);
  } else {
    radixSort(sample);
    edges = [];
    for (let b = 1; b <= valueBins; b++) {
      const v = sample[Math.ceil((b * sample.length) / valueBins) - 1]!;
      if (edges.length === 0 || v > edges[edges.length - 1]!) edges.push(v);
    }
  }
  // The top edge is +Inf so values above the training range (a sample may miss the max) stay in a value bin.
  edges[edges.length - 1] = Infinity;
  return Float32Array.from(edges);
}

/**
 * Sorts finite float32 values ascending in place: four byte passes over order-preserving integer
 * keys, several times faster than TypedArray#sort on the 100k-row columns binning sees.
 */
function radixSort(values: Float32Array): void {
  const n = values.length;
  let keys: Uint32Array = new Uint32Array(values.buffer, values.byteOffset, n);
  // Negative floats: flip all bits; positive: set the sign bit. Unsigned order then equals float order.
  for (let i = 0; i < n; i++) keys[i] = keys[i]! & 0x80000000 ? ~keys[i]! >>> 0 : (keys[i]! | 0x80000000) >>> 0;
  let other: Uint32Array = new Uint32Array(n);
  const counts = new Int32Array(RADIX);
  for (let shift = 0; shift < 32; shift += 8) {
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[(keys[i]! >>> shift) & (RADIX - 1)]!++;
    let sum = 0;
    for (let b = 0; b < RADIX; b++) {
      const c = counts[b]!;
      counts[b] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) other[counts[(keys[i]! >>> shift) & (RADIX - 1)]!++] = keys[i]!;
    [keys, other] = [other, keys];
  }
  // After an even number of passes the sorted keys are back in the values' own memory.
  for (let i = 0; i < n; i++) keys[i] = keys[i]! & 0x80000000 ? (keys[i]! & 0x7fffffff) >>> 0 : ~keys[i]! >>> 0;
}

/** Index of the first edge ≥ x (edges end with +Inf, so always a valid bin for non-NaN x). */
function binOf(edges: Float32Array, x: number): number {
  let lo = 0;
  let hi = edges.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (x <= edges[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

export function binFeatures(columns: Float32Array[], rows: Int32Array, maxBins: number, seed: number): BinnedFeatures {
  const F = columns.length;
  const n = rows.length;
  const byFeature = new Uint8Array(n * F);
  const hasMissing = new Uint8Array(F);
  const edges: Float32Array[] = [];
  for (let f = 0; f < F; f++) {
    const col = columns[f]!;
    const sub = new Float32Array(n);
    for (let i = 0; i < n; i++) sub[i] = col[rows[i]!]!;
    const e = binEdges(sub, maxBins, seed + f);
    edges.push(e);
    const out = byFeature.subarray(f * n, (f + 1) * n);
    for (let i = 0; i < n; i++) {
      const x = sub[i]!;
      if (Number.isNaN(x)) {
        out[i] = MISSING_BIN;
        hasMissing[f] = 1;
      } else {
        out[i] = binOf(e, x);
      }
    }
  }
  return { rows: n, features: F, byFeature, hasMissing, edges };
}
