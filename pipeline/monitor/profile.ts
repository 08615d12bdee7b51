// The baseline profile: what "normal" looked like for each feature and for the predictions,
// saved as JSON with each model version at training (or built from a reference file for a model
// this pipeline did not train). The monitor compares every batch against it.
import { z } from 'zod';
import type { DerivedFeature, FeatureSpec } from '../config/index.ts';
import { InvalidInputError, zodDetails } from '../errors/index.ts';
import type { Table } from '../data/index.ts';
import { derivedValues } from '../train/index.ts';
import { quantileEdges, binIndex } from './stats.ts';

export const PROFILE_FORMAT = 'mltk.baseline/1';
export const DEFAULT_BINS = 10;
/**
 * Cap on the stored reference sample for exact KS. Above it the sample is the cap's evenly spaced
 * order statistics of the sorted values (sorted[floor((i + 0.5)·n/cap)]): deterministic, and
 * within 1/(2·cap) of the full empirical CDF everywhere, so KS D moves by at most 2.5e-5.
 */
export const SAMPLE_CAP = 20_000;
const BOOLEAN_CATEGORIES = ['false', 'true'] as const;

const count = z.number().int().min(0);
const common = { name: z.string().min(1), count, missing: count, missing_rate: z.number().min(0).max(1) };

const numericProfileSchema = z
  .object({
    ...common,
    type: z.literal('numeric'),
    min: z.number().nullable(),
    max: z.number().nullable(),
    edges: z.array(z.number()),
    bin_counts: z.array(count),
    sample: z.array(z.number()),
  })
  .refine((p) => p.bin_counts.length === p.edges.length + 1, {
    message: 'bin_counts must have one more entry than edges',
    path: ['bin_counts'],
  })
  .refine((p) => p.sample.every((v, i) => i === 0 || p.sample[i - 1]! <= v), {
    message: 'sample must be sorted ascending',
    path: ['sample'],
  });

const categoryProfileSchema = z
  .object({
    ...common,
    type: z.enum(['categorical', 'boolean']),
    categories: z.array(z.string()),
    counts: z.array(count),
  })
  .refine((p) => p.counts.length === p.categories.length, {
    message: 'counts must match categories',
    path: ['counts'],
  });

const featureProfileSchema = z.union([numericProfileSchema, categoryProfileSchema]);

export const baselineProfileSchema = z.object({
  format: z.literal(PROFILE_FORMAT),
  source: z.enum(['training', 'reference']),
  rows: count,
  features: z.array(featureProfileSchema).min(1),
  prediction: numericProfileSchema.nullable(),
});

export type NumericProfile = z.infer<typeof numericProfileSchema>;
export type CategoryProfile = z.infer<typeof categoryProfileSchema>;
export type FeatureProfile = z.infer<typeof featureProfileSchema>;
export type BaselineProfile = z.infer<typeof baselineProfileSchema>;

/** Parses a stored profile (JSON text or an already-parsed value); `source` names the file or key in errors. */
export function parseBaselineProfile(json: unknown, source: string): BaselineProfile {
  let raw = json;
  if (typeof json === 'string' || json instanceof Uint8Array) {
    try {
      raw = JSON.parse(typeof json === 'string' ? json : Buffer.from(json).toString('utf8'));
    } catch (e) {
      throw new InvalidInputError(`${source}: baseline profile is not valid JSON (${(e as Error).message})`, [], {
        cause: e,
      });
    }
  }
  const parsed = baselineProfileSchema.safeParse(raw);
  if (!parsed.success) {
    const details = zodDetails(parsed.error.issues);
    throw new InvalidInputError(
      `${source}: invalid baseline profile: ${details.map((d) => `${d.field}: ${d.issue}`).join('; ')}`,
      details,
    );
  }
  return parsed.data;
}

/** Deterministic ≤ cap subsample of sorted values: evenly spaced order statistics. */
export function capSorted(sorted: Float64Array, cap = SAMPLE_CAP): Float64Array {
  const n = sorted.length;
  if (n <= cap) return sorted;
  const out = new Float64Array(cap);
  for (let i = 0; i < cap; i++) out[i] = sorted[Math.floor(((i + 0.5) * n) / cap)]!;
  return out;
}

