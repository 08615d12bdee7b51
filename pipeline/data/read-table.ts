// CSV → typed columnar Tables, validated against a column spec (a model signature or a config's
// columns). Streaming: chunks of rows, each with the rows that failed and why, so batch scoring can
// route bad rows aside while training refuses the file outright. A block of bytes in, a TableChunk
// out (parseTableBlock): the same function runs on this thread or on a worker (parallel.ts).
import type { Readable } from 'node:stream';
import { type ErrorDetail, InvalidInputError, quoted } from '../errors/index.ts';
import { DEFAULT_CHUNK_ROWS, openCsvBlocks } from './csv.ts';
import { parseTableBlock, planTable, type TablePlan } from './parse-block.ts';
import { ROW_FIELD, type Column, type ColumnSpec, type Table, type TableChunk } from './table.ts';

export interface ReadTableOptions {
  source: string;
  chunkRows?: number;
}

export interface CsvTableReader {
  header: string[];
  /** The specs the chunks follow (as given, or as chosen from the header). */
  specs: ColumnSpec[];
  chunks: AsyncGenerator<TableChunk>;
}

/**
 * Opens a CSV and checks its header; chunks then stream validated Tables. `specs` may be chosen
 * from the header (the monitor reads a prediction column only when the file has one).
 */
export async function openCsvTables(
  input: Readable | AsyncIterable<Buffer>,
  specs: readonly ColumnSpec[] | ((header: string[]) => ColumnSpec[]),
  opts: ReadTableOptions,
): Promise<CsvTableReader> {
  const chunkRows = opts.chunkRows ?? DEFAULT_CHUNK_ROWS;
  const { header, blocks } = await openCsvBlocks(input, { source: opts.source, chunkRows });
  const plan = planTable(header, typeof specs === 'function' ? specs(header) : specs, opts.source);
  return { header, specs: plan.specs, chunks: tableChunks(plan, blocks, chunkRows) };
}

/**
 * Parses blocks of whole rows (openCsvBlocks') on this thread into validated chunks, rows numbered from 1;
 * `onParsed` gets each block back once it is parsed (a pooled buffer can then serve a later block).
 */
export async function* tableChunks(
  plan: TablePlan,
  blocks: AsyncIterable<Buffer>,
  chunkRows: number,
  onParsed?: (block: Buffer) => void,
): AsyncGenerator<TableChunk> {
  let firstRow = 1;
  for await (const block of blocks) {
    const chunk = parseTableBlock(plan, block, 0, block.length, firstRow, chunkRows);
    onParsed?.(block);
    firstRow += chunk.table.rows;
    if (chunk.table.rows > 0) yield chunk;
  }
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
      for (const c of cols) {
        const v = (c as { values: Float64Array }).values;
        out.set(v, o);
        o += v.length;
      }
      columns.set(spec.name, { kind: 'numeric', values: out });
    } else if (first.kind === 'categorical') {
      const out = new Int32Array(rows);
      let o = 0;
      for (const c of cols) {
        const v = (c as { codes: Int32Array }).codes;
        out.set(v, o);
        o += v.length;
      }
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
export async function readCsvTable(
  input: Readable | AsyncIterable<Buffer>,
  specs: readonly ColumnSpec[] | ((header: string[]) => ColumnSpec[]),
  opts: ReadTableOptions,
): Promise<Table> {
  const reader = await openCsvTables(input, specs, opts);
  const parts: Table[] = [];
  for await (const chunk of reader.chunks) {
    const first = chunk.issues[0];
    if (first) {
      const more =
        chunk.issues.length > 1
          ? ` (and ${chunk.issues.length - 1} more in rows ${chunk.firstRow}–${chunk.firstRow + chunk.table.rows - 1})`
          : '';
      const detail: ErrorDetail[] = chunk.issues
        .slice(0, 20)
        .map((i) => ({ row: i.row, field: i.field, issue: i.issue }));
      const where = first.field === ROW_FIELD ? `row ${first.row}` : `row ${first.row}, column ${quoted(first.field)}`;
      throw new InvalidInputError(`${opts.source}: ${where}: ${first.issue}${more}`, detail);
    }
    parts.push(chunk.table);
  }
  const table = concatTables(parts, reader.specs);
  if (table.rows === 0) throw new InvalidInputError(`${opts.source}: no data rows (header only)`);
  return table;
}
