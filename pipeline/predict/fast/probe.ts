// The probe set that proves a fast evaluator equal to ONNX Runtime before it serves: rows from the
// model's baseline reference sample (every other one with one input missing, so the learned default
// directions are taken along hundreds of different paths through every tree), plus edge rows built
// from the program itself — every threshold of every feature hit exactly and by the next float32
// above it, every input missing, ±∞ and ±0, every category (and the empty and an unknown one),
// derived features at their thresholds and with zero denominators.
import type { InputColumn } from '../score.ts';
import type { Expression } from './graph.ts';
import type { EvaluatorProgram } from './program.ts';

/** Rows taken from the baseline's reference sample (its features' samples, combined row by row). */
const PROBE_SAMPLE_ROWS = 1000;
/** A category no model knows: the LabelEncoder's default applies. */
export const UNKNOWN_CATEGORY = '\u0000mltk-probe-unknown';

/** Per input, the reference values the baseline profile recorded (numeric samples or category names). */
export type ReferenceSample = Map<string, number[] | string[]>;

export interface ProbeSet {
  inputs: InputColumn[];
  rows: number;
  /** Why row `r` is in the set (for the message when a row disagrees). */
  describe(row: number): string;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The next float32 above t (t finite). */
export function nextUp(t: number): number {
  if (t === 0) return 2 ** -149;
  f32[0] = t;
  u32[0] = t > 0 ? u32[0]! + 1 : u32[0]! - 1;
  return f32[0]!;
}

/**
 * Probe rows as changes to a base row: row r sets inputs at[starts[r]…starts[r+1]) to the values
 * beside them (a float, or a category code by the input's index), the rest keep the base row's.
 * Built column by column at the end; a row's reason is a function, formatted only if it disagrees.
 */
class ProbeRows {
  readonly starts: number[] = [0];
  readonly at: number[] = [];
  readonly values: number[] = [];
  readonly why: (() => string)[] = [];

  add(why: () => string, ...changes: number[]): void {
    for (let j = 0; j < changes.length; j += 2) {
      this.at.push(changes[j]!);
      this.values.push(changes[j + 1]!);
    }
    this.starts.push(this.at.length);
    this.why.push(why);
  }

  /** Ends the row being built with `add`-style changes pushed one by one (reference rows). */
  set(input: number, value: number): void {
    this.at.push(input);
    this.values.push(value);
  }
  end(why: () => string): void {
    this.starts.push(this.at.length);
    this.why.push(why);
  }

  get count(): number {
    return this.why.length;
  }
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
  const rows = new ProbeRows();
  addReferenceRows(program, reference, categories, rows);
  program.features.forEach((feature, f) => {
    for (const t of feature.thresholds) {
      if (!Number.isFinite(t)) continue;
      for (const [x, how] of [
        [t, 'at'],
        [nextUp(t), 'just above'],
      ] as const) {
        const set = valueFor(feature.expression, x);
        if (set) rows.add(() => `feature ${f} ${how} threshold ${t}`, ...set);
      }
    }
  });
  inputs.forEach((input, k) => {
    if (input.type === 'float') {
      for (const x of [NaN, Infinity, -Infinity, 0, -0]) rows.add(() => `${input.name} = ${x}`, k, x);
    } else {
      for (let c = -1; c < categories[k]!.length; c++)
        rows.add(() => `${input.name} = ${c < 0 ? '(missing)' : JSON.stringify(categories[k]![c])}`, k, c);
    }
  });
  zeroDenominators(
    program.features.map((f) => f.expression),
    rows,
  );
  rows.add(() => 'every input missing', ...inputs.flatMap((input, k) => [k, input.type === 'float' ? NaN : -1]));
  return {
    inputs: columns(program, categories, baseRow(program, reference), rows),
    rows: rows.count,
    describe: (r) => rows.why[r]!(),
  };
}

/** A base row: each input's reference median, else zero; categorical inputs their first category. */
function baseRow(program: EvaluatorProgram, reference?: ReferenceSample): Float64Array {
  const base = new Float64Array(program.inputs.length);
  program.inputs.forEach((input, k) => {
    const sample = reference?.get(input.name);
    if (input.type === 'float' && typeof sample?.[0] === 'number')
      base[k] = Math.fround(sample[Math.floor(sample.length / 2)] as number);
  });
  return base;
}

/**
 * Rows combining the inputs' reference samples: row i takes each sample at its own stride, so inputs
 * are not aligned. Every odd row also has one input missing, a different one each time (cycling
 * through the inputs), so missing values meet the trees far from any single base row's paths.
 */
function addReferenceRows(
  program: EvaluatorProgram,
  reference: ReferenceSample | undefined,
  categories: string[][],
  rows: ProbeRows,
): void {
  if (!reference) return;
  const n = Math.min(PROBE_SAMPLE_ROWS, Math.max(0, ...[...reference.values()].map((s) => s.length)));
  const width = program.inputs.length;
  for (let i = 0; i < n; i++) {
    const missing = i % 2 === 1 ? (i >> 1) % width : -1;
    program.inputs.forEach((input, k) => {
      if (k === missing) {
        rows.set(k, input.type === 'float' ? NaN : -1);
        return;
      }
      const sample = reference.get(input.name);
      if (!sample || sample.length === 0) return;
      const v = sample[(i * (2 * k + 1) + k) % sample.length]!;
      if (input.type === 'float' && typeof v === 'number') rows.set(k, Math.fround(v));
      else if (input.type === 'string' && typeof v === 'string') rows.set(k, Math.max(-1, categories[k]!.indexOf(v)));
    });
    rows.end(() =>
      missing < 0
        ? `reference sample row ${i}`
        : `reference sample row ${i} with ${program.inputs[missing]!.name} missing`,
    );
  }
}

/**
 * Input changes (input, value, …) that make `e` equal x (float32), when e is an input or simple arithmetic on two
 * inputs.
 */
function valueFor(e: Expression, x: number): number[] | undefined {
  if (e.kind === 'input') return [e.input, x];
  if (e.kind !== 'arithmetic' || e.a.kind !== 'input' || e.b.kind !== 'input' || e.a.input === e.b.input)
    return undefined;
  // x / 1, x * 1, x - 0, x + 0 are x exactly.
  return [e.a.input, x, e.b.input, e.op === 'Div' || e.op === 'Mul' ? 1 : 0];
}

function zeroDenominators(expressions: Expression[], rows: ProbeRows): void {
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
        rows.add(() => `derived ${a} / ${Object.is(b, -0) ? '-0' : '0'}`, e.a.input, a, e.b.input, b);
  }
}

/** The rows as input columns: each column the base value, then each row's changes. */
function columns(
  program: EvaluatorProgram,
  categories: string[][],
  base: Float64Array,
  rows: ProbeRows,
): InputColumn[] {
  const n = rows.count;
  const out = program.inputs.map(
    (input, k): InputColumn =>
      input.type === 'float'
        ? { name: input.name, values: new Float32Array(n).fill(base[k]!) }
        : { name: input.name, codes: new Int32Array(n), categories: categories[k]! },
  );
  for (let r = 0; r < n; r++) {
    for (let j = rows.starts[r]!; j < rows.starts[r + 1]!; j++) {
      const col = out[rows.at[j]!]!;
      if ('values' in col) col.values[r] = rows.values[j]!;
      else col.codes[r] = rows.values[j]!;
    }
  }
  return out;
}
