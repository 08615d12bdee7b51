// The fast path of a loaded model: the tree evaluator compiled from its ONNX graph (fast/), proven
// equal to ONNX Runtime on a probe set before it serves. Any difference above the tolerance, or a
// graph the evaluator does not know, leaves the model on ONNX Runtime with the reason recorded.
import type { InferenceSession } from 'onnxruntime-node';
import type { Signature } from '../registry/index.ts';
import { LOSS_ESTIMATOR_INPUT, onnxRuntime } from '../train/index.ts';
import { createEvaluator, type FastEvaluator } from './fast/evaluator.ts';
import { readTreeGraph, type TreeGraph } from './fast/graph.ts';
import { UnsupportedModelError } from './fast/unsupported.ts';
import { probeSet, type ReferenceSample } from './fast/probe.ts';
import { compileProgram, type EvaluatorProgram } from './fast/program.ts';
import type { KeptProof } from './proof-cache.ts';
import { OUTPUT_NAME, toFeeds, type TensorCtor } from './score.ts';

/** Largest relative difference from ONNX Runtime the proof accepts… */
const PROOF_RELATIVE_TOLERANCE = 1e-5;
/** …and the absolute one near zero, where a relative bound means nothing. */
const PROOF_ABSOLUTE_TOLERANCE = 1e-6;

export interface FastPathVerdict {
  /** The fast evaluator serves this model. */
  used: boolean;
  /** Why it does not (null when it does). */
  reason: string | null;
  /** Probe rows scored by both (0 when it never got that far). */
  probe_rows: number;
  /** Largest |fast − ONNX Runtime| over the probe (null when not proven). */
  max_difference: number | null;
  /** The proof was made by an earlier load of the same bytes with the same code, and kept (proof-cache.ts). */
  kept: boolean;
}

export interface FastPathOptions {
  /** false: serve with ONNX Runtime only (MLTK_FAST_PATH=0 sets this for the CLI and the handlers). */
  enabled?: boolean;
  /** The graph output to serve (default the model's prediction; the loss estimator has two heads). */
  output?: string;
  /** Tests: change the graph read from the model before it is compiled (a wrong default direction must be caught). */
  adjustGraph?: (graph: TreeGraph) => void;
  /** Tests: change the compiled program before it is proven (a tampered table must be caught). */
  adjustProgram?: (program: EvaluatorProgram) => void;
}

export interface FastPath {
  evaluator: FastEvaluator | null;
  program: EvaluatorProgram | null;
  verdict: FastPathVerdict;
}

const off = (reason: string, probeRows = 0): FastPath => ({
  evaluator: null,
  program: null,
  verdict: { used: false, reason, probe_rows: probeRows, max_difference: null, kept: false },
});

/** The fast path of a proof kept from an earlier load (proof-cache.ts). */
export function keptFastPath(proof: KeptProof): FastPath {
  return {
    evaluator: createEvaluator(proof.program),
    program: proof.program,
    verdict: { ...proof.verdict, kept: true },
  };
}

/** Within the proof's tolerance (both NaN counts as equal). */
export function agrees(fast: number, reference: number): boolean {
  if (Number.isNaN(fast) || Number.isNaN(reference)) return Number.isNaN(fast) && Number.isNaN(reference);
  return (
    Math.abs(fast - reference) <= Math.max(PROOF_RELATIVE_TOLERANCE * Math.abs(reference), PROOF_ABSOLUTE_TOLERANCE)
  );
}

/** The signature's categories per categorical input (the probe tries each). */
function categoriesOf(signature: Signature): Map<string, string[]> {
  return new Map(
    signature.features.flatMap((f) => (f.type === 'categorical' ? [[f.name, [...f.values]] as const] : [])),
  );
}

