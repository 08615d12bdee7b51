// The hot loops of tree growth as self-contained functions (no closures; the only outside names are
// the layout constants of layout.ts, which threads.ts defines in each worker): the same code runs on
// the main thread and, via Function.prototype.toString, inside worker threads. A
// level task covers the column range [c0, c1): histograms of different columns never overlap, so
// threads need no locks, and merging per-thread bests in thread order equals one sequential scan.
// Partition and leaf tasks cover one chunk of rows per node, and each row's result is the same
// whichever thread handles it. So results do not depend on the thread count.

import {
  BIN_CODES,
  COLUMN_STRIDE,
  HIST_CELL,
  LAYOUT_WIDTH,
  LEAF_HEADER,
  LEAF_WIDTH,
  MEMBER_BINS,
  MEMBER_FEATURE,
  MEMBER_STATES,
  MEMBER_STRIDE,
  MEMBER_WIDTH,
  MISSING_BIN,
  MISSING_CELL,
  PARAM_LAMBDA,
  PARAM_MIN_LEAF,
  PARTITION_ARRIVED,
  PARTITION_HEADER,
  PARTITION_WIDTH,
  RESULT_WIDTH,
  TASK_BUILD_WIDTH,
  TASK_HEADER,
  TASK_SPLIT_WIDTH,
  TASK_SUB_WIDTH,
  RESULT_GAIN,
  RESULT_FEATURE,
  RESULT_BIN,
  RESULT_DEFAULT_LEFT,
  RESULT_LEFT_GRAD,
  RESULT_LEFT_COUNT,
  PARTITION_CHUNKS,
  ENTRY_START,
  ENTRY_END,
  ENTRY_FEATURE,
  ENTRY_BIN,
  ENTRY_MISSING_LEFT,
  ENTRY_LEFT_VALUE,
  ENTRY_RIGHT_VALUE,
} from './layout.ts';

/** Adds rows idx[start, end) into the histogram at `base`, columns [c0, c1). */
export function buildHistogram(
  bins: Uint8Array,
  grad: Float64Array,
  idx: Int32Array,
  hist: Float64Array,
  start: number,
  end: number,
  base: number,
  C: number,
  c0: number,
  c1: number,
): void {
  hist.fill(0, base + c0 * COLUMN_STRIDE, base + c1 * COLUMN_STRIDE);
  const first = base + c0 * COLUMN_STRIDE;
  // Two rows per pass halve the loop overhead; each bin still receives its rows in row order.
  let k = start;
  for (; k + 1 < end; k += 2) {
    const r0 = idx[k]!;
    const r1 = idx[k + 1]!;
    const g0 = grad[r0]!;
    const g1 = grad[r1]!;
    const b0 = r0 * C;
    const b1 = r1 * C;
    let o = first;
    for (let c = c0; c < c1; c++, o += COLUMN_STRIDE) {
      const j0 = o + bins[b0 + c]! * HIST_CELL;
      const j1 = o + bins[b1 + c]! * HIST_CELL;
      hist[j0]! += g0;
      hist[j0 + 1]! += 1;
      hist[j1]! += g1;
      hist[j1 + 1]! += 1;
    }
  }
  if (k < end) {
    const r = idx[k]!;
    const g = grad[r]!;
    const rowBase = r * C;
    let o = first;
    for (let c = c0; c < c1; c++, o += COLUMN_STRIDE) {
      const j = o + bins[rowBase + c]! * HIST_CELL;
      hist[j]! += g;
      hist[j + 1]! += 1;
    }
  }
}

/**
 * Scans one feature's histogram (value bins 0..nb-1 at h[o + HIST_CELL·b], missing at h[o + MISSING_CELL]) for the
 * best threshold, trying missing values on either side; improves `best` in place.
 */
