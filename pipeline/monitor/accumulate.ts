// Per-feature drift accumulators: each chunk of rows only bumps counters (quantile bins, categories,
// KS position counts), so memory stays flat in the number of rows while every statistic stays exact.
import type { FeatureSpec } from '../config/index.ts';
import { InvalidInputError } from '../errors/index.ts';
import type { Column } from '../data/index.ts';
import { ksPValue, ksStatisticFromCounts } from './ks.ts';
import { referenceIndex, slotBins, slotOf } from './positions.ts';
import type { CategoryProfile, FeatureProfile, NumericProfile } from './profile.ts';
import { binIndex, jensenShannon, psi } from './stats.ts';

export const MISSING_BUCKET = '(missing)';
export const UNSEEN_BUCKET = '(unseen)';
const MAX_UNSEEN_NAMES = 20;

/** The statistics of one feature (or of the predictions); null where a statistic does not apply. */
export interface FeatureStats {
  name: string;
  type: 'numeric' | 'categorical' | 'boolean';
  rows: number;
  psi: number;
  ks_statistic: number | null;
  ks_pvalue: number | null;
  js_distance: number;
  missing_rate: number;
  baseline_missing_rate: number;
  missing_rate_change: number;
  /** Numeric: values outside the signature's [min, max]; categorical: values not in its list. */
  out_of_range: number | null;
  /** Categorical/boolean: rows whose category the baseline never saw. */
  unseen: number | null;
  unseen_categories: string[] | null;
  /** Buckets PSI and JS were computed on (the HTML report draws them). */
  distribution: { buckets: string[]; baseline: number[]; current: number[] };
}

/**
 * A feature's counts as plain data (a worker's share of a batch, posted to the thread that merges the
 * shares). Counts are integers held in doubles, so adding shares in any order gives the same sums.
 */
export type FeatureCounts =
  | { kind: 'numeric'; rows: number; missing: number; outOfRange: number; slots: Float64Array; cutBins: Float64Array }
  | {
      kind: 'category';
      rows: number;
      missing: number;
      unseen: number;
      outOfList: number;
      counts: Float64Array;
      /** The first unseen names, each with where it was first seen (see FeatureAccumulator.add). */
      unseenNames: [string, number][];
    };

export interface FeatureAccumulator {
  /**
   * Counts a column of rows. `at` orders them in the input (row r of the column is at `at + r`; default 0):
   * the report names the unseen categories seen first, whichever thread counted them.
   */
  add(column: Column, source: string, at?: number): void;
  /** What is counted so far, as plain data. */
  counts(): FeatureCounts;
  /** Adds another accumulator's counts of the same feature. */
  merge(counts: FeatureCounts): void;
  finish(): FeatureStats;
}

/**
 * The first MAX_UNSEEN_NAMES unseen category names by where each was first seen in the input; names
 * counted on several threads merge into the same list as one thread counting them in order.
 */
class UnseenNames {
  private readonly at = new Map<string, number>();

  /** Whether `name` would be noted now (the list is not full and does not hold it). */
  wants(name: string): boolean {
    return this.at.size < MAX_UNSEEN_NAMES && !this.at.has(name);
  }

  note(name: string, at: number): void {
    if (this.wants(name)) this.at.set(name, at);
  }

  entries(): [string, number][] {
    return [...this.at];
  }

  merge(names: readonly [string, number][]): void {
    for (const [name, at] of names) {
      const known = this.at.get(name);
      if (known === undefined || at < known) this.at.set(name, at);
    }
    const keep = new Set(this.first());
    for (const name of [...this.at.keys()]) if (!keep.has(name)) this.at.delete(name);
  }

  first(): string[] {
    return [...this.at]
      .sort((a, b) => a[1] - b[1])
      .slice(0, MAX_UNSEEN_NAMES)
      .map(([name]) => name);
  }
}

/** Zeros, ones and NaNs among boolean values (the rest are neither). */
function booleanCounts(v: Float64Array): { zeros: number; ones: number; nan: number } {
  let zeros = 0,
    ones = 0,
    nan = 0;
  // Branch-free counts: 0/1 values come in random order, so a branch per value would mispredict often.
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    zeros += x === 0 ? 1 : 0;
    ones += x === 1 ? 1 : 0;
    nan += Number.isNaN(x) ? 1 : 0;
  }
  return { zeros, ones, nan };
}

function addTo(into: Float64Array, from: Float64Array): void {
  for (let i = 0; i < into.length; i++) into[i]! += from[i]!;
}

function kindError(source: string, name: string, expected: string, found: string): InvalidInputError {
  return new InvalidInputError(`${source}: column "${name}" should be ${expected}, found ${found}`, [
    { field: name, issue: `expected ${expected}, found ${found}` },
  ]);
}

