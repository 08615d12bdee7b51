// CSV → typed columnar Tables, validated against a column spec (a model signature or a
// config's columns). Streaming: chunks of rows, each with the rows that failed and why,
// so batch scoring can route bad rows aside while training refuses the file outright.
import type { Readable } from 'node:stream';
import { InvalidInputError, type ErrorDetail } from '../errors/index.ts';
import { openCsv, parseNumberBytes, fieldText, matchBytes, type CsvChunk } from './csv.ts';
import type { Column, Table } from './table.ts';

export type ColumnType = 'numeric' | 'boolean' | 'categorical' | 'text';

export interface ColumnSpec {
  name: string;
  type: ColumnType;
  nullable?: boolean;
  values?: readonly string[];
  min?: number;
  max?: number;
}

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

export interface ReadTableOptions {
  source: string;
  chunkRows?: number;
}

/** Checks the header against the spec; every missing column is named at once. */
function columnIndexes(header: string[], specs: readonly ColumnSpec[], source: string): number[] {
  const missing = specs.filter((s) => !header.includes(s.name)).map((s) => s.name);
  if (missing.length) {
    throw new InvalidInputError(
      `${source}: missing column${missing.length > 1 ? 's' : ''} ${missing.map((m) => `"${m}"`).join(', ')} (header has: ${header.join(', ')})`,
      missing.map((m) => ({ row: 0, field: m, issue: 'missing column' })),
    );
  }
  return specs.map((s) => header.indexOf(s.name));
}

export function describeRange(spec: ColumnSpec): string {
  if (spec.min !== undefined && spec.max !== undefined) return `between ${spec.min} and ${spec.max}`;
  if (spec.min !== undefined) return `at least ${spec.min}`;
  return `at most ${spec.max}`;
}

/** Converts one chunk's cells of one column; records issues into `issues` and `bad`. */
function convertColumn(chunk: CsvChunk, col: number, spec: ColumnSpec, issues: RowIssue[], bad: Uint8Array): Column {
  const { rows, cols, starts, ends, buf } = chunk;
  const note = (r: number, issue: string) => { issues.push({ row: chunk.firstRow + r, field: spec.name, issue }); bad[r] = 1; };
  if (spec.type === 'numeric' || spec.type === 'boolean') {
    const values = new Float64Array(rows);
    const hasRange = spec.type === 'numeric' && (spec.min !== undefined || spec.max !== undefined);
    const lo = spec.min ?? -Infinity;
    const hi = spec.max ?? Infinity;
    for (let r = 0; r < rows; r++) {
      const i = r * cols + col;
      const s = starts[i]!;
      const e = ends[i]!;
      if (s === e) {
        values[r] = NaN;
        if (!spec.nullable) note(r, 'missing value (column is not nullable)');
        continue;
      }
      const v = parseNumberBytes(buf, s, e);
      if (Number.isNaN(v)) { values[r] = NaN; note(r, `expected a number, got "${fieldText(chunk, i).slice(0, 40)}"`); continue; }
      if (spec.type === 'boolean' && v !== 0 && v !== 1) { values[r] = NaN; note(r, `expected 0 or 1, got "${fieldText(chunk, i).slice(0, 40)}"`); continue; }
      if (hasRange && (v < lo || v > hi)) note(r, `value ${v} out of range (expected ${describeRange(spec)})`);
      values[r] = v;
    }
    return { kind: 'numeric', values };
  }
  if (spec.type === 'categorical') {
    const categories = [...(spec.values ?? [])];
    const encoded = categories.map((c) => Buffer.from(c, 'utf8'));
    const codes = new Int32Array(rows);
    for (let r = 0; r < rows; r++) {
      const i = r * cols + col;
      const s = starts[i]!;
      const len = ends[i]! - s;
      if (len === 0) {
        codes[r] = -1;
        if (!spec.nullable) note(r, 'missing value (column is not nullable)');
        continue;
      }
      // Few categories per column: comparing bytes beats decoding a string per cell.
      let code = matchBytes(buf, s, len, encoded);
      if (code < 0 && chunk.escaped[i]) code = categories.indexOf(fieldText(chunk, i));
      if (code < 0) note(r, `value "${fieldText(chunk, i).slice(0, 40)}" is not one of ${categories.join('|')}`);
      codes[r] = code;
    }
    return { kind: 'categorical', codes, categories };
  }
  const values = new Array<string>(rows);
  for (let r = 0; r < rows; r++) {
    const i = r * cols + col;
    values[r] = fieldText(chunk, i);
    if (values[r] === '' && !spec.nullable) note(r, 'missing value (column is not nullable)');
  }
  return { kind: 'text', values };
}

