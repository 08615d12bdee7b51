// JSON-lines files → the same validated Table chunks the CSV reader yields, under the same column
// specs: one record (a JSON object) per non-blank line, a key that is absent or null = missing, keys
// that are not in the specs ignored (as extra CSV columns are). A line that is not a JSON object, or
// is over RECORD_MAX_BYTES, is a bad row, so callers decide as they do for a bad CSV cell; only a file
// that does not start as text (gzip, zip, NUL bytes) is refused whole, by the CSV reader's own check.
import type { Readable } from 'node:stream';
import { messageLine, shownValue } from '../errors/index.ts';
import { checkTextStart, DEFAULT_CHUNK_ROWS, HEADER_MAX_BYTES } from './csv.ts';
import type { CsvTableReader, ReadTableOptions } from './read-table.ts';
import { describeRange, type Column, type ColumnSpec, type RowIssue, type TableChunk } from './table.ts';

export type InputFormat = 'csv' | 'jsonl';

const LF = 0x0a;
const BOM = '\uFEFF';
/** The pseudo-field of issues that concern a whole record (not JSON, not an object). */
export const RECORD_FIELD = '(record)';

/** The input format of a file or object from its name; undefined when it is neither CSV nor JSON lines. */
export function inputFormat(name: string): InputFormat | undefined {
  const lower = name.toLowerCase();
  if (lower.endsWith('.csv')) return 'csv';
  if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson')) return 'jsonl';
  return undefined;
}

/**
 * A line longer than this is no record: the bound the CSV reader puts on its header row (10,000 fields
 * of 100 characters). Its bytes are skipped as they arrive, never held, and its row is a bad record.
 */
const RECORD_MAX_BYTES = HEADER_MAX_BYTES;
/** What jsonLines yields for a line over RECORD_MAX_BYTES. */
export const LINE_TOO_LONG: unique symbol = Symbol('line too long');
export const LINE_TOO_LONG_ISSUE = `line longer than ${RECORD_MAX_BYTES} bytes: not read as a record`;

/**
 * The lines of a byte stream (split on LF; a leading BOM dropped), decoded one line at a time. A file
 * whose first line says it is not text (gzip, zip, NUL bytes) is refused whole, as a CSV is. A line's
 * reads are kept as they came and concatenated once, at its end: joining per read would copy a long
 * line over and over (a 50 MB line in 16 KiB reads copied about 80 GB).
 */
export async function* jsonLines(
  input: AsyncIterable<Buffer>,
  source: string,
): AsyncGenerator<string | typeof LINE_TOO_LONG> {
  let parts: Buffer[] = [];
  let length = 0;
  let skipping = false; // inside a line past the bound: its bytes are dropped up to its end
  let first = true;
  const checkFirst = (bytes: Buffer): void => {
    if (!first) return;
    first = false;
    checkTextStart(bytes.subarray(0, RECORD_MAX_BYTES), source);
  };
  const line = (tail: Buffer): string => {
    const bytes = parts.length ? Buffer.concat([...parts, tail], length + tail.length) : tail;
    parts = [];
    length = 0;
    const isFirst = first;
    checkFirst(bytes);
    const text = bytes.toString('utf8');
    return isFirst && text.startsWith(BOM) ? text.slice(1) : text;
  };
  const drop = (tail?: Buffer): void => {
    if (first) checkFirst(Buffer.concat(tail ? [...parts, tail] : parts));
    parts = [];
    length = 0;
  };
  for await (const chunk of input) {
    let start = 0;
    for (let nl = chunk.indexOf(LF); nl >= 0; nl = chunk.indexOf(LF, start)) {
      if (skipping || length + nl - start > RECORD_MAX_BYTES) {
        if (!skipping) drop(chunk.subarray(start, nl));
        skipping = false;
        yield LINE_TOO_LONG;
      } else yield line(chunk.subarray(start, nl));
      start = nl + 1;
    }
    if (skipping || start === chunk.length) continue;
    parts.push(chunk.subarray(start));
    length += chunk.length - start;
    if (length > RECORD_MAX_BYTES) {
      drop();
      skipping = true;
    }
  }
  if (skipping) yield LINE_TOO_LONG;
  else if (length) yield line(Buffer.alloc(0));
}

/** The issue of a line that JSON.parse refused: its message quotes the line, so it is escaped and cut short. */
export function notJsonIssue(e: unknown): string {
  return `not JSON: ${messageLine((e as Error).message, 80)}`;
}

type Line = string | typeof LINE_TOO_LONG;

function trimmed(line: Line): Line {
  return line === LINE_TOO_LONG ? line : line.trim();
}

type Setter = (r: number, v: unknown) => string | undefined;

