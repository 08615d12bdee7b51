// A model version's signature as validators: zod schemas for JSON instances (online requests,
// JSON-lines files) and column specs for CSV files, so both paths check the same rules.
import { z } from 'zod';
import { shownValue } from '../errors/index.ts';
import type { ColumnSpec } from '../data/index.ts';
import type { Signature } from '../registry/index.ts';

type FeatureSpec = Signature['features'][number];

export interface InstanceSchemaOptions {
  /**
   * What a field that is not a feature does. `reject` for online requests: a misspelt nullable
   * feature would otherwise score silently as missing. `ignore` for files, which carry extra
   * columns (targets, other data) just as a CSV header may.
   */
  unknown: 'reject' | 'ignore';
  /** Require the signature's id column (files: it keys the output rows). */
  requireId?: boolean;
}

function missingOr(expected: string) {
  return (iss: { input?: unknown }) =>
    iss.input === undefined || iss.input === null
      ? 'missing value (feature is not nullable)'
      : `expected ${expected}, got ${shownValue(iss.input)}`;
}

function rangeText(f: { min?: number; max?: number }): string {
  if (f.min !== undefined && f.max !== undefined) return `between ${f.min} and ${f.max}`;
  return f.min !== undefined ? `at least ${f.min}` : `at most ${f.max}`;
}

/** The value schema of one feature; its output is a number (numeric, boolean as 0/1) or a category string. */
function featureValueSchema(f: FeatureSpec): z.ZodType<number | string | null | undefined> {
  let base: z.ZodType<number | string>;
  if (f.type === 'numeric') {
    let n = z.number({ error: missingOr('a number') });
    const range = `value out of range (expected ${rangeText(f)})`;
    if (f.min !== undefined) n = n.min(f.min, { error: range });
    if (f.max !== undefined) n = n.max(f.max, { error: range });
    base = n;
  } else if (f.type === 'boolean') {
    base = z
      .union([z.boolean(), z.literal(0), z.literal(1)], { error: missingOr('true, false, 0 or 1') })
      .transform((v) => (v === true || v === 1 ? 1 : 0));
  } else {
    base = z.enum(f.values as [string, ...string[]], { error: missingOr(`one of ${f.values.join('|')}`) });
  }
  return f.nullable ? base.nullable().optional() : base;
}

export type Instance = Record<string, number | string | null | undefined>;

/** The zod schema of one instance under `signature`. */
export function instanceSchema(signature: Signature, opts: InstanceSchemaOptions): z.ZodType<Instance> {
  const shape: Record<string, z.ZodType<number | string | null | undefined>> = {};
  for (const f of signature.features) shape[f.name] = featureValueSchema(f);
  if (opts.requireId) {
    shape[signature.id_column] = z
      .union([z.string().min(1), z.number()], { error: missingOr('a string or number id') })
      .transform((v) => String(v));
  } else if (opts.unknown === 'reject') {
    // The id may ride along in a request (clients keep their rows keyed); it is not scored.
    shape[signature.id_column] = z.unknown().optional() as z.ZodType<undefined>;
  }
  const obj = z.object(shape, {
    error: (iss) => (iss.code === 'invalid_type' ? `expected an object, got ${shownValue(iss.input)}` : undefined),
  });
  return (opts.unknown === 'reject' ? obj.strict() : obj.strip()) as unknown as z.ZodType<Instance>;
}

/** Column specs for reading a CSV file against `signature`: the id column as text, then the features. */
export function columnSpecs(signature: Signature): ColumnSpec[] {
  return [
    { name: signature.id_column, type: 'text', nullable: false },
    ...signature.features.map(
      (f): ColumnSpec => ({
        name: f.name,
        type: f.type,
        nullable: f.nullable,
        ...(f.type === 'categorical' ? { values: f.values } : {}),
        ...(f.type === 'numeric' ? { min: f.min, max: f.max } : {}),
      }),
    ),
  ];
}
