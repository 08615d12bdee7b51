// Batch scoring: one streaming pass over a CSV or JSON-lines input, scored in chunks, written as
// two outputs at once: predictions (id, prediction, lineage) and errors (row, field, reason).
// Every input row lands in exactly one of them. Session runs overlap the parsing of the next
// chunk and the writing of the previous one (ORT runs on its own threads).
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { inputFormat, openCsvTables, type InputFormat, type TableChunk } from '../data/index.ts';
import { Channel } from './channel.ts';
import { CsvWriter, csvField } from './format.ts';
import { jsonlChunks } from './jsonl.ts';
import type { LoadedModel } from './model.ts';
import type { Signature } from '../registry/index.ts';
import { columnSpecs } from './signature.ts';
import { startScoringWorker, type Scorer } from './worker.ts';

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
  /**
   * Score on a worker thread so parsing and writing overlap the session runs (default true).
   * In-thread scoring is serial: onnxruntime-node's run() blocks the thread that calls it.
   */
  worker?: boolean;
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
  timings: { parse_s: number; score_s: number; write_s: number; total_s: number };
}

interface Job {
  chunk: TableChunk;
  predictions: Promise<Float32Array>;
}

const seconds = (ms: number) => Math.round(ms) / 1000;

/** Scores `input` with `model`, streaming both outputs into `sinks`. */
export async function scoreBatch(model: LoadedModel, input: AsyncIterable<Buffer>, opts: BatchOptions, sinks: BatchSinks): Promise<BatchResult> {
  const t0 = performance.now();
  const chunkRows = opts.chunkRows ?? DEFAULT_CHUNK_ROWS;
  const sig = model.signature;
  const hash = createHash('sha256');
  let bytes = 0;
  const hashed = (async function* () {
    for await (const b of input) { hash.update(b as Buffer); bytes += (b as Buffer).length; yield b as Buffer; }
  })();

  const scorer: Scorer = opts.worker === false ? { score: (t, b) => model.score(t, b), close: async () => undefined } : await startScoringWorker(model);
  const predOut = new Channel<Buffer>(4);
  const errOut = new Channel<Buffer>(64);
  const sinkErrors: unknown[] = [];
  const done = [sinks.predictions(predOut), sinks.errors(errOut)].map((p, i) =>
    p.catch((e) => { sinkErrors.push(e); (i === 0 ? predOut : errOut).fail(e); throw e; }));

  let rows = 0, scored = 0, errorRows = 0, issues = 0;
  let parseMs = 0, scoreMs = 0, writeMs = 0;
  const lineage = Buffer.from(`,${csvField(model.name)},${model.version}\n`, 'utf8');
  const writer = new CsvWriter(1 << 20);

  const finish = async (job: Job): Promise<void> => {
    let t = performance.now();
    const preds = await job.predictions;
    scoreMs += performance.now() - t;
    t = performance.now();
    const { chunk } = job;
    const idCol = chunk.table.columns.get(sig.id_column);
    const ids = idCol?.kind === 'text' ? idCol.values : [];
    const n = chunk.table.rows;
    writer.reserve((n - chunk.bad.reduce((a, b) => a + b, 0)) * (lineage.length + 40));
    for (let r = 0, k = 0; r < n; r++) {
      if (chunk.bad[r]) continue;
      writer.text(ids[r]!);
      writer.comma();
      writer.number(preds[k++]!);
      writer.bytes(lineage);
    }
    rows += n;
    scored += preds.length;
    errorRows += n - preds.length;
    issues += chunk.issues.length;
    const pushes = [predOut.push(writer.take())];
    if (chunk.issues.length) {
      pushes.push(errOut.push(Buffer.from(chunk.issues.map((i) => `${i.row},${csvField(i.field)},${csvField(i.issue)}\n`).join(''), 'utf8')));
    }
    await Promise.all(pushes);
    writeMs += performance.now() - t;
  };

  try {
    await predOut.push(Buffer.from(predictionsHeader(sig), 'utf8'));
    await errOut.push(Buffer.from(ERRORS_HEADER));
    let t = performance.now();
    const chunks = opts.format === 'csv'
      ? (await openCsvTables(Readable.from(hashed), columnSpecs(sig), { source: opts.source, chunkRows })).chunks
      : jsonlChunks(hashed, model, chunkRows);
    let pending: Job | undefined;
    for (;;) {
      const next = await chunks.next();
      parseMs += performance.now() - t;
      if (next.done) break;
      t = performance.now();
      const job: Job = { chunk: next.value, predictions: scorer.score(next.value.table, next.value.bad) };
      job.predictions.catch(() => undefined); // awaited in finish; never an unhandled rejection meanwhile
      scoreMs += performance.now() - t;
      if (pending) await finish(pending);
      pending = job;
      t = performance.now();
    }
    if (pending) await finish(pending);
    if (scored + errorRows !== rows) throw new Error(`internal: ${rows} rows in, ${scored} scored + ${errorRows} errors out`);
    predOut.close();
    errOut.close();
    await Promise.all(done);
  } catch (e) {
    predOut.fail(e);
    errOut.fail(e);
    await Promise.allSettled(done);
    throw sinkErrors[0] ?? e;
  } finally {
    await scorer.close();
  }
  return {
    source: opts.source, rows, scored, errors: errorRows, issues,
    input: { sha256: hash.digest('hex'), bytes },
    model: { name: model.name, version: model.version, sha256: model.sha256 },
    timings: { parse_s: seconds(parseMs), score_s: seconds(scoreMs), write_s: seconds(writeMs), total_s: seconds(performance.now() - t0) },
  };
}
