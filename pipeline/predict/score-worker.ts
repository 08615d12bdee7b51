// The batch scoring worker's body: the proven fast evaluator (built from the program the loaded model
// carries) or, where the fast path is off, an ONNX Runtime session of its own. Two kinds of request:
// typed input columns to score (transferred in, predictions transferred back), and, for CSV batches,
// a block of raw rows in shared memory, which it parses, scores and formats into predictions lines
// itself, so parsing runs on every core. See worker.ts for the pool that feeds it.
import { parentPort } from 'node:worker_threads';
// ONNX Runtime's loader from its own module, not train's index (block.ts's parser likewise): an index
// brings the schemas (zod, with every locale) and the trainer, 0.8 MB of code that each worker would
// compile at start and never run (twice the worker's start-up).
import { MltkError } from '../errors/index.ts';
import { onnxRuntime } from '../train/onnx/runtime.ts';
import { scoreBlock, type BlockContext, type BlockResult, type Score } from './block.ts';
import { createEvaluator } from './fast/evaluator.ts';
import type { EvaluatorProgram } from './fast/program.ts';
import { toFeeds, type InputColumn, type TensorCtor } from './score.ts';

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

export type WorkerReply =
  | { loaded: true }
  | { ready: true }
  | { ready: false; error: string }
  | { id: number; data: Float32Array[] }
  | { id: number; block: BlockResult }
  | { id: number; error: string; code?: string; details?: MltkError['details'] };

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
