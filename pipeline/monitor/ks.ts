// Two-sample Kolmogorov–Smirnov test, two-sided, with scipy.stats.ks_2samp's method='auto':
// the exact path-counting p-value when both samples have ≤ 10,000 values, the asymptotic kstwo otherwise.
// The statistic is computed from sorted distinct reference values and counts of where the other sample's
// values fall among them (positions.ts), which is exact and lets the monitor keep counters, not rows.
import { kolmogorovSf } from './kolmogorov.ts';
import { countSlots, referenceIndex } from './positions.ts';

const MAX_AUTO_N = 10000;

export interface KsResult {
  statistic: number;
  pvalue: number;
  method: 'exact' | 'asymp';
}

/**
 * D = sup |F_ref − F_cur|. Between reference values F_ref is flat and F_cur monotone, so the sup over
 * the pooled sample (scipy evaluates at every pooled point) is reached at a reference value or at the
 * largest current value just below one; both are available from the counts. Same float ops as scipy.
 */
export function ksStatisticFromCounts(
  refCounts: Float64Array,
  slots: Float64Array,
): { d: number; n1: number; n2: number } {
  let n1 = 0,
    n2 = 0;
  for (let j = 0; j < refCounts.length; j++) n1 += refCounts[j]!;
  for (let s = 0; s < slots.length; s++) n2 += slots[s]!;
  let maxS = -Infinity,
    minS = Infinity;
  let refLe = 0,
    curLe = 0;
  for (let j = 0; j < refCounts.length; j++) {
    const gap = slots[2 * j]!;
    const curLt = curLe + gap;
    if (gap > 0) {
      const diff = refLe / n1 - curLt / n2;
      if (diff > maxS) maxS = diff;
      if (diff < minS) minS = diff;
    }
    refLe += refCounts[j]!;
    curLe = curLt + slots[2 * j + 1]!;
    const diff = refLe / n1 - curLe / n2;
    if (diff > maxS) maxS = diff;
    if (diff < minS) minS = diff;
  }
  // Current values above the last reference value only bring F_cur closer to F_ref = 1.
  const d = Math.max(maxS, Math.min(1, Math.max(0, -minS)));
  return { d, n1, n2 };
}

/** Exact D and p-value of two raw samples (NaN must be removed by the caller). */
export function ks2samp(a: ArrayLike<number>, b: ArrayLike<number>): KsResult {
  if (a.length === 0 || b.length === 0) throw new RangeError('ks2samp needs two non-empty samples');
  const ix = referenceIndex(Float64Array.from(a).sort());
  const { d, n1, n2 } = ksStatisticFromCounts(ix.counts, countSlots(ix, b));
  return ksPValue(d, n1, n2);
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** numpy's round: half to even. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** P(D_{n,n} ≥ h/n) for equal sizes (Hodges, Horner-like form to avoid cancellation). */
function probOutsideSquare(n: number, h: number): number {
  let P = 0;
  for (let k = Math.floor(n / h); k >= 0; k--) {
    let p1 = 1;
    for (let j = 0; j < h; j++) p1 = ((n - k * h - j) * p1) / (n + k * h + j + 1);
    P = p1 * (1 - P);
  }
  return 2 * P;
}

/** 1 − P(paths stay strictly inside |x/m − y/n| < h/lcm), Viehmann's stable recursion (scipy _stats_pythran). */
function outerProbInside(m: number, n: number, g: number, h: number): number {
  if (m < n) [m, n] = [n, m];
  const mg = m / g,
    ng = n / g;
  let minj = 0,
    maxj = Math.min(Math.ceil(h / mg), n + 1);
  let curlen = maxj - minj;
  const lenA = Math.min(2 * maxj + 2, n + 1);
  const A = new Float64Array(lenA).fill(1);
  A.fill(0, minj, maxj);
  for (let i = 1; i <= m; i++) {
    const lastminj = minj,
      lastlen = curlen;
    minj = Math.min(Math.max(Math.floor((ng * i - h) / mg) + 1, 0), n);
    maxj = Math.min(Math.ceil((ng * i + h) / mg), n + 1);
    if (maxj <= minj) return 1;
    let val = minj === 0 ? 0 : 1;
    for (let jj = 0; jj < maxj - minj; jj++) {
      const j = jj + minj;
      val = (A[jj + minj - lastminj]! * i + val * j) / (i + j);
      A[jj] = val;
    }
    curlen = maxj - minj;
    if (lastlen > curlen) A.fill(1, maxj - minj, maxj - minj + (lastlen - curlen));
  }
  return A[maxj - minj - 1]!;
}

/** scipy.stats.ks_2samp p-value (two-sided, method='auto') for statistic d between samples of n1 and n2. */
export function ksPValue(d: number, n1: number, n2: number): KsResult {
  if (Math.max(n1, n2) <= MAX_AUTO_N) {
    const g = gcd(n1, n2);
    const lcm = (n1 / g) * n2;
    const h = roundHalfEven(d * lcm);
    const dExact = h / lcm;
    if (h === 0) return { statistic: dExact, pvalue: 1, method: 'exact' };
    const prob = n1 === n2 ? probOutsideSquare(n1, h) : outerProbInside(n1, n2, g, h);
    if (prob >= 0 && prob <= 1) return { statistic: dExact, pvalue: prob, method: 'exact' };
    // scipy falls back to the asymptotic p-value (with a warning) when the exact one is out of range.
    d = dExact;
  }
  const [m, n] = n1 >= n2 ? [n1, n2] : [n2, n1];
  const en = (m * n) / (m + n);
  const pvalue = Math.min(1, Math.max(0, kolmogorovSf(roundHalfEven(en), d)));
  return { statistic: d, pvalue, method: 'asymp' };
}
