// The fast evaluator: a program (program.ts) in a kernel instance. Scores typed input columns, the
// same ones the ONNX Runtime path turns into tensors (score.ts InputColumn), block by block: feature
// values are computed in float32 as the graph computes them, coded to bins, and the kernel sums the
// trees; the base value is added last, as ONNX Runtime does.
import type { InputColumn } from '../score.ts';
import type { Expression } from './graph.ts';
import { instantiateKernel, kernelModule, type KernelInstance } from './kernel.ts';
import { BIN_BIAS, BLOCK_ROWS, LANES, MISSING_CODE_LEFT, SLOT_MISSING_LEFT } from './layout.ts';
import type { EvaluatorProgram } from './program.ts';

export interface FastEvaluator {
  program: EvaluatorProgram;
  /** Predictions for `rows` rows of `inputs` (named as the graph's inputs). */
  score(inputs: readonly InputColumn[], rows: number): Float32Array;
}

/** Float32 arithmetic as the graph's Div/Mul/Sub/Add on float tensors (exact: a double op then one rounding). */
function apply(op: Extract<Expression, { kind: 'arithmetic' }>['op'], a: number, b: number): number {
  switch (op) {
    case 'Div':
      return Math.fround(a / b);
    case 'Mul':
      return Math.fround(a * b);
    case 'Sub':
      return Math.fround(a - b);
    case 'Add':
      return Math.fround(a + b);
  }
}

/** The value a LabelEncoder gives each category of `categories` (code -1, the empty string, last). */
function encodedTable(e: Extract<Expression, { kind: 'encoded' }>, categories: readonly string[]): Float32Array {
  const lookup = (s: string) => {
    const k = e.keys.indexOf(s);
    return k < 0 ? e.fallback : e.values[k]!;
  };
  const table = new Float32Array(categories.length + 1);
  categories.forEach((c, i) => {
    table[i] = lookup(c);
  });
  table[categories.length] = lookup('');
  return table;
}

const BYTE_MASK = 0xff;
/** Thresholds up to which a feature's rank is a plain count; above, a lookup on the value's top bits first. */
const LINEAR_RANK_MAX = 16;
/** Bits of the order-preserving float key that pick a rank bucket (65,536 buckets). */
const BUCKET_SHIFT = 16;
const SIGN_BIT = 0x80000000;

/**
 * Where a feature's rank search starts: for each bucket of values sharing the top 16 bits of their
 * order-preserving float32 key, the number of thresholds below the bucket. A value's rank is then
 * that count plus a short scan over the thresholds inside its bucket.
 */
interface RankIndex {
  thresholds: Float64Array;
  buckets: Uint8Array | null;
}

/** Float32 bits as an unsigned key with the same order as the values (NaN aside). */
const orderedKey = (bits: number): number => ((bits & SIGN_BIT) !== 0 ? ~bits : bits | SIGN_BIT) >>> 0;

const keyScratch = new Float32Array(1);
const keyBits = new Uint32Array(keyScratch.buffer);

function rankIndex(sorted: Float64Array): RankIndex {
  // x <= -0 and x <= 0 are the same test; +0 keeps the key order equal to the value order.
  const thresholds = sorted.map((t) => (t === 0 ? 0 : t));
  if (thresholds.length <= LINEAR_RANK_MAX) return { thresholds, buckets: null };
  const buckets = new Uint8Array(1 << (32 - BUCKET_SHIFT));
  // Bucket b starts with the count of thresholds in buckets below b: threshold i raises it for every bucket after its
  // own.
  let from = 0;
  for (let i = 0; i < thresholds.length; i++) {
    keyScratch[0] = thresholds[i]!;
    const own = orderedKey(keyBits[0]!) >>> BUCKET_SHIFT;
    buckets.fill(i, from, own + 1);
    from = Math.max(from, own + 1);
  }
  buckets.fill(thresholds.length, from);
  return { thresholds, buckets };
}

/** Left-slot codes of n float32 values: missing 0, else rank + 1 (how many thresholds are below it, plus one). */
function leftCodes(index: RankIndex, values: Float32Array, n: number, out: Int32Array): void {
  const { thresholds, buckets } = index;
  const m = thresholds.length;
  if (buckets === null) {
    for (let i = 0; i < n; i++) {
      const x = values[i]!;
      let r = 1;
      for (let j = 0; j < m; j++) if (thresholds[j]! < x) r++;
      out[i] = Number.isNaN(x) ? MISSING_CODE_LEFT : r;
    }
    return;
  }
  const bits = new Uint32Array(values.buffer, values.byteOffset, n);
  for (let i = 0; i < n; i++) {
    const x = values[i]!;
    if (Number.isNaN(x)) {
      out[i] = MISSING_CODE_LEFT;
      continue;
    }
    let r = buckets[orderedKey(bits[i]!) >>> BUCKET_SHIFT]!;
    while (r < m && thresholds[r]! < x) r++;
    out[i] = r + 1;
  }
}

