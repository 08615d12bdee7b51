// The hot loops of tree growth as self-contained functions (no imports, no closures): the same
// code runs on the main thread and, via Function.prototype.toString, inside worker threads. A
// level task covers the column range [c0, c1): histograms of different columns never overlap, so
// threads need no locks, and merging per-thread bests in thread order equals one sequential scan.
// Partition and leaf tasks cover one chunk of rows per node, and each row's result is the same
// whichever thread handles it. So results do not depend on the thread count.

/** Histogram layout: per slot, per column, 256 bins × (gradient sum, row count); bin 255 = missing. */
export const COLUMN_STRIDE = 512;
/** Per split entry and thread: gain, feature, bin, defaultLeft, leftGrad, leftCount. */
export const RESULT_WIDTH = 6;
/** Task header: [nBuild, nSub, nSplit]; then (start, end, slot) per build, (parent, small) per subtraction, (slot, count) per split. */
export const TASK_HEADER = 3;

/** Adds rows idx[start, end) into the histogram at `base`, columns [c0, c1). */
export function buildHistogram(bins: Uint8Array, grad: Float64Array, idx: Int32Array, hist: Float64Array, start: number, end: number, base: number, C: number, c0: number, c1: number): void {
  hist.fill(0, base + c0 * 512, base + c1 * 512);
  const first = base + c0 * 512;
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
    for (let c = c0; c < c1; c++, o += 512) {
      const j0 = o + (bins[b0 + c]! << 1);
      const j1 = o + (bins[b1 + c]! << 1);
      hist[j0] += g0;
      hist[j0 + 1] += 1;
      hist[j1] += g1;
      hist[j1 + 1] += 1;
    }
  }
  if (k < end) {
    const r = idx[k]!;
    const g = grad[r]!;
    const rowBase = r * C;
    let o = first;
    for (let c = c0; c < c1; c++, o += 512) {
      const j = o + (bins[rowBase + c]! << 1);
      hist[j] += g;
      hist[j + 1] += 1;
    }
  }
}

/**
 * Scans one feature's histogram (value bins 0..nb-1 at h[o + 2b], missing at h[o + 510]) for the
 * best threshold, trying missing values on either side; improves `best` in place.
 */
export function scanFeature(h: Float64Array, o: number, nb: number, feature: number, G: number, C: number, lambda: number, minLeaf: number, parentScore: number, best: Float64Array): void {
  const missG = h[o + 510]!;
  const missC = h[o + 511]!;
  let gl = 0;
  let cl = 0;
  // The last value bin as a threshold only makes sense to send missing values apart.
  const lastBin = missC > 0 ? nb - 1 : nb - 2;
  for (let b = 0; b <= lastBin; b++) {
    const c = h[o + 2 * b + 1]!;
    if (c === 0) continue;
    gl += h[o + 2 * b]!;
    cl += c;
    let lc = cl;
    let rc = C - cl;
    if (lc >= minLeaf && rc >= minLeaf) {
      const rg = G - gl;
      const gain = (gl * gl) / (lc + lambda) + (rg * rg) / (rc + lambda) - parentScore;
      if (gain > best[0]!) {
        best[0] = gain; best[1] = feature; best[2] = b; best[4] = gl; best[5] = lc;
        // With no missing values seen here, unseen ones follow the larger side.
        best[3] = missC > 0 ? 0 : (lc >= rc ? 1 : 0);
      }
    }
    if (missC > 0) {
      lc = cl + missC;
      rc = C - lc;
      if (lc >= minLeaf && rc >= minLeaf) {
        const lg = gl + missG;
        const rg = G - lg;
        const gain = (lg * lg) / (lc + lambda) + (rg * rg) / (rc + lambda) - parentScore;
        if (gain > best[0]!) {
          best[0] = gain; best[1] = feature; best[2] = b; best[3] = 1; best[4] = lg; best[5] = lc;
        }
      }
    }
  }
}

export function levelTask(
  bins: Uint8Array, grad: Float64Array, idx: Int32Array, hist: Float64Array,
  task: Int32Array, taskGrad: Float64Array, layout: Int32Array, members: Int32Array, codeBins: Int32Array, params: Float64Array,
  result: Float64Array, C: number, c0: number, c1: number, resultBase: number,
): void {
  const nBuild = task[0]!;
  const nSub = task[1]!;
  const nSplit = task[2]!;
  const slotSize = C * 512;
  let t = 3;
  for (let e = 0; e < nBuild; e++, t += 3) buildHistogram(bins, grad, idx, hist, task[t]!, task[t + 1]!, task[t + 2]! * slotSize, C, c0, c1);
  // Subtraction trick: the larger child's histogram is parent − smaller child, written over the parent.
  for (let e = 0; e < nSub; e++, t += 2) {
    const p = task[t]! * slotSize;
    const s = task[t + 1]! * slotSize;
    for (let j = c0 * 512, end = c1 * 512; j < end; j++) hist[p + j] -= hist[s + j]!;
  }
  const lambda = params[0]!;
  const minLeaf = params[1]!;
  const best = new Float64Array(6);
  let widest = 1;
  for (let c = c0; c < c1; c++) widest = Math.max(widest, layout[2 * c + 1]!);
  const marginals = new Float64Array(512 * widest);
  for (let e = 0; e < nSplit; e++, t += 2) {
    const base = task[t]! * slotSize;
    const count = task[t + 1]!;
    const G = taskGrad[e]!;
    const parentScore = (G * G) / (count + lambda);
    best.fill(0);
    best[1] = -1;
    best[3] = 1;
    for (let c = c0; c < c1; c++) {
      const o = base + c * 512;
      const m0 = layout[2 * c]!;
      const k = layout[2 * c + 1]!;
      if (members[5 * m0 + 1] === 0) {
        scanFeature(hist, o, members[5 * m0 + 3]!, members[5 * m0]!, G, count, lambda, minLeaf, parentScore, best);
        continue;
      }
      // A bundle: each member's histogram is the bundle's summed over the other members' digits, all in one pass.
      // Codes without rows are skipped (subtraction may leave rounding dust there; no row can go anywhere by it).
      const codes = members[5 * (m0 + k - 1) + 1]! * members[5 * (m0 + k - 1) + 2]!;
      marginals.fill(0, 0, 512 * k);
      for (let code = 0; code < codes; code++) {
        const rows = hist[o + 2 * code + 1]!;
        if (rows === 0) continue;
        const g = hist[o + 2 * code]!;
        for (let i = 0; i < k; i++) {
          const to = 512 * i + codeBins[256 * (m0 + i) + code]!;
          marginals[to] += g;
          marginals[to + 1] += rows;
        }
      }
      for (let i = 0; i < k; i++) scanFeature(marginals, 512 * i, members[5 * (m0 + i) + 3]!, members[5 * (m0 + i)]!, G, count, lambda, minLeaf, parentScore, best);
    }
    const r = (resultBase + e) * 6;
    result[r] = best[0]! / 2;
    result[r + 1] = best[1]!;
    result[r + 2] = best[2]!;
    result[r + 3] = best[3]!;
    result[r + 4] = best[4]!;
    result[r + 5] = best[5]!;
  }
}

