// The tree kernel, emitted as WebAssembly: one function per tree depth and a driver that walks the
// tree directory in ensemble order. Per tree and per vector of 16 rows it tests every node with one
// SIMD byte compare (bin codes against the node's cut), picks each row's path through the tree with
// bit-selects (level ℓ's decision is chosen among that level's node tests by the decisions above it),
// and adds each row's leaf value to its float32 accumulator. No branches depend on the data, and the
// leaf values are added in tree order in float32, exactly as ONNX Runtime's single-threaded loop does.
// The kernel knows only depths: thresholds, slots and leaves are in the tree tables (layout.ts).
import {
  DIRECTORY_DEPTH,
  DIRECTORY_ENTRY_BYTES,
  DIRECTORY_TABLE,
  LANES,
  LEAF_BYTES,
  MAX_DEPTH,
  WASM_PAGE_BYTES,
  treeTableLayout,
} from './layout.ts';
import { FunctionBuilder, I32, ModuleBuilder, OP, SIMD, V128, type ValueType } from './wasm.ts';

/** Parameters of every depth function and of the driver's calls: table, block, accumulators, vectors. */
const TREE_PARAMS: ValueType[] = [I32, I32, I32, I32];
const P_TABLE = 0,
  P_BLOCK = 1,
  P_ACC = 2,
  P_VECTORS = 3;

/** Pushes node n's test for the current vector: block bytes of its slot > its cut (biased, signed). */
function nodeTest(f: FunctionBuilder, n: number, cutsAt: number, rowsAt: number): void {
  f.get(rowsAt)
    .get(P_TABLE)
    .mem(OP.i32Load, 4, n * 4)
    .op(OP.i32Add)
    .v128(SIMD.v128Load, 0);
  f.get(P_TABLE).v128(SIMD.v128Load, cutsAt + n * 16);
  f.simd(SIMD.i8x16GtS);
}

/**
 * The function for trees of depth `depth`. Level ℓ's decision (all-ones = right) is reduced from
 * its 2^ℓ node tests like a binary counter: tests of sibling pairs merge under the decision of
 * level ℓ-1, pairs of pairs under level ℓ-2, and so on, so at most ℓ partial results are live.
 */
function treeFunction(depth: number): FunctionBuilder {
  const f = new FunctionBuilder(TREE_PARAMS, []);
  const { cutsAt, leavesAt } = treeTableLayout(depth);
  const vector = f.local(I32),
    rowsAt = f.local(I32),
    accAt = f.local(I32);
  const decision = Array.from({ length: depth }, () => f.local(V128));
  const partial = Array.from({ length: depth }, () => f.local(V128));
  const index = f.local(V128);
  f.i32(0).set(vector).get(P_BLOCK).set(rowsAt).get(P_ACC).set(accAt);
  f.block().loop();
  for (let level = 0; level < depth; level++) {
    const first = 2 ** level - 1;
    for (let j = 0; j < 2 ** level; j++) {
      nodeTest(f, first + j, cutsAt, rowsAt);
      let h = 0;
      while ((j >> h) & 1) {
        // Stack: this subtree's decision (right half); under it the left half's, chosen by level (ℓ-1-h).
        f.get(partial[h]!)
          .get(decision[level - 1 - h]!)
          .simd(SIMD.v128Bitselect);
        h++;
      }
      f.set(h < level ? partial[h]! : decision[level]!);
    }
  }
  // Leaf index per lane: the decisions are the bits of the path, the root's the most significant.
  if (depth === 0) f.i32(0).simd(SIMD.i8x16Splat).set(index);
  for (let level = 0; level < depth; level++) {
    f.get(decision[level]!)
      .i32(1 << (depth - 1 - level))
      .simd(SIMD.i8x16Splat)
      .simd(SIMD.v128And);
    if (level > 0) f.get(index).simd(SIMD.v128Or);
    f.set(index);
  }
  for (let lane = 0; lane < LANES; lane++) {
    f.get(accAt)
      .get(accAt)
      .mem(OP.f32Load, 4, lane * LEAF_BYTES);
    f.get(P_TABLE)
      .get(index)
      .simd(SIMD.i8x16ExtractLaneU, lane)
      .i32(2)
      .op(OP.i32Shl)
      .op(OP.i32Add)
      .mem(OP.f32Load, 4, leavesAt);
    f.op(OP.f32Add).mem(OP.f32Store, 4, lane * LEAF_BYTES);
  }
  f.get(rowsAt).i32(LANES).op(OP.i32Add).set(rowsAt);
  f.get(accAt)
    .i32(LANES * LEAF_BYTES)
    .op(OP.i32Add)
    .set(accAt);
  f.get(vector).i32(1).op(OP.i32Add).tee(vector).get(P_VECTORS).op(OP.i32LtU).op(OP.brIf, 0);
  f.end().end();
  return f;
}