/** ONNX's Relu on a float: max(0, x). */
const relu = (x: number): number => Math.max(0, x);

/**
 * The evaluator of `program`; `module` is its compiled kernel (kernelModule(program.depth), compiled here if not
 * given).
 */
export function createEvaluator(program: EvaluatorProgram, module?: WebAssembly.Module): FastEvaluator {
  const kernel: KernelInstance = instantiateKernel(program.memory.bytes, module ?? kernelModule(program.depth));
  new Uint8Array(kernel.memory.buffer).set(program.image);
  const block = new Uint8Array(kernel.memory.buffer, program.memory.blockAt, program.slots.length * BLOCK_ROWS);
  const acc = new Float32Array(kernel.memory.buffer, program.memory.accAt, BLOCK_ROWS);
  const slotsOf = program.features.map((_, f) => program.slots.flatMap((s, k) => (s.feature === f ? [k] : [])));
  const scratch = new Map<Expression, Float32Array>();
  const buffer = (e: Expression) => {
    let b = scratch.get(e);
    if (!b) {
      b = new Float32Array(BLOCK_ROWS);
      scratch.set(e, b);
    }
    return b;
  };
  const tables = new Map<Expression, { categories: readonly string[]; table: Float32Array }>();

  /** Float32 values of `e` for rows [from, from + n) into its scratch buffer. */
  const evaluate = (e: Expression, byInput: (InputColumn | undefined)[], from: number, n: number): Float32Array => {
    const out = buffer(e);
    if (e.kind === 'input') {
      const col = byInput[e.input];
      if (!col || !('values' in col))
        throw new Error(`internal: no float column for input ${program.inputs[e.input]?.name}`);
      out.set(col.values.subarray(from, from + n));
    } else if (e.kind === 'encoded') {
      const col = byInput[e.input];
      if (!col || !('codes' in col))
        throw new Error(`internal: no categorical column for input ${program.inputs[e.input]?.name}`);
      let cached = tables.get(e);
      if (cached?.categories !== col.categories) {
        cached = { categories: col.categories, table: encodedTable(e, col.categories) };
        tables.set(e, cached);
      }
      const missing = col.categories.length;
      for (let i = 0; i < n; i++) {
        const c = col.codes[from + i]!;
        out[i] = cached.table[c < 0 ? missing : c]!;
      }
    } else {
      const a = evaluate(e.a, byInput, from, n),
        b = evaluate(e.b, byInput, from, n);
      for (let i = 0; i < n; i++) out[i] = apply(e.op, a[i]!, b[i]!);
    }
    return out;
  };

  const ranks = program.features.map((f) => rankIndex(f.thresholds));
  const codes = new Int32Array(BLOCK_ROWS);

  const fillBlock = (byInput: (InputColumn | undefined)[], from: number, n: number) => {
    program.features.forEach((feature, f) => {
      const slots = slotsOf[f]!;
      if (slots.length === 0) return;
      leftCodes(ranks[f]!, evaluate(feature.expression, byInput, from, n), n, codes);
      for (const k of slots) {
        // A right slot's code is the left one's minus 1, mod 256 (missing 0 → 255); the bias is + 128, mod 256.
        const shift = program.slots[k]!.side === SLOT_MISSING_LEFT ? BIN_BIAS : BIN_BIAS - 1;
        const base = k * BLOCK_ROWS;
        for (let i = 0; i < n; i++) block[base + i] = (codes[i]! + shift) & BYTE_MASK;
      }
    });
  };

  return {
    program,
    score(inputs, rows) {
      const out = new Float32Array(rows);
      if (program.trees === 0) return out.fill(program.relu ? relu(program.base) : program.base);
      const byInput = program.inputs.map((input) => inputs.find((c) => c.name === input.name));
      for (let from = 0; from < rows; from += BLOCK_ROWS) {
        const n = Math.min(BLOCK_ROWS, rows - from);
        fillBlock(byInput, from, n);
        const vectors = Math.ceil(n / LANES);
        acc.fill(0, 0, vectors * LANES);
        kernel.score(program.memory.directoryAt, program.trees, program.memory.blockAt, program.memory.accAt, vectors);
        for (let i = 0; i < n; i++) out[from + i] = Math.fround(acc[i]! + program.base);
        if (program.relu) for (let i = 0; i < n; i++) out[from + i] = relu(out[from + i]!);
      }
      return out;
    },
  };
}