/** Partition task: [entries, chunks, threads arrived], then per entry: start, end, feature, bin, missingLeft. */
export const PARTITION_HEADER = 3;
export const PARTITION_WIDTH = 5;

/**
 * Stable partition of the node ranges in `ptask`, run by every thread on chunk `thread` of each
 * range (chunk t of [s, e) is [s + ⌊t·len/T⌋, s + ⌊(t+1)·len/T⌋)), so all threads share every
 * node, the root included. First each chunk's left rows go to `scratch` at the chunk's offsets and
 * its right rows to the same offsets + n, with the left count in `lefts[entry·T + thread]`; once
 * every thread has arrived, each copies its pieces to their final places in `idx`.
 */
export function partitionNodes(ptask: Int32Array, lefts: Int32Array, idx: Int32Array, byFeature: Uint8Array, scratch: Int32Array, n: number, thread: number): void {
  const count = ptask[0]!;
  const T = ptask[1]!;
  const goesLeft = new Int32Array(256);
  for (let e = 0; e < count; e++) {
    const p = 3 + 5 * e;
    const s = ptask[p]!;
    const len = ptask[p + 1]! - s;
    const c0 = s + Math.floor((thread * len) / T);
    const c1 = s + Math.floor(((thread + 1) * len) / T);
    const col = byFeature.subarray(ptask[p + 2]! * n, (ptask[p + 2]! + 1) * n);
    const bin = ptask[p + 3]!;
    for (let v = 0; v < 255; v++) goesLeft[v] = v <= bin ? 1 : 0;
    goesLeft[255] = ptask[p + 4]!;
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
  Atomics.add(ptask, 2, 1);
  Atomics.notify(ptask, 2);
  const since = Date.now();
  for (let spin = 0, v = Atomics.load(ptask, 2); v < T; spin++, v = Atomics.load(ptask, 2)) {
    if (spin < 100_000) continue;
    Atomics.wait(ptask, 2, v, 1);
    if (Date.now() - since > 30_000) throw new Error('a partition thread never arrived');
  }
  for (let e = 0; e < count; e++) {
    const p = 3 + 5 * e;
    const s = ptask[p]!;
    const len = ptask[p + 1]! - s;
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

/** Leaf task: [entries, chunks], then per entry: start, end, feature (-1 for a leaf), bin, missingLeft, left value, right value. */
export const LEAF_HEADER = 2;
export const LEAF_WIDTH = 7;

/**
 * Adds leaf values to the gradients (prediction − target, so they move with the prediction) of
 * chunk `thread` of each entry's rows (chunks as in partitionNodes). An entry is a leaf (one value)
 * or a split whose children are both leaves (rows not partitioned: the split is tested here).
 */
export function addLeafValues(ltask: Float64Array, idx: Int32Array, byFeature: Uint8Array, grad: Float64Array, n: number, thread: number): void {
  const count = ltask[0]!;
  const T = ltask[1]!;
  // A value per bin code instead of a branch: which side a row goes is a coin flip to the CPU.
  const byBin = new Float64Array(256);
  for (let e = 0; e < count; e++) {
    const p = 2 + 7 * e;
    const s = ltask[p]!;
    const len = ltask[p + 1]! - s;
    const c0 = s + Math.floor((thread * len) / T);
    const c1 = s + Math.floor(((thread + 1) * len) / T);
    const f = ltask[p + 2]!;
    const vLeft = ltask[p + 5]!;
    const vRight = ltask[p + 6]!;
    if (f < 0) {
      for (let k = c0; k < c1; k++) grad[idx[k]!] += vLeft;
      continue;
    }
    const bin = ltask[p + 3]!;
    for (let v = 0; v < 255; v++) byBin[v] = v <= bin ? vLeft : vRight;
    byBin[255] = ltask[p + 4] === 1 ? vLeft : vRight;
    const col = byFeature.subarray(f * n, (f + 1) * n);
    for (let k = c0; k < c1; k++) {
      const row = idx[k]!;
      grad[row] += byBin[col[row]!]!;
    }
  }
}
