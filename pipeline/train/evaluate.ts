// Regression metrics for a test set, optionally broken down by a grouping: the config's evaluation
// segment (e.g. SAP band of current_sap).
import { BOOLEAN_SEGMENTS, type FeatureSpec, type Segment } from '../config/index.ts';
import type { Column } from '../data/index.ts';
import { InvalidInputError } from '../errors/index.ts';

/** Bias is the mean of prediction − truth: positive when the model overshoots. */
export interface GroupMetrics {
  rows: number;
  rmse: number;
  mae: number;
  bias: number;
}
export interface Evaluation {
  rows: number;
  rmse: number;
  mae: number;
  bias: number;
  r2: number;
  by_group?: Record<string, GroupMetrics>;
  /** Why each metric above that is NaN could not be computed. */
  undefined_metrics?: Record<string, string>;
}

export interface RecordableMetrics {
  metrics: Record<string, number>;
  undefined_metrics: Record<string, string>;
}

/** The metrics that are numbers, and the reasons for the ones that are not (manifests hold no NaN). */
export function recordableMetrics(ev: Evaluation): RecordableMetrics {
  const metrics: Record<string, number> = {};
  const reasons: Record<string, string> = {};
  for (const [name, value] of Object.entries({ rmse: ev.rmse, mae: ev.mae, r2: ev.r2 })) {
    if (Number.isFinite(value)) metrics[name] = value;
    else reasons[name] = ev.undefined_metrics?.[name] ?? `it is ${value}`;
  }
  return { metrics, undefined_metrics: reasons };
}

/** Rows whose true value or prediction is NaN are left out. */
export function evaluate(yTrue: Float64Array, yPred: Float64Array, groups?: Groups): Evaluation {
  let n = 0,
    se = 0,
    ae = 0,
    sum = 0,
    diff = 0;
  for (let i = 0; i < yTrue.length; i++) {
    const y = yTrue[i]!,
      p = yPred[i]!;
    if (Number.isNaN(y) || Number.isNaN(p)) continue;
    n++;
    se += (p - y) ** 2;
    ae += Math.abs(p - y);
    sum += y;
    diff += p - y;
  }
  const mean = n ? sum / n : NaN;
  let ss = 0;
  for (let i = 0; i < yTrue.length; i++) {
    const y = yTrue[i]!;
    if (!Number.isNaN(y) && !Number.isNaN(yPred[i]!)) ss += (y - mean) ** 2;
  }
  const out: Evaluation = {
    rows: n,
    rmse: Math.sqrt(se / n),
    mae: ae / n,
    bias: diff / n,
    r2: ss > 0 ? 1 - se / ss : NaN,
  };
  if (n === 0) {
    const why = 'no held-out row has both a target and a prediction';
    out.undefined_metrics = { rmse: why, mae: why, r2: why };
  } else if (!(ss > 0)) {
    // R² = 1 − SSE/SST has no value when SST is 0 (scikit-learn substitutes 1 or 0 by convention; we say why instead).
    out.undefined_metrics = {
      r2: `the held-out target is constant (all ${n} rows are ${mean}): R² divides by its variance, which is 0`,
    };
  }
  if (groups) {
    const k = groups.labels.length;
    const rows = new Float64Array(k),
      gse = new Float64Array(k),
      gae = new Float64Array(k),
      gdiff = new Float64Array(k);
    for (let i = 0; i < yTrue.length; i++) {
      const c = groups.codes[i]!;
      const y = yTrue[i]!,
        p = yPred[i]!;
      if (c < 0 || c >= k || Number.isNaN(y) || Number.isNaN(p)) continue;
      rows[c]!++;
      gse[c]! += (p - y) ** 2;
      gae[c]! += Math.abs(p - y);
      gdiff[c]! += p - y;
    }
    out.by_group = {};
    groups.labels.forEach((label, c) => {
      const m = rows[c]!;
      if (m > 0)
        out.by_group![label] = { rows: m, rmse: Math.sqrt(gse[c]! / m), mae: gae[c]! / m, bias: gdiff[c]! / m };
    });
  }
  return out;
}

export interface Groups {
  name: string;
  labels: string[];
  codes: Int32Array;
}

export { BOOLEAN_SEGMENTS };

/**
 * Group codes (index into `labels`; -1 where the value is missing or in no segment) of the config's
 * evaluation segment for one column, for `evaluate`. Numeric columns are cut at the segment's edges;
 * categorical and boolean ones (`feature` gives the listed values) have one group per value.
 */
export function segmentGroups(segment: Segment, column: Column, feature?: FeatureSpec): Groups {
  const { edges, labels } = segment;
  if (edges && labels) {
    if (column.kind !== 'numeric')
      throw new InvalidInputError(
        `segment "${segment.name}": column "${segment.column}" is ${column.kind}, expected numeric`,
      );
    const codes = Int32Array.from(column.values, (v) => (Number.isNaN(v) ? -1 : bandOf(edges, v)));
    return { name: segment.name, labels, codes };
  }
  if (feature?.type === 'boolean' && column.kind === 'numeric') {
    const codes = Int32Array.from(column.values, (v) => (v === 0 ? 0 : v === 1 ? 1 : -1));
    return { name: segment.name, labels: BOOLEAN_SEGMENTS, codes };
  }
  if (feature?.type !== 'categorical')
    throw new InvalidInputError(
      `segment "${segment.name}": column "${segment.column}" needs edges or a categorical or boolean feature`,
    );
  const index = new Map(feature.values.map((v, i) => [v, i] as const));
  if (column.kind === 'categorical') {
    const slot = column.categories.map((c) => index.get(c) ?? -1);
    return {
      name: segment.name,
      labels: feature.values,
      codes: Int32Array.from(column.codes, (c) => (c < 0 ? -1 : slot[c]!)),
    };
  }
  if (column.kind === 'text')
    return {
      name: segment.name,
      labels: feature.values,
      codes: Int32Array.from(column.values, (v) => index.get(v) ?? -1),
    };
  throw new InvalidInputError(`segment "${segment.name}": column "${segment.column}" is numeric, expected categorical`);
}

/** Band of v: the number of edges at or below it (a value on an edge belongs to the band above). */
function bandOf(edges: readonly number[], v: number): number {
  let lo = 0,
    hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (edges[mid]! <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
