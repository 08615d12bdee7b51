// The batch scoring worker's body: the proven fast evaluator (built from the program the loaded model
// carries) or, where the fast path is off, an ONNX Runtime session of its own. Two kinds of request:
// typed input columns to score (transferred in, predictions transferred back), and, for CSV batches,
// a block of raw rows in shared memory, which it parses, scores and formats into predictions lines
// itself, so parsing runs on every core. See worker.ts for the pool that feeds it.
import { parentPort } from 'node:worker_threads';
import type { RowIssue, TablePlan } from '../data/index.ts';
// The block parser and ONNX Runtime's loader from their own modules, not their folders' index: an index
// brings the schemas (zod, with every locale) and the trainer, 0.8 MB of code that each worker would
// compile at start and never run (twice the worker's start-up).
import { parseTableBlock } from '../data/parse-block.ts';
import { MltkError } from '../errors/index.ts';
import { onnxRuntime } from '../train/onnx/runtime.ts';
import { createEvaluator } from './fast/evaluator.ts';
import type { EvaluatorProgram } from './fast/program.ts';
import { CsvWriter, writePredictionLines } from './format.ts';
import { buildInputs, toFeeds, type InputColumn, type InputPlan, type TensorCtor } from './score.ts';

/** What a CSV block request needs besides the scorer: how to parse, what to feed, how to write lines. */
export interface BlockContext {
  table: TablePlan;
  inputs: InputPlan[];
  idColumn: string;
  /** The predictions line suffix (",model,version\n"). */
  lineage: Uint8Array;
}

export interface ScoringWorkerData {
  /** The proven evaluators' programs, one per output (null: ONNX Runtime scores every output). */
  programs: EvaluatorProgram[] | null;
  /** The compiled kernel for the deepest program (compiled once, in the parent; a worker would otherwise build and compile its own). */
  kernel: WebAssembly.Module | null;
  onnx: Uint8Array;
  options: Record<string, unknown>;
  /** The graph outputs scored, in order: the model's prediction, or the loss estimator's heads. */
  outputs: string[];
  block: BlockContext | null;
}

export type WorkerRequest =
  | { kind: 'init'; data: ScoringWorkerData }
  | { kind: 'columns'; id: number; rows: number; inputs: InputColumn[] }
  | { kind: 'block'; id: number; bytes: Uint8Array; rowsHint: number };

/** A scored block: its predictions lines, and its issues with row numbers counted from the block's first row (1). */
export interface BlockResult {
  lines: Uint8Array;
  rows: number;
  scored: number;
  issues: RowIssue[];
  /** Milliseconds this worker spent parsing, scoring and formatting the block. */
  parseMs: number;
  scoreMs: number;
  formatMs: number;
}

export type WorkerReply =
  | { loaded: true }
  | { ready: true }
  | { ready: false; error: string }
  | { id: number; data: Float32Array[] }
  | { id: number; block: BlockResult }
  | { id: number; error: string; code?: string; details?: MltkError['details'] };

/** Every output's predictions for `rows` rows of `inputs`. */
type Score = (inputs: InputColumn[], rows: number) => Promise<Float32Array[]>;

async function open(data: ScoringWorkerData): Promise<Score> {
  if (data.programs) {
    const evaluators = data.programs.map((p) => createEvaluator(p, data.kernel ?? undefined));
    return async (inputs, rows) => evaluators.map((e) => e.score(inputs, rows));
  }
  const ort = onnxRuntime();
  const session = await ort.InferenceSession.create(data.onnx, data.options);
  return async (inputs, rows) => {
    const out = await session.run(toFeeds(ort.Tensor as unknown as TensorCtor, inputs, rows), data.outputs);
    return data.outputs.map((o) => new Float32Array(out[o]!.data as Float32Array));
  };
}

async function scoreBlock(
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

const port = parentPort!;
const failure = (id: number, e: unknown): WorkerReply =>
  e instanceof MltkError
    ? { id, error: e.message, code: e.code, details: e.details }
    : { id, error: String((e as Error)?.message ?? e) };

// Started before its model is known (the parent loads the model meanwhile): code loaded, it waits for
// one `init` with the model, then serves requests one at a time, in order (the session or evaluator is
// not shared between runs).
let scorer: Promise<Score> | undefined;
let data: ScoringWorkerData | undefined;
let queue = Promise.resolve();
port.on('message', (m: WorkerRequest) => {
  if (m.kind === 'init') {
    data = m.data;
    scorer = open(m.data);
    scorer.then(
      () => port.postMessage({ ready: true } satisfies WorkerReply),
      (e) => port.postMessage({ ready: false, error: String((e as Error)?.message ?? e) } satisfies WorkerReply),
    );
    return;
  }
  queue = queue.then(async () => {
    try {
      if (!scorer || !data) throw new Error('internal: a scoring request before init');
      const score = await scorer;
      if (m.kind === 'columns') {
        const out = await score(m.inputs, m.rows);
        port.postMessage(
          { id: m.id, data: out } satisfies WorkerReply,
          out.map((o) => o.buffer as ArrayBuffer),
        );
      } else {
        if (!data.block) throw new Error('internal: a block request to a worker started without a block context');
        const block = await scoreBlock(data.block, score, m.bytes, m.rowsHint);
        port.postMessage({ id: m.id, block } satisfies WorkerReply, [block.lines.buffer as ArrayBuffer]);
      }
    } catch (e) {
      port.postMessage(failure(m.id, e));
    }
  });
});
port.postMessage({ loaded: true } satisfies WorkerReply);
