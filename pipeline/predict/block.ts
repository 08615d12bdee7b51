// A CSV block scored whole: its raw rows parsed against the input's table plan, scored, and formatted
// into predictions lines. A scoring worker does this for every block of a batch (score-worker.ts);
// the batch's own thread does it for an input of one block (worker.ts), where a worker's start would
// cost more than the block.
import type { RowIssue, TablePlan } from '../data/index.ts';
// The block parser from its own module, not data's index: an index brings the schemas (zod, with every
// locale), code that a scoring worker would compile at start and never run.
import { parseTableBlock } from '../data/parse-block.ts';
import { CsvWriter, writePredictionLines } from './format.ts';
import { buildInputs, type InputColumn, type InputPlan } from './score.ts';

/** What a CSV block request needs besides the scorer: how to parse, what to feed, how to write lines. */
export interface BlockContext {
  table: TablePlan;
  inputs: InputPlan[];
  idColumn: string;
  /** The predictions line suffix (",model,version\n"). */
  lineage: Uint8Array;
}

/** A scored block: its predictions lines, and its issues with row numbers counted from the block's first row (1). */
export interface BlockResult {
  lines: Uint8Array;
  rows: number;
  scored: number;
  issues: RowIssue[];
  /** Milliseconds spent parsing, scoring and formatting the block. */
  parseMs: number;
  scoreMs: number;
  formatMs: number;
}

/** Every output's predictions for `rows` rows of `inputs`. */
export type Score = (inputs: InputColumn[], rows: number) => Promise<Float32Array[]>;

/** Parses, scores and formats one block of whole CSV rows (at most `rowsHint` of them). */
export async function scoreBlock(
  context: BlockContext,
  score: Score,
  bytes: Uint8Array,
  rowsHint: number,
): Promise<BlockResult> {
  let t = performance.now();
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const chunk = parseTableBlock(context.table, buf, 0, buf.length, 1, rowsHint);
  const parseMs = performance.now() - t;
  t = performance.now();
  const { inputs, rows } = buildInputs(context.inputs, chunk.table, chunk.bad);
  const preds = rows > 0 ? (await score(inputs, rows))[0]! : new Float32Array(0);
  const scoreMs = performance.now() - t;
  t = performance.now();
  const ids = chunk.table.columns.get(context.idColumn);
  const writer = new CsvWriter(1 << 16);
  writePredictionLines(writer, ids?.kind === 'text' ? ids.values : [], preds, chunk.bad, Buffer.from(context.lineage));
  const lines = Uint8Array.prototype.slice.call(writer.take()) as Uint8Array; // its own buffer, to transfer
  return {
    lines,
    rows: chunk.table.rows,
    scored: rows,
    issues: chunk.issues,
    parseMs,
    scoreMs,
    formatMs: performance.now() - t,
  };
}