/**
 * Compiles the evaluator for `onnx` and proves it on the probe set against `session`, an ONNX Runtime
 * session of the same model on one intra-op thread: it then sums each row's trees in order, in
 * float32, the order the evaluator follows, so an honest evaluator agrees to the last bit. Never
 * throws for a model it cannot serve.
 */
export async function prepareFastPath(
  onnx: Uint8Array,
  signature: Signature,
  reference: ReferenceSample | undefined,
  session: InferenceSession,
  opts: FastPathOptions = {},
): Promise<FastPath> {
  if (opts.enabled === false) return off('disabled (MLTK_FAST_PATH=0)');
  const output = opts.output ?? OUTPUT_NAME;
  let program: EvaluatorProgram;
  try {
    const graph = readTreeGraph(onnx, output);
    opts.adjustGraph?.(graph);
    program = compileProgram(graph);
  } catch (e) {
    if (e instanceof UnsupportedModelError) return off(e.message);
    throw e;
  }
  opts.adjustProgram?.(program);
  const evaluator = createEvaluator(program);
  const probe = probeSet(program, categoriesOf(signature), reference);
  const fast = evaluator.score(probe.inputs, probe.rows);
  const feeds = toFeeds(onnxRuntime().Tensor as unknown as TensorCtor, probe.inputs, probe.rows);
  const expected = (await session.run(feeds, [output]))[output]!.data as Float32Array;
  let max = 0,
    wrong = 0,
    first = -1;
  for (let i = 0; i < probe.rows; i++) {
    if (!agrees(fast[i]!, expected[i]!)) {
      wrong++;
      if (first < 0) first = i;
    }
    const d = Math.abs(fast[i]! - expected[i]!);
    if (d > max) max = d;
  }
  if (wrong > 0) {
    return off(
      `the fast evaluator disagrees with ONNX Runtime on ${wrong} of ${probe.rows} probe rows ` +
        `(first: ${probe.describe(first)}: ${fast[first]} vs ${expected[first]}; tolerance ` +
        `${PROOF_RELATIVE_TOLERANCE} relative, ` +
        `${PROOF_ABSOLUTE_TOLERANCE} absolute near zero)`,
      probe.rows,
    );
  }
  return {
    evaluator,
    program,
    verdict: { used: true, reason: null, probe_rows: probe.rows, max_difference: max, kept: false },
  };
}

const isNumbers = (x: unknown): x is number[] => Array.isArray(x) && x.every((v) => typeof v === 'number');
const isStrings = (x: unknown): x is string[] => Array.isArray(x) && x.every((v) => typeof v === 'string');

/**
 * The reference sample of a stored baseline profile, or undefined when it has none usable. Read
 * loosely (the format is the monitor's, parsed there in full): each feature's name and its numeric
 * sample or its categories, checked by hand — tens of thousands of sample values through a schema
 * library would cost more than the rest of the proof.
 */
export function referenceSample(json: Buffer | undefined): ReferenceSample | undefined {
  if (!json) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(json.toString('utf8'));
  } catch {
    return undefined; // the probe then uses its edge rows only
  }
  const features = (parsed as { features?: unknown } | null)?.features;
  if (!Array.isArray(features)) return undefined;
  const reference: ReferenceSample = new Map();
  // The predictions' sample, for a graph that takes them as an input (the loss estimator's "prediction").
  const prediction = (parsed as { prediction?: { sample?: unknown } | null }).prediction?.sample;
  if (isNumbers(prediction)) reference.set(LOSS_ESTIMATOR_INPUT, prediction);
  for (const f of features as { name?: unknown; sample?: unknown; categories?: unknown }[]) {
    if (typeof f !== 'object' || f === null || typeof f.name !== 'string') return undefined;
    if (f.sample !== undefined && !isNumbers(f.sample)) return undefined;
    if (f.categories !== undefined && !isStrings(f.categories)) return undefined;
    if (f.sample) reference.set(f.name, f.sample);
    else if (f.categories) reference.set(f.name, f.categories);
  }
  return reference;
}
