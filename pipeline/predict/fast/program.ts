// A TreeGraph compiled into the evaluator's program: per feature its sorted thresholds and slots,
// and the memory image (tree directory + tree tables, layout.ts) the kernel reads. Plain data, so a
// scoring worker receives it in a message and builds the same evaluator.
import type { Expression, GraphTree, TreeGraph } from './graph.ts';
import { UnsupportedModelError } from './unsupported.ts';
import {
  ALWAYS_LEFT_CUT,
  BIN_BIAS,
  BLOCK_ROWS,
  CUT_BYTES,
  DIRECTORY_DEPTH,
  DIRECTORY_ENTRY_BYTES,
  DIRECTORY_TABLE,
  LANES,
  LEAF_BYTES,
  MAX_DEPTH,
  MAX_THRESHOLDS,
  SLOT_MISSING_LEFT,
  SLOT_MISSING_RIGHT,
  SLOT_OFFSET_BYTES,
  memoryLayout,
  treeTableLayout,
  type MemoryLayout,
} from './layout.ts';

export interface ProgramFeature {
  expression: Expression;
  /** Distinct thresholds the trees test this feature against, ascending (float32 values). */
  thresholds: Float64Array;
}

export interface ProgramSlot {
  feature: number;
  side: typeof SLOT_MISSING_LEFT | typeof SLOT_MISSING_RIGHT;
}

export interface EvaluatorProgram {
  inputs: TreeGraph['inputs'];
  features: ProgramFeature[];
  slots: ProgramSlot[];
  memory: MemoryLayout;
  /** Bytes [0, memory.blockAt): the tree directory and tables. */
  image: Uint8Array;
  trees: number;
  /** The deepest tree's depth (the kernel is built for trees up to it). */
  depth: number;
  base: number;
  /** Clip each prediction below at 0 after the base is added (TreeGraph.relu). */
  relu: boolean;
}

function depthOf(tree: GraphTree): number {
  const depth = (n: number, seen: number): number => {
    if (seen > tree.feature.length) throw new UnsupportedModelError('a tree has a cycle');
    return tree.leaf[n] ? 0 : 1 + Math.max(depth(tree.left[n]!, seen + 1), depth(tree.right[n]!, seen + 1));
  };
  return depth(0, 0);
}

export function compileProgram(graph: TreeGraph): EvaluatorProgram {
  const width = graph.features.length;
  const thresholdSets = Array.from({ length: width }, () => new Set<number>());
  const depths = graph.trees.map((tree, t) => {
    const d = depthOf(tree);
    if (d > MAX_DEPTH)
      throw new UnsupportedModelError(`tree ${t} is ${d} levels deep; the fast evaluator takes at most ${MAX_DEPTH}`);
    for (let n = 0; n < tree.feature.length; n++)
      if (!tree.leaf[n]) thresholdSets[tree.feature[n]!]!.add(tree.threshold[n]!);
    return d;
  });
  const features = graph.features.map((expression, f): ProgramFeature => {
    const thresholds = Float64Array.from(thresholdSets[f]!).sort();
    if (thresholds.length > MAX_THRESHOLDS) {
      throw new UnsupportedModelError(
        `feature ${f} is tested against ${thresholds.length} distinct thresholds; the fast evaluator takes at most ` +
          `${MAX_THRESHOLDS}`,
      );
    }
    return { expression, thresholds };
  });
  const slots: ProgramSlot[] = [];
  // Slot of (feature, side) at index 2·feature + side; -1 until a node uses it.
  const slotIndex = new Int32Array(2 * width).fill(-1);
  const slotOf = (feature: number, side: ProgramSlot['side']): number => {
    const key = 2 * feature + side;
    if (slotIndex[key] === -1) {
      slotIndex[key] = slots.length;
      slots.push({ feature, side });
    }
    return slotIndex[key]!;
  };
  const layouts = depths.map((d) => treeTableLayout(d));
  const tableBytes = layouts.reduce((s, l) => s + l.bytes, 0);
  const tables = new Uint8Array(tableBytes);
  const views: TableViews = { u8: tables, i32: new Int32Array(tables.buffer), f32: new Float32Array(tables.buffer) };
  let at = 0;
  const tableAt: number[] = [];
  graph.trees.forEach((tree, t) => {
    tableAt.push(at);
    writeTable(views, at, tree, layouts[t]!, features, slotOf);
    at += layouts[t]!.bytes;
  });
  const memory = memoryLayout(graph.trees.length, tableBytes, slots.length);
  const image = new Uint8Array(memory.blockAt);
  image.set(tables, memory.tablesAt);
  const dir = new DataView(image.buffer);
  tableAt.forEach((offset, t) => {
    dir.setInt32(memory.directoryAt + t * DIRECTORY_ENTRY_BYTES + DIRECTORY_TABLE, memory.tablesAt + offset, true);
    dir.setInt32(memory.directoryAt + t * DIRECTORY_ENTRY_BYTES + DIRECTORY_DEPTH, depths[t]!, true);
  });
  return {
    inputs: graph.inputs,
    features,
    slots,
    memory,
    image,
    trees: graph.trees.length,
    depth: Math.max(0, ...depths),
    base: graph.base,
    relu: graph.relu,
  };
}