export function scanFeature(
  h: Float64Array,
  o: number,
  nb: number,
  feature: number,
  G: number,
  C: number,
  lambda: number,
  minLeaf: number,
  parentScore: number,
  best: Float64Array,
): void {
  const missG = h[o + MISSING_CELL]!;
  const missC = h[o + MISSING_CELL + 1]!;
  let gl = 0;
  let cl = 0;
  // The last value bin as a threshold only makes sense to send missing values apart.
  const lastBin = missC > 0 ? nb - 1 : nb - 2;
  for (let b = 0; b <= lastBin; b++) {
    const c = h[o + HIST_CELL * b + 1]!;
    if (c === 0) continue;
    gl += h[o + HIST_CELL * b]!;
    cl += c;
    let lc = cl;
    let rc = C - cl;
    if (lc >= minLeaf && rc >= minLeaf) {
      const rg = G - gl;
      const gain = (gl * gl) / (lc + lambda) + (rg * rg) / (rc + lambda) - parentScore;
      if (gain > best[RESULT_GAIN]!) {
        best[RESULT_GAIN] = gain;
        best[RESULT_FEATURE] = feature;
        best[RESULT_BIN] = b;
        best[RESULT_LEFT_GRAD] = gl;
        best[RESULT_LEFT_COUNT] = lc;
        // With no missing values seen here, unseen ones follow the larger side.
        best[RESULT_DEFAULT_LEFT] = missC > 0 ? 0 : lc >= rc ? 1 : 0;
      }
    }
    if (missC > 0) {
      lc = cl + missC;
      rc = C - lc;
      if (lc >= minLeaf && rc >= minLeaf) {
        const lg = gl + missG;
        const rg = G - lg;
        const gain = (lg * lg) / (lc + lambda) + (rg * rg) / (rc + lambda) - parentScore;
        if (gain > best[RESULT_GAIN]!) {
          best[RESULT_GAIN] = gain;
          best[RESULT_FEATURE] = feature;
          best[RESULT_BIN] = b;
          best[RESULT_DEFAULT_LEFT] = 1;
          best[RESULT_LEFT_GRAD] = lg;
          best[RESULT_LEFT_COUNT] = lc;
        }
      }
    }
  }
}