export function profileNumeric(name: string, values: Float64Array, bins = DEFAULT_BINS): NumericProfile {
  const present = new Float64Array(values.length);
  let k = 0;
  for (let i = 0; i < values.length; i++) if (!Number.isNaN(values[i]!)) present[k++] = values[i]!;
  const sorted = present.subarray(0, k).sort();
  const edges = quantileEdges(sorted, bins);
  const binCounts = new Array<number>(edges.length + 1).fill(0);
  for (let i = 0; i < k; i++) binCounts[binIndex(edges, sorted[i]!)]! += 1;
  const missing = values.length - k;
  return {
    name,
    type: 'numeric',
    count: values.length,
    missing,
    missing_rate: values.length ? missing / values.length : 0,
    min: k ? sorted[0]! : null,
    max: k ? sorted[k - 1]! : null,
    edges,
    bin_counts: binCounts,
    sample: Array.from(capSorted(sorted)),
  };
}

function profileColumn(table: Table, spec: FeatureSpec, source: string, bins: number): FeatureProfile {
  const col = table.columns.get(spec.name);
  if (!col)
    throw new InvalidInputError(`${source}: no column "${spec.name}"`, [{ field: spec.name, issue: 'missing column' }]);
  if (spec.type === 'numeric' || spec.type === 'boolean') {
    if (col.kind !== 'numeric')
      throw new InvalidInputError(`${source}: column "${spec.name}" should be ${spec.type}, found ${col.kind}`, [
        { field: spec.name, issue: `expected ${spec.type}` },
      ]);
    if (spec.type === 'numeric') return profileNumeric(spec.name, col.values, bins);
    const counts = [0, 0];
    let missing = 0;
    for (const v of col.values) {
      if (Number.isNaN(v)) missing++;
      else counts[v ? 1 : 0]! += 1;
    }
    return {
      name: spec.name,
      type: 'boolean',
      count: table.rows,
      missing,
      missing_rate: table.rows ? missing / table.rows : 0,
      categories: [...BOOLEAN_CATEGORIES],
      counts,
    };
  }
  if (col.kind !== 'categorical')
    throw new InvalidInputError(`${source}: column "${spec.name}" should be categorical, found ${col.kind}`, [
      { field: spec.name, issue: 'expected categorical' },
    ]);
  const categories = [...spec.values, ...col.categories.filter((c) => !spec.values.includes(c))];
  const slot = col.categories.map((c) => categories.indexOf(c));
  const counts = new Array<number>(categories.length).fill(0);
  let missing = 0;
  for (const code of col.codes) {
    if (code < 0) missing++;
    else counts[slot[code]!]! += 1;
  }
  return {
    name: spec.name,
    type: 'categorical',
    count: table.rows,
    missing,
    missing_rate: table.rows ? missing / table.rows : 0,
    categories,
    counts,
  };
}

interface ProfileInput {
  table: Table;
  features: readonly FeatureSpec[];
  /** Profiled after the features, as numeric features: they are inputs of the model too. */
  derived: readonly DerivedFeature[];
  predictions: Float64Array | null;
}

function buildProfile(input: ProfileInput, source: BaselineProfile['source'], label: string): BaselineProfile {
  const { table, features, derived, predictions } = input;
  if (table.rows === 0) throw new InvalidInputError(`${label}: cannot build a baseline profile from zero rows`);
  if (predictions && predictions.length !== table.rows)
    throw new InvalidInputError(`${label}: ${predictions.length} predictions for ${table.rows} rows`);
  const derivedColumns = derivedValues(derived, table);
  return {
    format: PROFILE_FORMAT,
    source,
    rows: table.rows,
    features: [
      ...features.map((f) => profileColumn(table, f, label, DEFAULT_BINS)),
      ...derived.map((d) => profileNumeric(d.name, derivedColumns.get(d.name)!)),
    ],
    prediction: predictions ? profileNumeric('prediction', predictions) : null,
  };
}

/**
 * The profile saved with a model version at training: the training table, its derived features and the model's
 * predictions on it.
 */
export function buildBaselineProfile(
  table: Table,
  features: readonly FeatureSpec[],
  predictions: Float64Array,
  derived: readonly DerivedFeature[] = [],
): BaselineProfile {
  return buildProfile({ table, features, derived, predictions }, 'training', 'training data');
}

/**
 * A profile for a model this pipeline did not train: a reference data file and its feature list;
 * predictions are profiled when the reference file carries them (pass them, e.g. its output column).
 */
export function profileFromReference(
  table: Table,
  features: readonly FeatureSpec[],
  predictions: Float64Array | null = null,
  source = 'reference data',
  derived: readonly DerivedFeature[] = [],
): BaselineProfile {
  return buildProfile({ table, features, derived, predictions }, 'reference', source);
}
