// Several outputs of one tree model scored together: the loss estimator's squared- and absolute-error
// heads over the model's features and its prediction. Each head is served by the fast evaluator where
// it is proven equal to ONNX Runtime on the probe set at load (fast-path.ts), as a model's prediction
// is; if any head is not, every head is scored by one ONNX Runtime session, and the reasons are kept.
import type { InferenceSession } from 'onnxruntime-node';
import type { Signature } from '../registry/index.ts';
import { onnxRuntime } from '../train/onnx/runtime.ts';
import type { FastEvaluator } from './fast/evaluator.ts';
import type { EvaluatorProgram } from './fast/program.ts';
import { prepareFastPath, referenceSample, type FastPathOptions, type FastPathVerdict } from './fast-path.ts';
import { toFeeds, type InputColumn, type TensorCtor } from './score.ts';
import { startOutputsWorker } from './worker.ts';

export interface TreeHeads {
  /** Per output, whether the fast evaluator serves it, and why not. */
  fastPath: Record<string, FastPathVerdict>;
  /** Every output for `rows` rows of `inputs` (named as the graph's inputs; on a worker, their buffers are transferred). */
  score(inputs: readonly InputColumn[], rows: number): Promise<Record<string, Float32Array>>;
  close(): Promise<void>;
}

export interface TreeHeadsOptions {
  /** The baseline profile JSON, whose samples join the probe (its prediction sample for a "prediction" input). */
  baseline?: Buffer;
  fastPath?: Omit<FastPathOptions, 'output'>;
  /** Score on a worker thread (the caller's thread keeps parsing meanwhile); proofs still run here. */
  worker?: boolean;
  /** Names the heads in a worker's errors. */
  label?: string;
}

export async function loadTreeHeads(
  onnx: Uint8Array,
  signature: Signature,
  outputs: readonly string[],
  opts: TreeHeadsOptions = {},
): Promise<TreeHeads> {
  const ort = onnxRuntime();
  // One intra-op thread: the proof's reference sums each row's trees in order, as the evaluator does.
  const reference = await ort.InferenceSession.create(onnx, { intraOpNumThreads: 1, graphOptimizationLevel: 'all' });
  const sample = referenceSample(opts.baseline);
  const evaluators = new Map<string, FastEvaluator>();
  const programs: EvaluatorProgram[] = [];
  const fastPath: Record<string, FastPathVerdict> = {};
  try {
    for (const output of outputs) {
      const fast = await prepareFastPath(onnx, signature, sample, reference, { ...opts.fastPath, output });
      fastPath[output] = fast.verdict;
      if (fast.evaluator && fast.program) {
        evaluators.set(output, fast.evaluator);
        programs.push(fast.program);
      }
    }
  } finally {
    await reference.release();
  }
  const proven = evaluators.size === outputs.length;
  if (opts.worker) {
    const worker = await startOutputsWorker(opts.label ?? 'tree heads', onnx, [...outputs], proven ? programs : null);
    return {
      fastPath,
      async score(inputs, rows) {
        const out = await worker.scoreInputs([...inputs], rows);
        return Object.fromEntries(outputs.map((o, k) => [o, out[k]!] as const));
      },
      close: () => worker.close(),
    };
  }
  if (proven) {
    return {
      fastPath,
      score: async (inputs, rows) =>
        Object.fromEntries(outputs.map((o) => [o, evaluators.get(o)!.score(inputs, rows)] as const)),
      close: async () => undefined,
    };
  }
  const session: InferenceSession = await ort.InferenceSession.create(onnx, { graphOptimizationLevel: 'all' });
  return {
    fastPath,
    async score(inputs, rows) {
      const out = await session.run(toFeeds(ort.Tensor as unknown as TensorCtor, inputs, rows), [...outputs]);
      return Object.fromEntries(outputs.map((o) => [o, out[o]!.data as Float32Array] as const));
    },
    close: () => session.release(),
  };
}