/** Appends a missing bucket only when either side has missing values, so PSI of a complete feature is plain PSI. */
function withMissing(
  buckets: string[],
  base: number[],
  cur: number[],
  baseMissing: number,
  curMissing: number,
): FeatureStats['distribution'] {
  if (baseMissing === 0 && curMissing === 0) return { buckets, baseline: base, current: cur };
  return { buckets: [...buckets, MISSING_BUCKET], baseline: [...base, baseMissing], current: [...cur, curMissing] };
}

/** Edges are never shown with more decimals than this (float noise beyond it is not the feature's scale). */
const MAX_LABEL_DECIMALS = 6;

/** Decimals at which every value is exact (up to float noise), at most MAX_LABEL_DECIMALS. */
function exactDecimals(values: readonly number[]): number {
  for (let d = 0; d < MAX_LABEL_DECIMALS; d++) {
    const scale = 10 ** d;
    if (values.every((v) => Math.abs(Math.round(v * scale) / scale - v) <= 1e-9 * Math.max(1, Math.abs(v)))) return d;
  }
  return MAX_LABEL_DECIMALS;
}

const clampDecimals = (d: number): number => Math.min(MAX_LABEL_DECIMALS, Math.max(0, d));

/**
 * Bucket labels of a numeric feature's PSI bins, every edge printed whole at one number of decimals
 * for the feature: one digit finer than the smallest gap between edges (so adjacent labels differ),
 * at least two significant digits of the smallest edge, and never more than the edges carry.
 */
export function numericBinLabels(edges: readonly number[]): string[] {
  if (edges.length === 0) return ['all'];
  let gap = Infinity;
  for (let i = 1; i < edges.length; i++) gap = Math.min(gap, edges[i]! - edges[i - 1]!);
  const nonzero = edges.filter((e) => e !== 0).map(Math.abs);
  const byGap = gap > 0 && Number.isFinite(gap) ? clampDecimals(clampDecimals(-Math.floor(Math.log10(gap))) + 1) : 1;
  const bySize = nonzero.length ? clampDecimals(1 - Math.floor(Math.log10(Math.min(...nonzero)))) : 0;
  const decimals = Math.min(exactDecimals(edges), Math.max(byGap, bySize));
  const text = (x: number): string => {
    const s = x.toFixed(decimals);
    return Number(s) === 0 ? s.replace(/^-/, '') : s;
  };
  return [
    `≤ ${text(edges[0]!)}`,
    ...edges.slice(1).map((e, i) => `${text(edges[i]!)} – ${text(e)}`),
    `> ${text(edges[edges.length - 1]!)}`,
  ];
}

export function numericAccumulator(profile: NumericProfile, spec?: { min?: number; max?: number }): FeatureAccumulator {
  const edges = Float64Array.from(profile.edges);
  const ref = referenceIndex(profile.sample);
  const m = ref.values.length;
  // One grid lookup per value finds its KS slot; the slot's PSI bin is known in advance except for
  // the few gaps an edge cuts through, whose values are binned on their own into `cutBins`.
  const slots = new Float64Array(2 * m + 1);
  const binOfSlot = slotBins(ref, edges);
  const cutBins = new Float64Array(edges.length + 1);
  const lo = spec?.min ?? -Infinity,
    hi = spec?.max ?? Infinity;
  let rows = 0,
    missing = 0,
    outOfRange = 0;
  return {
    add(column, source) {
      if (column.kind !== 'numeric') throw kindError(source, profile.name, 'numeric', column.kind);
      const v = column.values;
      rows += v.length;
      for (let i = 0; i < v.length; i++) {
        const x = v[i]!;
        if (Number.isNaN(x)) {
          missing++;
          continue;
        }
        if (x < lo || x > hi) outOfRange++;
        const slot = slotOf(ref, x); // O(1) expected: V8 inlines it here
        slots[slot]! += 1;
        if (binOfSlot[slot]! < 0) cutBins[binIndex(edges, x)]! += 1;
      }
    },
    counts: () => ({ kind: 'numeric', rows, missing, outOfRange, slots, cutBins }),
    merge(c) {
      if (c.kind !== 'numeric') throw new Error(`internal: merging ${c.kind} counts into numeric "${profile.name}"`);
      rows += c.rows;
      missing += c.missing;
      outOfRange += c.outOfRange;
      addTo(slots, c.slots);
      addTo(cutBins, c.cutBins);
    },
    finish() {
      const labels = numericBinLabels(profile.edges);
      const bins = Array.from(cutBins);
      for (let s = 0; s < slots.length; s++) if (binOfSlot[s]! >= 0) bins[binOfSlot[s]!]! += slots[s]!;
      const dist = withMissing(labels, profile.bin_counts, bins, profile.missing, missing);
      const present = rows - missing;
      const test =
        present > 0 && m > 0
          ? (() => {
              const { d, n1, n2 } = ksStatisticFromCounts(ref.counts, slots);
              return ksPValue(d, n1, n2);
            })()
          : null;
      return {
        name: profile.name,
        type: 'numeric',
        rows,
        psi: psi(dist.baseline, dist.current),
        ks_statistic: test?.statistic ?? null,
        ks_pvalue: test?.pvalue ?? null,
        js_distance: jensenShannon(dist.baseline, dist.current),
        missing_rate: rows ? missing / rows : 0,
        baseline_missing_rate: profile.missing_rate,
        missing_rate_change: (rows ? missing / rows : 0) - profile.missing_rate,
        out_of_range: outOfRange,
        unseen: null,
        unseen_categories: null,
        distribution: dist,
      };
    },
  };
}