/**
 * score(directory, trees, block, acc, vectors): every tree of the directory, in order, over the
 * block's first `vectors` vectors of rows. Dispatches on depth with a br_table.
 */
function driver(depthFunctions: number[]): FunctionBuilder {
  const f = new FunctionBuilder([I32, I32, I32, I32, I32], []);
  const [dir, trees, block, acc, vectors] = [0, 1, 2, 3, 4];
  const t = f.local(I32),
    entry = f.local(I32);
  f.i32(0).set(t); // trees ≥ 1: the caller scores an empty ensemble without the kernel
  f.block().loop();
  f.get(dir).get(t).i32(DIRECTORY_ENTRY_BYTES).op(OP.i32Mul).op(OP.i32Add).set(entry);
  const cases = depthFunctions.length;
  f.block(); // after the cases
  for (let c = 0; c < cases; c++) f.block();
  f.get(entry).mem(OP.i32Load, 4, DIRECTORY_DEPTH);
  f.op(OP.brTable, cases, ...Array.from({ length: cases }, (_, i) => i), cases - 1);
  for (let c = 0; c < cases; c++) {
    f.end();
    f.get(entry).mem(OP.i32Load, 4, DIRECTORY_TABLE).get(block).get(acc).get(vectors).call(depthFunctions[c]!);
    f.op(OP.br, cases - 1 - c);
  }
  f.end();
  f.get(t).i32(1).op(OP.i32Add).tee(t).get(trees).op(OP.i32LtU).op(OP.brIf, 0);
  f.end().end();
  return f;
}

/**
 * The kernel module's bytes for trees up to `maxDepth` deep: exports `score`; imports its memory as
 * env.memory. Each depth's function is twice the size of the one below, so a model gets only the
 * depths it needs.
 */
function kernelBytes(maxDepth = MAX_DEPTH): Uint8Array {
  const m = new ModuleBuilder();
  // The driver is function 0; depth functions follow (indices 1 + depth).
  const depthFunctions = Array.from({ length: maxDepth + 1 }, (_, d) => 1 + d);
  m.add(driver(depthFunctions), 'score');
  for (let d = 0; d <= maxDepth; d++) m.add(treeFunction(d));
  return m.bytes();
}

const compiled = new Map<number, WebAssembly.Module>();

/** The compiled kernel for trees up to `maxDepth` deep (compiled once per thread and depth; models share it). */
export function kernelModule(maxDepth = MAX_DEPTH): WebAssembly.Module {
  let module = compiled.get(maxDepth);
  if (!module) {
    module = new WebAssembly.Module(kernelBytes(maxDepth));
    compiled.set(maxDepth, module);
  }
  return module;
}

export interface KernelInstance {
  memory: WebAssembly.Memory;
  score(directory: number, trees: number, block: number, acc: number, vectors: number): void;
}

/**
 * An instance of the kernel over a new memory of `bytes`; `module` is the compiled kernel for the
 * program's depth (a worker gets it from its parent).
 */
export function instantiateKernel(bytes: number, module: WebAssembly.Module): KernelInstance {
  const memory = new WebAssembly.Memory({ initial: Math.ceil(bytes / WASM_PAGE_BYTES) });
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  return { memory, score: instance.exports.score as KernelInstance['score'] };
}
