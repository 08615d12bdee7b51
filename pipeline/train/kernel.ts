// The hot loop of tree growth, as one self-contained function (no imports, no closures): the same
// code runs on the main thread and, via Function.prototype.toString, inside worker threads, each
// call covering the feature range [f0, f1). Histograms of different features never overlap, so
// threads need no locks and results do not depend on the thread count.

/** Histogram layout: per slot, per feature, 256 bins × (gradient sum, row count). */
export const BIN_STRIDE = 2;
export const FEATURE_STRIDE = 256 * BIN_STRIDE;
/** Per split entry and thread: gain, feature, bin, defaultLeft, leftGrad, leftCount. */
export const RESULT_WIDTH = 6;
/** Task header: [nBuild, nSub, nSplit]; then (start, end, slot) per build, (parent, small) per subtraction, (slot, count) per split. */
export const TASK_HEADER = 3;

/** Adds rows idx[start, end) into the histogram at `base`, features [f0, f1). */
export function buildHistogram(bins: Uint8Array, grad: Float64Array, idx: Int32Array, hist: Float64Array, start: number, end: number, base: number, F: number, f0: number, f1: number): void {
  hist.fill(0, base + f0 * 512, base + f1 * 512);
  const first = base + f0 * 512;
  for (let k = start; k < end; k++) {
    const r = idx[k]!;
    const g = grad[r]!;
    const rowBase = r * F;
    let o = first;
    for (let f = f0; f < f1; f++, o += 512) {
      const j = o + (bins[rowBase + f]! << 1);
      hist[j] += g;
      hist[j + 1] += 1;
    }
  }
}

export function levelTask(
  bins: Uint8Array, grad: Float64Array, idx: Int32Array, hist: Float64Array,
  task: Int32Array, taskGrad: Float64Array, nBins: Int32Array, params: Float64Array,
  result: Float64Array, F: number, f0: number, f1: number, resultBase: number,
): void {
  const nBuild = task[0]!;
  const nSub = task[1]!;
  const nSplit = task[2]!;
  const slotSize = F * 512;
  let t = 3;
  for (let e = 0; e < nBuild; e++, t += 3) buildHistogram(bins, grad, idx, hist, task[t]!, task[t + 1]!, task[t + 2]! * slotSize, F, f0, f1);
  // Subtraction trick: the larger child's histogram is parent − smaller child, written over the parent.
  for (let e = 0; e < nSub; e++, t += 2) {
    const p = task[t]! * slotSize;
    const s = task[t + 1]! * slotSize;
    for (let j = f0 * 512, end = f1 * 512; j < end; j++) hist[p + j] -= hist[s + j]!;
  }
  const lambda = params[0]!;
  const minLeaf = params[1]!;
  for (let e = 0; e < nSplit; e++, t += 2) {
    const base = task[t]! * slotSize;
    const C = task[t + 1]!;
    const G = taskGrad[e]!;
    const parentScore = (G * G) / (C + lambda);
    let bestGain = 0;
    let bestF = -1;
    let bestBin = -1;
    let bestDefaultLeft = 1;
    let bestLG = 0;
    let bestLC = 0;
    for (let f = f0; f < f1; f++) {
      const o = base + f * 512;
      const nb = nBins[f]!;
      const missG = hist[o + 510]!;
      const missC = hist[o + 511]!;
      let gl = 0;
      let cl = 0;
      // The last value bin as a threshold only makes sense to send missing values apart.
      const lastBin = missC > 0 ? nb - 1 : nb - 2;
      for (let b = 0; b <= lastBin; b++) {
        const c = hist[o + 2 * b + 1]!;
        if (c === 0) continue;
        gl += hist[o + 2 * b]!;
        cl += c;
        // Missing values to the right.
        let lc = cl;
        let rc = C - cl;
        if (lc >= minLeaf && rc >= minLeaf) {
          const rg = G - gl;
          const gain = (gl * gl) / (lc + lambda) + (rg * rg) / (rc + lambda) - parentScore;
          if (gain > bestGain) {
            bestGain = gain; bestF = f; bestBin = b; bestLG = gl; bestLC = lc;
            // With no missing values seen here, unseen ones follow the larger side.
            bestDefaultLeft = missC > 0 ? 0 : (lc >= rc ? 1 : 0);
          }
        }
        if (missC > 0) {
          lc = cl + missC;
          rc = C - lc;
          if (lc >= minLeaf && rc >= minLeaf) {
            const lg = gl + missG;
            const rg = G - lg;
            const gain = (lg * lg) / (lc + lambda) + (rg * rg) / (rc + lambda) - parentScore;
            if (gain > bestGain) {
              bestGain = gain; bestF = f; bestBin = b; bestLG = lg; bestLC = lc; bestDefaultLeft = 1;
            }
          }
        }
      }
    }
    const r = (resultBase + e) * 6;
    result[r] = bestGain / 2;
    result[r + 1] = bestF;
    result[r + 2] = bestBin;
    result[r + 3] = bestDefaultLeft;
    result[r + 4] = bestLG;
    result[r + 5] = bestLC;
  }
}