export function levelTask(
  bins: Uint8Array,
  grad: Float64Array,
  idx: Int32Array,
  hist: Float64Array,
  task: Int32Array,
  taskGrad: Float64Array,
  layout: Int32Array,
  members: Int32Array,
  codeBins: Int32Array,
  params: Float64Array,
  result: Float64Array,
  C: number,
  c0: number,
  c1: number,
  resultBase: number,
): void {
  const nBuild = task[0]!;
  const nSub = task[1]!;
  const nSplit = task[2]!;
  const slotSize = C * COLUMN_STRIDE;
  let t = TASK_HEADER;
  for (let e = 0; e < nBuild; e++, t += TASK_BUILD_WIDTH)
    buildHistogram(bins, grad, idx, hist, task[t]!, task[t + 1]!, task[t + 2]! * slotSize, C, c0, c1);
  // Subtraction trick: the larger child's histogram is parent − smaller child, written over the parent.
  for (let e = 0; e < nSub; e++, t += TASK_SUB_WIDTH) {
    const p = task[t]! * slotSize;
    const s = task[t + 1]! * slotSize;
    for (let j = c0 * COLUMN_STRIDE, end = c1 * COLUMN_STRIDE; j < end; j++) hist[p + j]! -= hist[s + j]!;
  }
  const lambda = params[PARAM_LAMBDA]!;
  const minLeaf = params[PARAM_MIN_LEAF]!;
  const best = new Float64Array(RESULT_WIDTH);
  let widest = 1;
  for (let c = c0; c < c1; c++) widest = Math.max(widest, layout[LAYOUT_WIDTH * c + 1]!);
  const marginals = new Float64Array(COLUMN_STRIDE * widest);
  for (let e = 0; e < nSplit; e++, t += TASK_SPLIT_WIDTH) {
    const base = task[t]! * slotSize;
    const count = task[t + 1]!;
    const G = taskGrad[e]!;
    const parentScore = (G * G) / (count + lambda);
    best.fill(0);
    best[RESULT_FEATURE] = -1;
    best[RESULT_DEFAULT_LEFT] = 1;
    for (let c = c0; c < c1; c++) {
      const o = base + c * COLUMN_STRIDE;
      const m0 = layout[LAYOUT_WIDTH * c]!;
      const k = layout[LAYOUT_WIDTH * c + 1]!;
      const first = MEMBER_WIDTH * m0;
      if (members[first + MEMBER_STRIDE] === 0) {
        scanFeature(
          hist,
          o,
          members[first + MEMBER_BINS]!,
          members[first + MEMBER_FEATURE]!,
          G,
          count,
          lambda,
          minLeaf,
          parentScore,
          best,
        );
        continue;
      }
      // A bundle: each member's histogram is the bundle's summed over the other members' digits, all in one pass.
      // Codes without rows are skipped (subtraction may leave rounding dust there; no row can go anywhere by it).
      const last = MEMBER_WIDTH * (m0 + k - 1);
      const codes = members[last + MEMBER_STRIDE]! * members[last + MEMBER_STATES]!;
      marginals.fill(0, 0, COLUMN_STRIDE * k);
      for (let code = 0; code < codes; code++) {
        const rows = hist[o + HIST_CELL * code + 1]!;
        if (rows === 0) continue;
        const g = hist[o + HIST_CELL * code]!;
        for (let i = 0; i < k; i++) {
          const to = COLUMN_STRIDE * i + codeBins[BIN_CODES * (m0 + i) + code]!;
          marginals[to]! += g;
          marginals[to + 1]! += rows;
        }
      }
      for (let i = 0; i < k; i++) {
        const m = MEMBER_WIDTH * (m0 + i);
        scanFeature(
          marginals,
          COLUMN_STRIDE * i,
          members[m + MEMBER_BINS]!,
          members[m + MEMBER_FEATURE]!,
          G,
          count,
          lambda,
          minLeaf,
          parentScore,
          best,
        );
      }
    }
    const r = (resultBase + e) * RESULT_WIDTH;
    result.set(best, r);
    result[r + RESULT_GAIN] = best[RESULT_GAIN]! / 2;
  }
}

/**
 * Stable partition of the node ranges in `ptask`, run by every thread on chunk `thread` of each
 * range (chunk t of [s, e) is [s + ⌊t·len/T⌋, s + ⌊(t+1)·len/T⌋)), so all threads share every
 * node, the root included. First each chunk's left rows go to `scratch` at the chunk's offsets and
 * its right rows to the same offsets + n, with the left count in `lefts[entry·T + thread]`; once
 * every thread has arrived, each copies its pieces to their final places in `idx`.
 */
