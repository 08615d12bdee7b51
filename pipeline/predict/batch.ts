// Batch scoring: one streaming pass over a CSV or JSON-lines input, scored in chunks, written as
// two outputs at once: predictions (id, prediction, lineage) and errors (row, field, reason).
// Every input row lands in exactly one of them. A CSV's blocks are parsed, scored and formatted on
// one worker per core while this thread reads, hashes and writes in input order (an input of one block
// is done on this thread: see startBlockScorers).
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import {
  BlockBuffers,
  inputFormat,
  openCsvBlocks,
  planTable,
  rowsShifted,
  type InputFormat,
  type RowIssue,
} from '../data/index.ts';
import type { Signature } from '../registry/index.ts';
import { Channel } from './channel.ts';
import { CsvWriter, csvField, lineageSuffix, writePredictionLines } from './format.ts';
import { jsonlChunks } from './jsonl.ts';
import type { LoadedModel } from './model.ts';
import { columnSpecs } from './signature.ts';
import {
  defaultScoringWorkers,
  startBlockScorers,
  startScoringWorker,
  type BlockScorers,
  type Scorer,
} from './worker.ts';

export type BatchFormat = InputFormat;

export const DEFAULT_CHUNK_ROWS = 65_536;
export const LINEAGE_COLUMNS = ['model_name', 'model_version'] as const;
export const ERRORS_HEADER = 'row,field,reason\n';

/** The predictions output's header line: id, the config's prediction column, then the lineage columns. */
export function predictionsHeader(sig: Signature): string {
  return `${csvField(sig.id_column)},${csvField(sig.output.column)},${LINEAGE_COLUMNS.join(',')}\n`;
}

/** The input format from a file name or key; undefined when it is neither CSV nor JSON lines. */
export const batchFormat = inputFormat;

/** Consumers of the two outputs (a streaming put, a temp file renamed into place). */
export interface BatchSinks {
  predictions(body: AsyncIterable<Buffer>): Promise<unknown>;
  errors(body: AsyncIterable<Buffer>): Promise<unknown>;
}

export interface BatchOptions {
  format: BatchFormat;
  /** Names the input in messages. */
  source: string;
  chunkRows?: number;
  /** Worker threads for a CSV input (default: one per core; 0: this thread); JSON lines are scored on one. */
  workers?: number;
  /**
   * Data rows before this input's first (a shard of a larger file: its errors and a rejection name
   * the whole file's row numbers). Default 0.
   */
  rowsBefore?: number;
  /** Write the header lines of both outputs (default true; a shard's parts leave them to the assembled file). */
  headers?: boolean;
}

export interface BatchResult {
  source: string;
  rows: number;
  scored: number;
  /** Rows routed to the errors output. */
  errors: number;
  /** Lines in the errors output (a row with two bad fields has two). */
  issues: number;
  input: { sha256: string; bytes: number };
  model: { name: string; version: number; sha256: string };
  /**
   * Seconds spent parsing, scoring and formatting (summed over the worker threads that did them, so
   * they can add up to more than the wall time), writing, and in all (wall).
   */
  timings: { parse_s: number; score_s: number; write_s: number; total_s: number };
  /** Worker threads that parsed and scored (0: this thread did). */
  workers: number;
}

/** A job in flight, boxed: an async generator would await a promise it yields, serialising the jobs. */
interface Pending {
  result: Promise<Scored>;
}

/** A scored chunk or block, its issues numbered from its own first row (1). */
interface Scored {
  rows: number;
  scored: number;
  issues: RowIssue[];
  lines: Buffer;
  parseMs: number;
  scoreMs: number;
  formatMs: number;
}

const seconds = (ms: number) => Math.round(ms) / 1000;

/** Chunks, blocks in flight at once per worker: enough to keep every worker busy while outputs are written. */
const IN_FLIGHT_PER_WORKER = 2;

/**
 * CSV: whole-row blocks cut here (reading and hashing are this thread's only work), each parsed,
 * scored and formatted on a pool worker. A missing column is refused before any worker starts.
 */
async function* csvJobs(
  model: LoadedModel,
  input: AsyncIterable<Buffer>,
  opts: BatchOptions,
  chunkRows: number,
  workers: number,
  onPool: (pool: BlockScorers) => void,
): AsyncGenerator<Pending> {
  const buffers = new BlockBuffers();
  const { header, blocks } = await openCsvBlocks(Readable.from(input), { source: opts.source, chunkRows, buffers });
  const plan = planTable(header, columnSpecs(model.signature), opts.source);
  const pool = await startBlockScorers(model, plan, workers);
  onPool(pool);
  for await (const block of blocks) {
    const result = pool
      .score(block, chunkRows)
      .then((r) => ({ ...r, lines: Buffer.from(r.lines.buffer, r.lines.byteOffset, r.lines.byteLength) }));
    // Once its worker is done with the block, its buffer assembles a later one.
    result.then(
      () => buffers.give(block),
      () => undefined,
    );
    yield { result };
  }
}

