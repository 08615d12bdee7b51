// Typed columns → ONNX Runtime tensors → predictions. The ONNX contract: one [N,1] input per
// feature named as the feature, float for numeric/boolean (NaN = missing), string for
// categorical ("" = missing); one float [N,1] output `prediction`. No per-row objects here.
import ort from 'onnxruntime-node';
import type { Table } from '../data/index.ts';
import { ConfigError } from '../errors/index.ts';
import type { Signature } from '../registry/index.ts';

export const OUTPUT_NAME = 'prediction';

export interface InputPlan {
  name: string;
  tensor: 'float' | 'string';
}

/** The inputs `signature` implies, checked against what the session declares. */
export function inputPlan(signature: Signature, session: ort.InferenceSession, where: string): InputPlan[] {
  const declared = new Map(session.inputMetadata.map((m) => [m.name, m] as const));
  const plan = signature.features.map((f): InputPlan => ({ name: f.name, tensor: f.type === 'categorical' ? 'string' : 'float' }));
  const problems: string[] = [];
  for (const p of plan) {
    const m = declared.get(p.name);
    if (!m) problems.push(`no input "${p.name}"`);
    else if (m.isTensor && m.type !== (p.tensor === 'float' ? 'float32' : 'string')) problems.push(`input "${p.name}" is tensor(${m.type}), expected tensor(${p.tensor})`);
  }
  const extra = [...declared.keys()].filter((n) => !plan.some((p) => p.name === n));
  if (extra.length) problems.push(`inputs not in the signature: ${extra.join(', ')}`);
  if (!session.outputNames.includes(OUTPUT_NAME)) problems.push(`no output "${OUTPUT_NAME}" (has ${session.outputNames.join(', ')})`);
  if (problems.length) throw new ConfigError(`${where} does not follow the ONNX contract: ${problems.join('; ')}`);
  return plan;
}

/** Rows of `table` not flagged in `bad`, as ORT feeds; `rows` is how many went in. */
export function buildFeeds(plan: readonly InputPlan[], table: Table, bad?: Uint8Array): { feeds: Record<string, ort.Tensor>; rows: number } {
  let rows = table.rows;
  if (bad) for (let i = 0; i < table.rows; i++) rows -= bad[i]!;
  const all = rows === table.rows;
  const feeds: Record<string, ort.Tensor> = {};
  for (const p of plan) {
    const col = table.columns.get(p.name);
    if (!col) throw new Error(`table has no column "${p.name}"`);
    if (p.tensor === 'float') {
      if (col.kind !== 'numeric') throw new Error(`column "${p.name}" is ${col.kind}, expected numeric`);
      const src = col.values;
      let out: Float32Array;
      if (all) out = new Float32Array(src);
      else {
        out = new Float32Array(rows);
        for (let i = 0, o = 0; i < table.rows; i++) if (!bad![i]) out[o++] = src[i]!;
      }
      feeds[p.name] = new ort.Tensor('float32', out, [rows, 1]);
    } else {
      if (col.kind !== 'categorical') throw new Error(`column "${p.name}" is ${col.kind}, expected categorical`);
      // The category list's own strings, shared by every row: no string is built per row.
      const cats = col.categories;
      const codes = col.codes;
      const out = new Array<string>(rows);
      for (let i = 0, o = 0; i < table.rows; i++) {
        if (bad?.[i]) continue;
        const c = codes[i]!;
        out[o++] = c < 0 ? '' : cats[c]!;
      }
      feeds[p.name] = new ort.Tensor('string', out, [rows, 1]);
    }
  }
  return { feeds, rows };
}

/** Runs the session; predictions as float32, one per fed row. */
export async function runFeeds(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>, rows: number): Promise<Float32Array> {
  if (rows === 0) return new Float32Array(0);
  const out = await session.run(feeds, [OUTPUT_NAME]);
  return out[OUTPUT_NAME]!.data as Float32Array;
}
