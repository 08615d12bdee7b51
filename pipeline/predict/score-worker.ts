// The batch scoring worker's body: the proven fast evaluator (built from the program the loaded model
// carries) or, where the fast path is off, an ONNX Runtime session of its own. Inputs arrive as typed
// columns (transferred); predictions go back the same way. See worker.ts for why scoring runs here.
import { parentPort, workerData } from 'node:worker_threads';
import { onnxRuntime } from '../train/index.ts';
import { createEvaluator } from './fast/evaluator.ts';
import type { EvaluatorProgram } from './fast/program.ts';
import { toFeeds, type InputColumn, type TensorCtor } from './score.ts';

export interface ScoringWorkerData {
  program: EvaluatorProgram | null;
  onnx: Uint8Array;
  options: Record<string, unknown>;
  output: string;
}

export interface ScoreRequest { id: number; rows: number; inputs: InputColumn[] }

type Score = (inputs: InputColumn[], rows: number) => Promise<Float32Array>;

async function open(data: ScoringWorkerData): Promise<Score> {
  if (data.program) {
    const evaluator = createEvaluator(data.program);
    return async (inputs, rows) => evaluator.score(inputs, rows);
  }
  const ort = onnxRuntime();
  const session = await ort.InferenceSession.create(data.onnx, data.options);
  return async (inputs, rows) => {
    const out = await session.run(toFeeds(ort.Tensor as unknown as TensorCtor, inputs, rows), [data.output]);
    return new Float32Array(out[data.output]!.data as Float32Array);
  };
}

const port = parentPort!;
const message = (e: unknown) => String((e as Error)?.message ?? e);
open(workerData as ScoringWorkerData).then((score) => {
  // One request at a time, in order: the session (or evaluator) is not shared between runs.
  let queue = Promise.resolve();
  port.on('message', (m: ScoreRequest) => {
    queue = queue.then(async () => {
      try {
        const data = await score(m.inputs, m.rows);
        port.postMessage({ id: m.id, data }, [data.buffer as ArrayBuffer]);
      } catch (e) {
        port.postMessage({ id: m.id, error: message(e) });
      }
    });
  });
  port.postMessage({ ready: true });
}, (e) => port.postMessage({ ready: false, error: message(e) }));
