// The probe set that proves a fast evaluator equal to ONNX Runtime before it serves: rows from the
// model's baseline reference sample, plus edge rows built from the program itself — every threshold
// of every feature hit exactly and by the next float32 above it, every input missing, every category
// (and the empty and an unknown one), derived features at their thresholds and with zero denominators.
import type { InputColumn } from '../score.ts';
import type { Expression } from './graph.ts';
import type { EvaluatorProgram } from './program.ts';

/** Rows taken from the baseline's reference sample (its features' samples, combined row by row). */
export const PROBE_SAMPLE_ROWS = 1000;
/** A category no model knows: the LabelEncoder's default applies. */
export const UNKNOWN_CATEGORY = '\u0000mltk-probe-unknown';

/** Per input, the reference values the baseline profile recorded (numeric samples or category names). */
export type ReferenceSample = Map<string, number[] | string[]>;

export interface ProbeSet {
  inputs: InputColumn[];
  rows: number;
  /** Why each row is in the set (for the message when a row disagrees). */
  why: string[];
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The next float32 above t (t finite). */
function nextUp(t: number): number {
  if (t === 0) return 2 ** -149;
  f32[0] = t;
  u32[0] = t > 0 ? u32[0]! + 1 : u32[0]! - 1;
  return f32[0]!;
}

/** One probe row: per input, its float value or its category code (by input index; the other entry unused). */
interface RowBuilder {
  float: Float64Array;
  category: Int32Array;
  why: string;
}

export function probeSet(
  program: EvaluatorProgram,
  categoriesOf: Map<string, string[]>,
  reference?: ReferenceSample,
): ProbeSet {
  const { inputs } = program;
  // Categorical inputs get their signature's categories plus one nobody knows.
  const categories = inputs.map((input) =>
    input.type === 'string' ? [...(categoriesOf.get(input.name) ?? []), UNKNOWN_CATEGORY] : [],
  );
  const base = baseRow(program, reference);
  const rows: RowBuilder[] = [];
  const row = (why: string, floats: [number, number][] = [], cats: [number, number][] = []) => {
    const float = base.float.slice(),
      category = base.category.slice();
    for (const [k, v] of floats) float[k] = v;
    for (const [k, v] of cats) category[k] = v;
    rows.push({ float, category, why });
  };
  addReferenceRows(program, reference, categories, row);
  program.features.forEach((feature, f) => {
    for (const t of feature.thresholds) {
      if (!Number.isFinite(t)) continue;
      for (const [x, how] of [
        [t, 'at'],
        [nextUp(t), 'just above'],
      ] as const) {
        const set = valueFor(feature.expression, x);
        if (set) row(`feature ${f} ${how} threshold ${t}`, set);
      }
    }
  });
  inputs.forEach((input, k) => {
    if (input.type === 'float') {
      for (const x of [NaN, Infinity, -Infinity, 0, -0]) row(`${input.name} = ${x}`, [[k, x]]);
    } else {
      for (let c = -1; c < categories[k]!.length; c++)
        row(`${input.name} = ${c < 0 ? '(missing)' : JSON.stringify(categories[k]![c])}`, [], [[k, c]]);
    }
  });
  zeroDenominators(
    program.features.map((f) => f.expression),
    row,
  );
  row(
    'every input missing',
    inputs.flatMap((input, k) => (input.type === 'float' ? [[k, NaN] as [number, number]] : [])),
    inputs.flatMap((input, k) => (input.type === 'string' ? [[k, -1] as [number, number]] : [])),
  );
  return { inputs: columns(program, categories, rows), rows: rows.length, why: rows.map((r) => r.why) };
}

/** A base row: each input's reference median, else zero, and its first category. */
function baseRow(program: EvaluatorProgram, reference?: ReferenceSample): Omit<RowBuilder, 'why'> {
  const float = new Float64Array(program.inputs.length),
    category = new Int32Array(program.inputs.length);
  program.inputs.forEach((input, k) => {
    const sample = reference?.get(input.name);
    if (input.type === 'float' && typeof sample?.[0] === 'number')
      float[k] = Math.fround(sample[Math.floor(sample.length / 2)] as number);
  });
  return { float, category };
}

/** Rows combining the inputs' reference samples: row i takes each sample at its own stride, so inputs are not aligned. */
function addReferenceRows(
  program: EvaluatorProgram,
  reference: ReferenceSample | undefined,
  categories: string[][],
  row: (why: string, floats: [number, number][], cats: [number, number][]) => void,
): void {
  if (!reference) return;
  const n = Math.min(PROBE_SAMPLE_ROWS, Math.max(0, ...[...reference.values()].map((s) => s.length)));
  for (let i = 0; i < n; i++) {
    const floats: [number, number][] = [],
      cats: [number, number][] = [];
    program.inputs.forEach((input, k) => {
      const sample = reference.get(input.name);
      if (!sample || sample.length === 0) return;
      const v = sample[(i * (2 * k + 1) + k) % sample.length]!;
      if (input.type === 'float' && typeof v === 'number') floats.push([k, Math.fround(v)]);
      else if (input.type === 'string' && typeof v === 'string')
        cats.push([k, Math.max(-1, categories[k]!.indexOf(v))]);
    });
    row(`reference sample row ${i}`, floats, cats);
  }
}

/** Input values that make `e` equal x (float32), when e is an input or simple arithmetic on two inputs. */
function valueFor(e: Expression, x: number): [number, number][] | undefined {
  if (e.kind === 'input') return [[e.input, x]];
  if (e.kind !== 'arithmetic' || e.a.kind !== 'input' || e.b.kind !== 'input' || e.a.input === e.b.input)
    return undefined;
  // x / 1, x * 1, x - 0, x + 0 are x exactly.
  const identity = e.op === 'Div' || e.op === 'Mul' ? 1 : 0;
  return [
    [e.a.input, x],
    [e.b.input, identity],
  ];
}

function zeroDenominators(expressions: Expression[], row: (why: string, floats: [number, number][]) => void): void {
  for (const e of expressions) {
    if (
      e.kind !== 'arithmetic' ||
      e.op !== 'Div' ||
      e.a.kind !== 'input' ||
      e.b.kind !== 'input' ||
      e.a.input === e.b.input
    )
      continue;
    for (const a of [0, 1, -1, NaN])
      for (const b of [0, -0])
        row(`derived ${a} / ${Object.is(b, -0) ? '-0' : '0'}`, [
          [e.a.input, a],
          [e.b.input, b],
        ]);
  }
}

function columns(program: EvaluatorProgram, categories: string[][], rows: RowBuilder[]): InputColumn[] {
  return program.inputs.map((input, k): InputColumn => {
    if (input.type === 'float') return { name: input.name, values: Float32Array.from(rows, (r) => r.float[k]!) };
    return { name: input.name, codes: Int32Array.from(rows, (r) => r.category[k]!), categories: categories[k]! };
  });
}
