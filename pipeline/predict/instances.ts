// JSON instances (request bodies, JSON-lines records) → the same validated columnar chunk the
// CSV reader yields: typed columns, per-cell issues and a bad-row mask.
import type { z } from 'zod';
import { RECORD_FIELD, type Column, type RowIssue, type TableChunk } from '../data/index.ts';
import type { Signature } from '../registry/index.ts';
import type { Instance } from './signature.ts';

type Builder = (r: number, v: number | string | null | undefined) => void;

interface ColumnBuilders {
  columns: Map<string, Column>;
  set: Map<string, Builder>;
}

function builders(signature: Signature, rows: number, withId: boolean): ColumnBuilders {
  const columns = new Map<string, Column>();
  const set = new Map<string, Builder>();
  if (withId) {
    const values = new Array<string>(rows).fill('');
    columns.set(signature.id_column, { kind: 'text', values });
    set.set(signature.id_column, (r, v) => {
      values[r] = v === null || v === undefined ? '' : String(v);
    });
  }
  for (const f of signature.features) {
    if (f.type === 'categorical') {
      const codes = new Int32Array(rows).fill(-1);
      const index = new Map(f.values.map((c, k) => [c, k] as const));
      columns.set(f.name, { kind: 'categorical', codes, categories: [...f.values] });
      set.set(f.name, (r, v) => {
        codes[r] = typeof v === 'string' ? (index.get(v) ?? -1) : -1;
      });
    } else {
      const values = new Float64Array(rows).fill(NaN);
      columns.set(f.name, { kind: 'numeric', values });
      set.set(f.name, (r, v) => {
        values[r] = typeof v === 'number' ? v : NaN;
      });
    }
  }
  return { columns, set };
}

/** zod issues of one record → row issues, one per field (unknown keys are listed one by one). */
function recordIssues(row: number, issues: readonly z.core.$ZodIssue[]): RowIssue[] {
  const out: RowIssue[] = [];
  for (const iss of issues) {
    if (iss.code === 'unrecognized_keys') {
      for (const key of iss.keys) out.push({ row, field: key, issue: 'unknown field (not a feature of this model)' });
    } else {
      out.push({ row, field: iss.path.length ? iss.path.map(String).join('.') : RECORD_FIELD, issue: iss.message });
    }
  }
  return out;
}

/**
 * Validates `records` against `schema` into a chunk whose rows are numbered from `firstRow`.
 * `undefined` in `records` stands for a line that was not JSON (`notJson` says why).
 */
export function instancesToChunk(
  signature: Signature,
  schema: z.ZodType<Instance>,
  records: readonly unknown[],
  firstRow: number,
  opts: { withId: boolean; notJson?: readonly (string | undefined)[] },
): TableChunk {
  const rows = records.length;
  const { columns, set } = builders(signature, rows, opts.withId);
  const issues: RowIssue[] = [];
  const bad = new Uint8Array(rows);
  for (let r = 0; r < rows; r++) {
    const broken = opts.notJson?.[r];
    if (broken !== undefined) {
      issues.push({ row: firstRow + r, field: RECORD_FIELD, issue: broken });
      bad[r] = 1;
      continue;
    }
    const parsed = schema.safeParse(records[r]);
    if (!parsed.success) {
      issues.push(...recordIssues(firstRow + r, parsed.error.issues));
      bad[r] = 1;
      continue;
    }
    for (const [name, fill] of set) fill(r, parsed.data[name]);
  }
  return { table: { rows, columns }, firstRow, issues, bad };
}