export function partitionNodes(
  ptask: Int32Array,
  lefts: Int32Array,
  idx: Int32Array,
  byFeature: Uint8Array,
  scratch: Int32Array,
  n: number,
  thread: number,
): void {
  const count = ptask[0]!;
  const T = ptask[PARTITION_CHUNKS]!;
  const goesLeft = new Int32Array(BIN_CODES);
  for (let e = 0; e < count; e++) {
    const p = PARTITION_HEADER + PARTITION_WIDTH * e;
    const s = ptask[p + ENTRY_START]!;
    const len = ptask[p + ENTRY_END]! - s;
    const c0 = s + Math.floor((thread * len) / T);
    const c1 = s + Math.floor(((thread + 1) * len) / T);
    const feature = ptask[p + ENTRY_FEATURE]!;
    const col = byFeature.subarray(feature * n, (feature + 1) * n);
    const bin = ptask[p + ENTRY_BIN]!;
    for (let v = 0; v < MISSING_BIN; v++) goesLeft[v] = v <= bin ? 1 : 0;
    goesLeft[MISSING_BIN] = ptask[p + ENTRY_MISSING_LEFT]!;
    let l = c0;
    let r = c0 + n;
    for (let k = c0; k < c1; k++) {
      const row = idx[k]!;
      const go = goesLeft[col[row]!]!;
      scratch[l] = row;
      scratch[r] = row;
      l += go;
      r += 1 - go;
    }
    lefts[e * T + thread] = l - c0;
  }
  // Barrier: nobody may write idx while another thread still reads its chunk.
  Atomics.add(ptask, PARTITION_ARRIVED, 1);
  Atomics.notify(ptask, PARTITION_ARRIVED);
  const since = Date.now();
  for (
    let spin = 0, v = Atomics.load(ptask, PARTITION_ARRIVED);
    v < T;
    spin++, v = Atomics.load(ptask, PARTITION_ARRIVED)
  ) {
    if (spin < 100_000) continue;
    Atomics.wait(ptask, PARTITION_ARRIVED, v, 1);
    if (Date.now() - since > 30_000) throw new Error('a partition thread never arrived');
  }
  for (let e = 0; e < count; e++) {
    const p = PARTITION_HEADER + PARTITION_WIDTH * e;
    const s = ptask[p + ENTRY_START]!;
    const len = ptask[p + ENTRY_END]! - s;
    let left = 0;
    let leftBefore = 0;
    let rightBefore = 0;
    for (let t = 0; t < T; t++) {
      const l = lefts[e * T + t]!;
      left += l;
      if (t < thread) {
        leftBefore += l;
        rightBefore += s + Math.floor(((t + 1) * len) / T) - (s + Math.floor((t * len) / T)) - l;
      }
    }
    const c0 = s + Math.floor((thread * len) / T);
    const c1 = s + Math.floor(((thread + 1) * len) / T);
    const l = lefts[e * T + thread]!;
    idx.set(scratch.subarray(c0, c0 + l), s + leftBefore);
    idx.set(scratch.subarray(n + c0, n + c1 - l), s + left + rightBefore);
  }
}

/**
 * Adds leaf values to the gradients (prediction − target, so they move with the prediction) of
 * chunk `thread` of each entry's rows (chunks as in partitionNodes). An entry is a leaf (one value)
 * or a split whose children are both leaves (rows not partitioned: the split is tested here).
 */
export function addLeafValues(
  ltask: Float64Array,
  idx: Int32Array,
  byFeature: Uint8Array,
  grad: Float64Array,
  n: number,
  thread: number,
): void {
  const count = ltask[0]!;
  const T = ltask[PARTITION_CHUNKS]!;
  // A value per bin code instead of a branch: which side a row goes is a coin flip to the CPU.
  const byBin = new Float64Array(BIN_CODES);
  for (let e = 0; e < count; e++) {
    const p = LEAF_HEADER + LEAF_WIDTH * e;
    const s = ltask[p + ENTRY_START]!;
    const len = ltask[p + ENTRY_END]! - s;
    const c0 = s + Math.floor((thread * len) / T);
    const c1 = s + Math.floor(((thread + 1) * len) / T);
    const f = ltask[p + ENTRY_FEATURE]!;
    const vLeft = ltask[p + ENTRY_LEFT_VALUE]!;
    const vRight = ltask[p + ENTRY_RIGHT_VALUE]!;
    if (f < 0) {
      for (let k = c0; k < c1; k++) grad[idx[k]!]! += vLeft;
      continue;
    }
    const bin = ltask[p + ENTRY_BIN]!;
    for (let v = 0; v < MISSING_BIN; v++) byBin[v] = v <= bin ? vLeft : vRight;
    byBin[MISSING_BIN] = ltask[p + ENTRY_MISSING_LEFT] === 1 ? vLeft : vRight;
    const col = byFeature.subarray(f * n, (f + 1) * n);
    for (let k = c0; k < c1; k++) {
      const row = idx[k]!;
      grad[row]! += byBin[col[row]!]!;
    }
  }
}