/** JSON lines: records validated here (zod), scored on one worker, formatted here. */
async function* jsonlJobs(
  model: LoadedModel,
  input: AsyncIterable<Buffer>,
  opts: BatchOptions,
  chunkRows: number,
  onScorer: (s: Scorer) => void,
): AsyncGenerator<Pending> {
  const scorer = await startScoringWorker(model);
  onScorer(scorer);
  const lineage = lineageSuffix(model.name, model.version);
  for await (const chunk of jsonlChunks(input, model, chunkRows, opts.source)) {
    const t = performance.now();
    const result = scorer.score(chunk.table, chunk.bad).then((preds) => {
      const scoreMs = performance.now() - t;
      const f = performance.now();
      const ids = chunk.table.columns.get(model.signature.id_column);
      const writer = new CsvWriter(1 << 16);
      writePredictionLines(writer, ids?.kind === 'text' ? ids.values : [], preds, chunk.bad, lineage);
      const issues = chunk.issues.map((i) => ({ ...i, row: i.row - chunk.firstRow + 1 }));
      return {
        rows: chunk.table.rows,
        scored: preds.length,
        issues,
        lines: writer.take(),
        parseMs: 0,
        scoreMs,
        formatMs: performance.now() - f,
      };
    });
    yield { result };
  }
}

/** Scores `input` with `model`, streaming both outputs into `sinks`. */
// one streaming loop whose counters, sinks and error rows must stay in step; split, its state would be passed around
// biome-ignore lint/complexity/noExcessiveLinesPerFunction: the reason is the comment above
export async function scoreBatch(
  model: LoadedModel,
  input: AsyncIterable<Buffer>,
  opts: BatchOptions,
  sinks: BatchSinks,
): Promise<BatchResult> {
  const t0 = performance.now();
  const chunkRows = opts.chunkRows ?? DEFAULT_CHUNK_ROWS;
  const workers = opts.workers ?? defaultScoringWorkers();
  const rowsBefore = opts.rowsBefore ?? 0;
  const sig = model.signature;
  const hash = createHash('sha256');
  let bytes = 0;
  const hashed = (async function* () {
    for await (const b of input) {
      hash.update(b as Buffer);
      bytes += (b as Buffer).length;
      yield b as Buffer;
    }
  })();

  const closers: (() => Promise<void>)[] = [];
  const predOut = new Channel<Buffer>(4);
  const errOut = new Channel<Buffer>(64);
  const sinkErrors: unknown[] = [];
  const done = [sinks.predictions(predOut), sinks.errors(errOut)].map((p, i) =>
    p.catch((e) => {
      sinkErrors.push(e);
      (i === 0 ? predOut : errOut).fail(e);
      throw e;
    }),
  );

  let rows = 0,
    scored = 0,
    errorRows = 0,
    issues = 0;
  let parseMs = 0,
    scoreMs = 0,
    writeMs = 0;
  /** Writes one job's outputs in input order: its issues get the file's row numbers here. */
  const finish = async (job: Scored): Promise<void> => {
    const t = performance.now();
    parseMs += job.parseMs;
    scoreMs += job.scoreMs;
    writeMs += job.formatMs;
    const pushes = [predOut.push(job.lines)];
    if (job.issues.length) {
      const base = rowsBefore + rows;
      const text = job.issues.map((i) => `${base + i.row},${csvField(i.field)},${csvField(i.issue)}\n`).join('');
      pushes.push(errOut.push(Buffer.from(text, 'utf8')));
    }
    rows += job.rows;
    scored += job.scored;
    errorRows += job.rows - job.scored;
    issues += job.issues.length;
    await Promise.all(pushes);
    writeMs += performance.now() - t;
  };

  try {
    if (opts.headers !== false) {
      await predOut.push(Buffer.from(predictionsHeader(sig), 'utf8'));
      await errOut.push(Buffer.from(ERRORS_HEADER));
    }
    /** The next job in input order; its rejection renumbered to the file's rows. */
    const next = (window: Promise<Scored>[]) =>
      window.shift()!.catch((e: unknown) => {
        throw rowsShifted(e, rowsBefore + rows, opts.source);
      });
    const jobs =
      opts.format === 'csv'
        ? csvJobs(model, hashed, opts, chunkRows, workers, (pool) => closers.push(() => pool.close()))
        : jsonlJobs(model, hashed, opts, chunkRows, (scorer) => closers.push(() => scorer.close()));
    const window: Promise<Scored>[] = [];
    const limit = IN_FLIGHT_PER_WORKER * (opts.format === 'csv' ? Math.max(1, workers) : 1);
    for await (const job of jobs) {
      job.result.catch(() => undefined); // awaited in order below; never an unhandled rejection meanwhile
      window.push(job.result);
      if (window.length >= limit) await finish(await next(window));
    }
    while (window.length) await finish(await next(window));
    if (scored + errorRows !== rows)
      throw new Error(`internal: ${rows} rows in, ${scored} scored + ${errorRows} errors out`);
    predOut.close();
    errOut.close();
    await Promise.all(done);
  } catch (e) {
    predOut.fail(e);
    errOut.fail(e);
    await Promise.allSettled(done);
    throw sinkErrors[0] ?? e;
  } finally {
    await Promise.all(closers.map((close) => close()));
  }
  return {
    source: opts.source,
    rows,
    scored,
    errors: errorRows,
    issues,
    input: { sha256: hash.digest('hex'), bytes },
    model: { name: model.name, version: model.version, sha256: model.sha256 },
    timings: {
      parse_s: seconds(parseMs),
      score_s: seconds(scoreMs),
      write_s: seconds(writeMs),
      total_s: seconds(performance.now() - t0),
    },
    workers: opts.format === 'csv' ? workers : 1,
  };
}