/**
 * Writes one tree's table at `at`, padding it to a perfect tree: a leaf above the bottom level
 * becomes padding nodes that always go left, down to a bottom leaf holding its value.
 */
function writeTable(
  image: TableViews,
  at: number,
  tree: GraphTree,
  layout: ReturnType<typeof treeTableLayout>,
  features: ProgramFeature[],
  slotOf: (feature: number, side: ProgramSlot['side']) => number,
): void {
  const put = (heap: number, slotOffset: number, cut: number) => {
    image.i32[(at + heap * SLOT_OFFSET_BYTES) / SLOT_OFFSET_BYTES] = slotOffset;
    const cutAt = at + layout.cutsAt + heap * CUT_BYTES;
    image.u8.fill(cut ^ BIN_BIAS, cutAt, cutAt + LANES);
  };
  const fill = (node: number, heap: number, level: number) => {
    if (level === layout.depth) {
      image.f32[(at + layout.leavesAt + (heap - layout.nodes) * LEAF_BYTES) / LEAF_BYTES] = tree.value[node]!;
      return;
    }
    if (tree.leaf[node]) {
      // A leaf above the bottom: padding that always goes left, down to a bottom leaf with its value (the right halves
      // are never reached).
      put(heap, 0, ALWAYS_LEFT_CUT);
      fill(node, 2 * heap + 1, level + 1);
      fill(node, 2 * heap + 2, level + 1);
      return;
    }
    const f = tree.feature[node]!;
    const rank = lowerBound(features[f]!.thresholds, tree.threshold[node]!);
    // Right when rank(x) > rank(t): a left slot codes present values as rank + 1, a right slot as the rank.
    const side = tree.nanLeft[node] ? SLOT_MISSING_LEFT : SLOT_MISSING_RIGHT;
    put(heap, slotOf(f, side) * BLOCK_ROWS, side === SLOT_MISSING_LEFT ? rank + 1 : rank);
    fill(tree.left[node]!, 2 * heap + 1, level + 1);
    fill(tree.right[node]!, 2 * heap + 2, level + 1);
  };
  fill(0, 0, 0);
}

/** Typed views of the table bytes (tables are 16-byte aligned, so every field is naturally aligned). */
interface TableViews {
  u8: Uint8Array;
  i32: Int32Array;
  f32: Float32Array;
}

/** How many of the ascending `sorted` are below x (NaN: 0). */
function lowerBound(sorted: Float64Array, x: number): number {
  let lo = 0;
  let len = sorted.length;
  while (len > 0) {
    const half = len >>> 1;
    if (sorted[lo + half]! < x) {
      lo += half + 1;
      len -= half + 1;
    } else len = half;
  }
  return lo;
}
