// Distribution-distance statistics over bucket counts: PSI and Jensen–Shannon distance,
// plus the quantile bin edges PSI is computed on. Pure functions over typed arrays.

/**
 * Proportions below this are clamped to it before PSI's log ratio, so an empty bucket on one side
 * gives a large but finite term instead of ±Infinity. 1e-4 is the usual choice in credit-risk PSI;
 * the proportions are not renormalised afterwards.
 */
export const PSI_EPSILON = 1e-4;

function total(counts: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < counts.length; i++) s += counts[i]!;
  return s;
}

/** Population stability index Σ (c − b)·ln(c / b) over matching buckets of baseline and current counts. */
export function psi(baseline: ArrayLike<number>, current: ArrayLike<number>): number {
  if (baseline.length !== current.length)
    throw new RangeError(`psi: ${baseline.length} baseline buckets vs ${current.length} current`);
  const nb = total(baseline),
    nc = total(current);
  if (nb === 0 || nc === 0) return NaN;
  let s = 0;
  for (let i = 0; i < baseline.length; i++) {
    const b = Math.max(baseline[i]! / nb, PSI_EPSILON);
    const c = Math.max(current[i]! / nc, PSI_EPSILON);
    s += (c - b) * Math.log(c / b);
  }
  return s;
}

/** Jensen–Shannon distance in base 2 (in [0, 1]), as scipy.spatial.distance.jensenshannon(p, q, base=2). */
export function jensenShannon(baseline: ArrayLike<number>, current: ArrayLike<number>): number {
  if (baseline.length !== current.length)
    throw new RangeError(`jensenShannon: ${baseline.length} baseline buckets vs ${current.length} current`);
  const nb = total(baseline),
    nc = total(current);
  if (nb === 0 || nc === 0) return NaN;
  let s = 0;
  for (let i = 0; i < baseline.length; i++) {
    const p = baseline[i]! / nb,
      q = current[i]! / nc;
    const m = (p + q) / 2;
    if (p > 0) s += p * Math.log(p / m);
    if (q > 0) s += q * Math.log(q / m);
  }
  return Math.sqrt(Math.max(0, s / 2 / Math.LN2));
}

/** Linear-interpolated quantile of sorted values (numpy's default 'linear' method). */
function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos),
    hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/**
 * Interior cut points of `bins` equal-frequency bins over sorted non-missing values, deduplicated
 * (a feature with few distinct values gets fewer, wider bins). Bucket i holds edges[i-1] < x ≤ edges[i].
 */
export function quantileEdges(sorted: ArrayLike<number>, bins: number): number[] {
  const edges: number[] = [];
  if (sorted.length === 0) return edges;
  for (let k = 1; k < bins; k++) {
    const e = quantileSorted(sorted, k / bins);
    // An edge at the maximum would leave an always-empty top bucket; one at the minimum is kept
    // (bucket 0 then holds exactly the minimum, e.g. the zeros of a zero-inflated feature).
    if (e < sorted[sorted.length - 1]! && edges[edges.length - 1] !== e) edges.push(e);
  }
  return edges;
}

/** Bucket of x for interior edges: the number of edges strictly below x. */
export function binIndex(edges: ArrayLike<number>, x: number): number {
  let lo = 0,
    hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (edges[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
