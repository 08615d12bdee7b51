// Typed columns → ONNX Runtime tensors → predictions. The ONNX contract: one [N,1] input per
// feature named as the feature, float for numeric/boolean (NaN = missing), string for
// categorical ("" = missing); one float [N,1] output `prediction`. No per-row objects here.
import type ort from 'onnxruntime-node';
import type { Table } from '../data/index.ts';
import { ConfigError } from '../errors/index.ts';
import type { Signature } from '../registry/index.ts';
// From its own module, not train's index: the scoring worker loads this file (see score-worker.ts).
import { onnxRuntime } from '../train/onnx/runtime.ts';

export const OUTPUT_NAME = 'prediction';

export interface InputPlan {
  name: string;
  tensor: 'float' | 'string';
}

/** The inputs `signature` implies. */
export function signaturePlan(signature: Signature): InputPlan[] {
  return signature.features.map((f) => ({ name: f.name, tensor: f.type === 'categorical' ? 'string' : 'float' }));
}

/** The inputs `signature` implies, checked against what the session declares. */
export function inputPlan(signature: Signature, session: ort.InferenceSession, where: string): InputPlan[] {
  const declared = new Map(session.inputMetadata.map((m) => [m.name, m] as const));
  const plan = signaturePlan(signature);
  const problems: string[] = [];
  for (const p of plan) {
    const m = declared.get(p.name);
    if (!m) problems.push(`no input "${p.name}"`);
    else if (m.isTensor && m.type !== (p.tensor === 'float' ? 'float32' : 'string'))
      problems.push(`input "${p.name}" is tensor(${m.type}), expected tensor(${p.tensor})`);
  }
  const extra = [...declared.keys()].filter((n) => !plan.some((p) => p.name === n));
  if (extra.length) problems.push(`inputs not in the signature: ${extra.join(', ')}`);
  if (!session.outputNames.includes(OUTPUT_NAME))
    problems.push(`no output "${OUTPUT_NAME}" (has ${session.outputNames.join(', ')})`);
  if (problems.length) throw new ConfigError(`${where} does not follow the ONNX contract: ${problems.join('; ')}`);
  return plan;
}

/** One model input as plain typed arrays: what crosses to a scoring worker without copying strings. */
export type InputColumn =
  | { name: string; values: Float32Array }
  | { name: string; codes: Int32Array; categories: string[] };

/** Rows of `table` not flagged in `bad`, as typed input columns; `rows` is how many went in. */
export function buildInputs(
  plan: readonly InputPlan[],
  table: Table,
  bad?: Uint8Array,
): { inputs: InputColumn[]; rows: number } {
  let rows = table.rows;
  if (bad) for (let i = 0; i < table.rows; i++) rows -= bad[i]!;
  const all = rows === table.rows;
  const inputs: InputColumn[] = [];
  for (const p of plan) {
    const col = table.columns.get(p.name);
    if (!col) throw new Error(`table has no column "${p.name}"`);
    if (p.tensor === 'float') {
      if (col.kind !== 'numeric') throw new Error(`column "${p.name}" is ${col.kind}, expected numeric`);
      const src = col.values;
      let values: Float32Array;
      if (all) values = new Float32Array(src);
      else {
        values = new Float32Array(rows);
        for (let i = 0, o = 0; i < table.rows; i++) if (!bad![i]) values[o++] = src[i]!;
      }
      inputs.push({ name: p.name, values });
    } else {
      if (col.kind !== 'categorical') throw new Error(`column "${p.name}" is ${col.kind}, expected categorical`);
      let codes: Int32Array;
      if (all) codes = col.codes.slice();
      else {
        codes = new Int32Array(rows);
        for (let i = 0, o = 0; i < table.rows; i++) if (!bad![i]) codes[o++] = col.codes[i]!;
      }
      inputs.push({ name: p.name, codes, categories: col.categories });
    }
  }
  return { inputs, rows };
}

export type TensorCtor = new (type: 'float32' | 'string', data: Float32Array | string[], dims: number[]) => ort.Tensor;

/**
 * ORT feeds from input columns. Categorical strings are the category list's own strings, shared
 * by every row: no string is built per row. Self-contained on purpose: the scoring worker runs
 * this very function (its source is sent to the worker), so both paths build identical tensors.
 */
export function toFeeds(Tensor: TensorCtor, inputs: readonly InputColumn[], rows: number): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const input of inputs) {
    if ('values' in input) {
      feeds[input.name] = new Tensor('float32', input.values, [rows, 1]);
      continue;
    }
    const { codes, categories } = input;
    const out = new Array<string>(rows);
    for (let i = 0; i < rows; i++) {
      const c = codes[i]!;
      out[i] = c < 0 ? '' : categories[c]!;
    }
    feeds[input.name] = new Tensor('string', out, [rows, 1]);
  }
  return feeds;
}

/** Rows of `table` not flagged in `bad`, as ORT feeds; `rows` is how many went in. */
export function buildFeeds(
  plan: readonly InputPlan[],
  table: Table,
  bad?: Uint8Array,
): { feeds: Record<string, ort.Tensor>; rows: number } {
  const { inputs, rows } = buildInputs(plan, table, bad);
  return { feeds: toFeeds(onnxRuntime().Tensor as unknown as TensorCtor, inputs, rows), rows };
}

/** Runs the session; predictions as float32, one per fed row. */
export async function runFeeds(
  session: ort.InferenceSession,
  feeds: Record<string, ort.Tensor>,
  rows: number,
): Promise<Float32Array> {
  if (rows === 0) return new Float32Array(0);
  const out = await session.run(feeds, [OUTPUT_NAME]);
  return out[OUTPUT_NAME]!.data as Float32Array;
}