/** A column under construction and the setter that converts one JSON value into it (an issue text when it cannot). */
function columnBuilder(spec: ColumnSpec, rows: number): { column: Column; set: Setter } {
  // Columns start filled with "missing"; an absent or null value only needs checking.
  const missing = (): string | undefined => (spec.nullable ? undefined : 'missing value (column is not nullable)');
  if (spec.type === 'numeric' || spec.type === 'boolean') {
    const values = new Float64Array(rows).fill(NaN);
    const lo = spec.min ?? -Infinity,
      hi = spec.max ?? Infinity;
    const set: Setter =
      spec.type === 'numeric'
        ? (r, v) => {
            if (v === undefined || v === null) return missing();
            if (typeof v !== 'number') return `expected a number, got ${shownValue(v)}`;
            values[r] = v;
            return v < lo || v > hi ? `value ${v} out of range (expected ${describeRange(spec)})` : undefined;
          }
        : (r, v) => {
            if (v === undefined || v === null) return missing();
            if (v === true || v === 1) values[r] = 1;
            else if (v === false || v === 0) values[r] = 0;
            else return `expected true, false, 0 or 1, got ${shownValue(v)}`;
            return undefined;
          };
    return { column: { kind: 'numeric', values }, set };
  }
  if (spec.type === 'categorical') {
    const categories = [...(spec.values ?? [])];
    const index = new Map(categories.map((c, i) => [c, i] as const));
    const codes = new Int32Array(rows).fill(-1);
    return {
      column: { kind: 'categorical', codes, categories },
      set: (r, v) => {
        if (v === undefined || v === null || v === '') return missing();
        const code = typeof v === 'string' ? index.get(v) : undefined;
        if (code === undefined) return `value ${shownValue(v)} is not one of ${categories.join('|')}`;
        codes[r] = code;
        return undefined;
      },
    };
  }
  const values = new Array<string>(rows).fill('');
  return {
    column: { kind: 'text', values },
    set: (r, v) => {
      if (v === undefined || v === null || v === '') return missing();
      // Ids may be numbers in JSON (the batch scorer keys rows by String(id)); anything else is no text.
      if (typeof v !== 'string' && typeof v !== 'number') return `expected text, got ${shownValue(v)}`;
      values[r] = String(v);
      return undefined;
    },
  };
}

function toChunk(lines: readonly Line[], specs: readonly ColumnSpec[], firstRow: number): TableChunk {
  const rows = lines.length;
  const builders = specs.map((s) => columnBuilder(s, rows));
  const issues: RowIssue[] = [];
  const bad = new Uint8Array(rows);
  const note = (r: number, field: string, issue: string) => {
    issues.push({ row: firstRow + r, field, issue });
    bad[r] = 1;
  };
  for (let r = 0; r < rows; r++) {
    const line = lines[r]!;
    if (line === LINE_TOO_LONG) {
      note(r, RECORD_FIELD, LINE_TOO_LONG_ISSUE);
      continue;
    }
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch (e) {
      note(r, RECORD_FIELD, notJsonIssue(e));
      continue;
    }
    if (typeof record !== 'object' || record === null || Array.isArray(record)) {
      note(r, RECORD_FIELD, `expected an object, got ${shownValue(record)}`);
      continue;
    }
    const fields = record as Record<string, unknown>;
    specs.forEach((spec, k) => {
      const issue = builders[k]!.set(r, fields[spec.name]);
      if (issue) note(r, spec.name, issue);
    });
  }
  return {
    table: { rows, columns: new Map(specs.map((s, k) => [s.name, builders[k]!.column])) },
    firstRow,
    issues,
    bad,
  };
}

/**
 * Streams validated chunks of up to `chunkRows` records, rows numbered from 1 (blank lines skipped, as
 * in CSV). JSON lines have no header: the keys of the first record stand for it, so `specs` may be
 * chosen from them as from a CSV header (a batch-scored file's output column is on every record).
 */
export async function openJsonlTables(
  input: Readable | AsyncIterable<Buffer>,
  specs: readonly ColumnSpec[] | ((header: string[]) => ColumnSpec[]),
  opts: ReadTableOptions,
): Promise<CsvTableReader> {
  const chunkRows = opts.chunkRows ?? DEFAULT_CHUNK_ROWS;
  const lines = jsonLines(input as AsyncIterable<Buffer>, opts.source);
  // The first record is read by hand: leaving a for-await loop early would close the generator.
  let first: Line | undefined;
  for (let next = await lines.next(); !next.done; next = await lines.next()) {
    first = trimmed(next.value);
    if (first !== '') break;
  }
  const header = typeof first === 'string' && first !== '' ? recordKeys(first) : [];
  const chosen = typeof specs === 'function' ? specs(header) : [...specs];
  async function* chunks(): AsyncGenerator<TableChunk> {
    let batch: Line[] = [];
    let firstRow = 1;
    const add = (line: Line): TableChunk | undefined => {
      if (line === '') return undefined;
      batch.push(line);
      if (batch.length < chunkRows) return undefined;
      const chunk = toChunk(batch, chosen, firstRow);
      firstRow += batch.length;
      batch = [];
      return chunk;
    };
    const head = first === undefined ? undefined : add(first);
    if (head) yield head;
    for await (const raw of lines) {
      const chunk = add(trimmed(raw));
      if (chunk) yield chunk;
    }
    if (batch.length) yield toChunk(batch, chosen, firstRow);
  }
  return { header, specs: chosen, chunks: chunks() };
}

/** The keys of a JSON-lines record; none when the line is not a JSON object (the reader reports it as a bad record). */
function recordKeys(line: string): string[] {
  try {
    const record: unknown = JSON.parse(line);
    return record && typeof record === 'object' && !Array.isArray(record) ? Object.keys(record) : [];
  } catch {
    return [];
  }
}