export interface CsvTableReader {
  header: string[];
  chunks: AsyncGenerator<TableChunk>;
}

/** Opens a CSV and checks its header; chunks then stream validated Tables. */
export async function openCsvTables(input: Readable | AsyncIterable<Buffer>, specs: readonly ColumnSpec[], opts: ReadTableOptions): Promise<CsvTableReader> {
  const csv = await openCsv(input, opts);
  const idx = columnIndexes(csv.header, specs, opts.source);
  async function* chunks(): AsyncGenerator<TableChunk> {
    for await (const chunk of csv.chunks) {
      const issues: RowIssue[] = [];
      const bad = new Uint8Array(chunk.rows);
      const columns = new Map<string, Column>();
      specs.forEach((spec, k) => columns.set(spec.name, convertColumn(chunk, idx[k]!, spec, issues, bad)));
      issues.sort((a, b) => a.row - b.row);
      yield { table: { rows: chunk.rows, columns }, firstRow: chunk.firstRow, issues, bad };
    }
  }
  return { header: csv.header, chunks: chunks() };
}

/** Stacks chunk tables column by column. */
export function concatTables(parts: Table[], specs: readonly ColumnSpec[]): Table {
  const rows = parts.reduce((n, t) => n + t.rows, 0);
  const columns = new Map<string, Column>();
  for (const spec of specs) {
    const cols = parts.map((t) => t.columns.get(spec.name)!);
    const first = cols[0];
    if (!first || first.kind === 'numeric') {
      const out = new Float64Array(rows);
      let o = 0;
      for (const c of cols) { const v = (c as { values: Float64Array }).values; out.set(v, o); o += v.length; }
      columns.set(spec.name, { kind: 'numeric', values: out });
    } else if (first.kind === 'categorical') {
      const out = new Int32Array(rows);
      let o = 0;
      for (const c of cols) { const v = (c as { codes: Int32Array }).codes; out.set(v, o); o += v.length; }
      columns.set(spec.name, { kind: 'categorical', codes: out, categories: first.categories });
    } else {
      columns.set(spec.name, { kind: 'text', values: cols.flatMap((c) => (c as { values: string[] }).values) });
    }
  }
  return { rows, columns };
}

/**
 * Reads a whole CSV strictly: the first bad cell fails the read with file, row and column named.
 * An empty file (no data rows) is an error too: nothing downstream can use it.
 */
export async function readCsvTable(input: Readable | AsyncIterable<Buffer>, specs: readonly ColumnSpec[], opts: ReadTableOptions): Promise<Table> {
  const reader = await openCsvTables(input, specs, opts);
  const parts: Table[] = [];
  for await (const chunk of reader.chunks) {
    const first = chunk.issues[0];
    if (first) {
      const more = chunk.issues.length > 1 ? ` (and ${chunk.issues.length - 1} more in rows ${chunk.firstRow}–${chunk.firstRow + chunk.table.rows - 1})` : '';
      const detail: ErrorDetail[] = chunk.issues.slice(0, 20).map((i) => ({ row: i.row, field: i.field, issue: i.issue }));
      throw new InvalidInputError(`${opts.source}: row ${first.row}, column "${first.field}": ${first.issue}${more}`, detail);
    }
    parts.push(chunk.table);
  }
  const table = concatTables(parts, specs);
  if (table.rows === 0) throw new InvalidInputError(`${opts.source}: no data rows (header only)`);
  return table;
}
