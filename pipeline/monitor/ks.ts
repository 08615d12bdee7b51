// Two-sample Kolmogorov–Smirnov test, two-sided, with scipy.stats.ks_2samp's method='auto':
// the exact path-counting p-value when both samples have ≤ 10,000 values, the asymptotic kstwo otherwise.
// The statistic is computed from sorted distinct reference values and per-value counts of the other sample,
// which is exact and lets the monitor keep counters instead of every row.
import { kolmogorovSf } from './kolmogorov.ts';

const MAX_AUTO_N = 10000;

export interface KsResult {
  statistic: number;
  pvalue: number;
  method: 'exact' | 'asymp';
}

/**
 * Where each value of a sample falls relative to the distinct sorted reference values `u`:
 * `eq[j]` counts values equal to u[j], `gap[j]` values strictly between u[j-1] and u[j]
 * (gap[0]: below u[0], gap[u.length]: above the last).
 */
export interface KsCounts {
  eq: Float64Array;
  gap: Float64Array;
}

/** Reference sample (sorted, NaN-free) → distinct values and how many reference values sit at each. */
export function distinctCounts(sorted: ArrayLike<number>): { values: Float64Array; counts: Float64Array } {
  const values: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i < sorted.length; i++) {
    const v = sorted[i]!;
    if (values.length && values[values.length - 1] === v) counts[counts.length - 1]! += 1;
    else { values.push(v); counts.push(1); }
  }
  return { values: Float64Array.from(values), counts: Float64Array.from(counts) };
}

export function emptyKsCounts(distinct: number): KsCounts {
  return { eq: new Float64Array(distinct), gap: new Float64Array(distinct + 1) };
}

/** Number of elements of sorted `u` strictly less than x. */
export function lowerBound(u: Float64Array, x: number): number {
  let lo = 0, hi = u.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (u[mid]! < x) lo = mid + 1; else hi = mid;
  }
  return lo;
}

export function addToKsCounts(counts: KsCounts, u: Float64Array, x: number): void {
  const j = lowerBound(u, x);
  if (j < u.length && u[j] === x) counts.eq[j]! += 1; else counts.gap[j]! += 1;
}

/**
 * D = sup |F_ref − F_cur|. Between reference values F_ref is flat and F_cur monotone, so the sup over
 * the pooled sample (scipy evaluates at every pooled point) is reached at a reference value or at the
 * largest current value just below one; both are available from the counts. Same float ops as scipy.
 */
export function ksStatisticFromCounts(refCounts: Float64Array, cur: KsCounts): { d: number; n1: number; n2: number } {
  let n1 = 0, n2 = 0;
  for (let j = 0; j < refCounts.length; j++) n1 += refCounts[j]!;
  for (let j = 0; j < cur.eq.length; j++) n2 += cur.eq[j]!;
  for (let j = 0; j < cur.gap.length; j++) n2 += cur.gap[j]!;
  let maxS = -Infinity, minS = Infinity;
  let refLe = 0, curLe = 0;
  for (let j = 0; j < refCounts.length; j++) {
    const curLt = curLe + cur.gap[j]!;
    if (cur.gap[j]! > 0) {
      const diff = refLe / n1 - curLt / n2;
      if (diff > maxS) maxS = diff;
      if (diff < minS) minS = diff;
    }
    refLe += refCounts[j]!;
    curLe = curLt + cur.eq[j]!;
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
  const sorted = Float64Array.from(a).sort();
  const { values, counts } = distinctCounts(sorted);
  const cur = emptyKsCounts(values.length);
  for (let i = 0; i < b.length; i++) addToKsCounts(cur, values, b[i]!);
  const { d, n1, n2 } = ksStatisticFromCounts(counts, cur);
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
  const mg = m / g, ng = n / g;
  let minj = 0, maxj = Math.min(Math.ceil(h / mg), n + 1);
  let curlen = maxj - minj;
  const lenA = Math.min(2 * maxj + 2, n + 1);
  const A = new Float64Array(lenA).fill(1);
  A.fill(0, minj, maxj);
  for (let i = 1; i <= m; i++) {
    const lastminj = minj, lastlen = curlen;
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
