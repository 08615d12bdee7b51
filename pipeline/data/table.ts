// The in-memory columnar table every stage shares (trainer, monitor, predictor):
// typed arrays per column, no per-row objects.

/** Numeric and boolean columns: float64 values, NaN = missing. Booleans hold 0/1. */
export interface NumericColumn {
  kind: 'numeric';
  values: Float64Array;
}

/** Categorical columns: int32 codes into `categories`, -1 = missing (empty cell). */
export interface CategoricalColumn {
  kind: 'categorical';
  codes: Int32Array;
  categories: string[];
}

/** Free text kept as-is (ids). */
export interface TextColumn {
  kind: 'text';
  values: string[];
}

export type Column = NumericColumn | CategoricalColumn | TextColumn;

export interface Table {
  rows: number;
  columns: Map<string, Column>;
}

export type ColumnType = 'numeric' | 'boolean' | 'categorical' | 'text';

export interface ColumnSpec {
  name: string;
  type: ColumnType;
  nullable?: boolean;
  values?: readonly string[];
  /**
   * Categorical: a value not in `values` is no issue but a category of its own, coded after them (the
   * chunk's column lists it after `values`): for readers that count such values, as the monitor does.
   */
  keepUnlisted?: boolean;
  min?: number;
  max?: number;
}

/** The range a spec allows, as issue texts say it ("between 0 and 10"). */
export function describeRange(spec: ColumnSpec): string {
  if (spec.min !== undefined && spec.max !== undefined) return `between ${spec.min} and ${spec.max}`;
  if (spec.min !== undefined) return `at least ${spec.min}`;
  return `at most ${spec.max}`;
}

/** The `field` of an issue about a whole CSV row (its field count), not one of its cells. */
export const ROW_FIELD = '(row)';

export interface RowIssue {
  row: number;
  field: string;
  issue: string;
}

export interface TableChunk {
  table: Table;
  /** 1-based data row number of the chunk's first row. */
  firstRow: number;
  /** One entry per bad cell, in row order. */
  issues: RowIssue[];
  /** 1 where the row has at least one issue. */
  bad: Uint8Array;
}

export function numericColumn(table: Table, name: string): Float64Array {
  const col = table.columns.get(name);
  if (col?.kind !== 'numeric') throw new Error(`table has no numeric column "${name}"`);
  return col.values;
}

/** Rows `indices` of every column, in that order: how train/test splits are cut. */
export function takeRows(table: Table, indices: Int32Array | number[]): Table {
  const n = indices.length;
  const columns = new Map<string, Column>();
  for (const [name, col] of table.columns) {
    if (col.kind === 'numeric') {
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = col.values[indices[i]!]!;
      columns.set(name, { kind: 'numeric', values: out });
    } else if (col.kind === 'categorical') {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = col.codes[indices[i]!]!;
      columns.set(name, { kind: 'categorical', codes: out, categories: col.categories });
    } else {
      const out = new Array<string>(n);
      for (let i = 0; i < n; i++) out[i] = col.values[indices[i]!]!;
      columns.set(name, { kind: 'text', values: out });
    }
  }
  return { rows: n, columns };
}