function categoryAccumulator(profile: CategoryProfile, spec?: { values?: readonly string[] }): FeatureAccumulator {
  const known = new Map(profile.categories.map((c, i) => [c, i]));
  const allowed = spec?.values ? new Set(spec.values) : null;
  const counts = new Float64Array(profile.categories.length);
  const unseenNames = new UnseenNames();
  let rows = 0,
    missing = 0,
    unseen = 0,
    outOfList = 0;
  return {
    add(column, source, at = 0) {
      rows += column.kind === 'categorical' ? column.codes.length : column.values.length;
      if (profile.type === 'boolean') {
        if (column.kind !== 'numeric') throw kindError(source, profile.name, 'boolean', column.kind);
        const { zeros, ones, nan } = booleanCounts(column.values);
        counts[0]! += zeros;
        counts[1]! += ones;
        missing += nan;
        unseen += column.values.length - zeros - ones - nan;
        outOfList += column.values.length - zeros - ones - nan;
        return;
      }
      if (column.kind === 'text') {
        // The CSV shell reads categoricals as text so values outside the signature's list survive as themselves.
        const values = column.values;
        for (let r = 0; r < values.length; r++) {
          const v = values[r]!;
          if (v === '') {
            missing++;
            continue;
          }
          if (allowed && !allowed.has(v)) outOfList++;
          const s = known.get(v);
          if (s !== undefined) counts[s]! += 1;
          else {
            unseen++;
            unseenNames.note(v, at + r);
          }
        }
        return;
      }
      if (column.kind !== 'categorical') throw kindError(source, profile.name, 'categorical', column.kind);
      // Count codes first (a branch-free bincount), then map chunk-local categories to baseline slots:
      // per value only an increment, per category the lookups.
      const raw = new Float64Array(column.categories.length + 1);
      const codes = column.codes;
      for (let i = 0; i < codes.length; i++) raw[codes[i]! + 1]! += 1;
      missing += raw[0]!;
      const firstSeen: [string, number][] = [];
      column.categories.forEach((c, code) => {
        const n = raw[code + 1]!;
        if (n === 0) return;
        if (allowed && !allowed.has(c)) outOfList += n;
        const s = known.get(c);
        if (s !== undefined) counts[s]! += n;
        else {
          unseen += n;
          if (unseenNames.wants(c)) firstSeen.push([c, at + codes.indexOf(code)]);
        }
      });
      // Named in the order of their first rows, as the text path meets them.
      for (const [c, where] of firstSeen.sort((a, b) => a[1] - b[1])) unseenNames.note(c, where);
    },
    counts: () => ({ kind: 'category', rows, missing, unseen, outOfList, counts, unseenNames: unseenNames.entries() }),
    merge(c) {
      if (c.kind !== 'category') throw new Error(`internal: merging ${c.kind} counts into category "${profile.name}"`);
      rows += c.rows;
      missing += c.missing;
      unseen += c.unseen;
      outOfList += c.outOfList;
      addTo(counts, c.counts);
      unseenNames.merge(c.unseenNames);
    },
    finish() {
      const withUnseen = unseen > 0;
      const buckets = withUnseen ? [...profile.categories, UNSEEN_BUCKET] : [...profile.categories];
      const base = withUnseen ? [...profile.counts, 0] : [...profile.counts];
      const cur = withUnseen ? [...counts, unseen] : [...counts];
      const dist = withMissing(buckets, base, cur, profile.missing, missing);
      return {
        name: profile.name,
        type: profile.type,
        rows,
        psi: psi(dist.baseline, dist.current),
        ks_statistic: null,
        ks_pvalue: null,
        js_distance: jensenShannon(dist.baseline, dist.current),
        missing_rate: rows ? missing / rows : 0,
        baseline_missing_rate: profile.missing_rate,
        missing_rate_change: (rows ? missing / rows : 0) - profile.missing_rate,
        out_of_range: outOfList,
        unseen,
        unseen_categories: unseenNames.first(),
        distribution: dist,
      };
    },
  };
}

export function featureAccumulator(profile: FeatureProfile, spec?: FeatureSpec): FeatureAccumulator {
  if (spec && spec.type !== profile.type) {
    throw new InvalidInputError(
      `baseline profile: feature "${profile.name}" is ${profile.type} but the model signature says ${spec.type}`,
      [{ field: profile.name, issue: 'type differs from signature' }],
    );
  }
  if (profile.type === 'numeric') return numericAccumulator(profile, spec?.type === 'numeric' ? spec : undefined);
  return categoryAccumulator(profile, spec?.type === 'categorical' ? spec : undefined);
}
