// Grows one regression tree level by level on binned features: histograms for the smaller child
// only (the larger is parent − smaller), rows partitioned stably in one index array except under
// splits whose children are both leaves.
import type { BinnedFeatures } from './binning.ts';
import { bundleColumns } from './bundles.ts';
import {
  COLUMN_STRIDE,
  ENTRY_BIN,
  ENTRY_END,
  ENTRY_FEATURE,
  ENTRY_LEFT_VALUE,
  ENTRY_MISSING_LEFT,
  ENTRY_RIGHT_VALUE,
  ENTRY_START,
  LEAF_HEADER,
  LEAF_WIDTH,
  PARAM_LAMBDA,
  PARAM_MIN_LEAF,
  PARTITION_HEADER,
  PARTITION_WIDTH,
  RESULT_BIN,
  RESULT_DEFAULT_LEFT,
  RESULT_FEATURE,
  RESULT_GAIN,
  RESULT_LEFT_COUNT,
  RESULT_LEFT_GRAD,
  RESULT_WIDTH,
  TASK_BUILD_WIDTH,
  TASK_HEADER,
  TASK_SPLIT_WIDTH,
  TASK_SUB_WIDTH,
} from './layout.ts';
import { LevelRunner, sharedArray, type LevelBuffers } from './threads.ts';
import { TrainingError } from '../errors/index.ts';

export interface GrowParams {
  maxDepth: number;
  minLeaf: number;
  lambda: number;
  minSplitGain: number;
  learningRate: number;
}

/** One tree; node 0 is the root, leaves have left = -1. Thresholds are float32: x ≤ t goes left. */
export interface Tree {
  feature: Int32Array;
  threshold: Float32Array;
  defaultLeft: Uint8Array;
  left: Int32Array;
  right: Int32Array;
  /** Leaf values, learning rate applied; float32 so the ONNX export holds exactly the same numbers. */
  value: Float32Array;
}

const HIST_BUDGET_BYTES = 512 * 1024 * 1024;

/** A split whose children both stay leaves, with the bin its leaf update tests. */
interface TerminalSplit {
  node: number;
  bin: number;
}
/** A split sent to the partition task; its children are added once the rows are partitioned. */
interface PendingSplit {
  node: number;
  leftGrad: number;
  leftCount: number;
}
/** The nodes of the level being split, and the histogram builds and subtractions planned for it. */
interface LevelWork {
  level: number[];
  builds: number[];
  subs: number[];
}

/** A tree under construction: one entry per node in parallel arrays, plus each node's row range and sums. */
class NodeTable {
  readonly feature: number[] = [];
  readonly threshold: number[] = [];
  readonly defaultLeft: number[] = [];
  readonly left: number[] = [];
  readonly right: number[] = [];
  /** The node's rows are idx[start, end). */
  readonly start: number[] = [];
  readonly end: number[] = [];
  /** Gradient sum and row count. */
  readonly G: number[] = [];
  readonly C: number[] = [];
  /** Histogram slot of a node still to split, −1 otherwise. */
  readonly slot: number[] = [];

  get size(): number {
    return this.feature.length;
  }

  add(start: number, end: number, gradSum: number): number {
    this.feature.push(-1);
    this.threshold.push(0);
    this.defaultLeft.push(0);
    this.left.push(-1);
    this.right.push(-1);
    this.start.push(start);
    this.end.push(end);
    this.G.push(gradSum);
    this.C.push(end - start);
    this.slot.push(-1);
    return this.feature.length - 1;
  }

  toTree(value: Float32Array): Tree {
    return {
      feature: Int32Array.from(this.feature),
      threshold: Float32Array.from(this.threshold),
      defaultLeft: Uint8Array.from(this.defaultLeft),
      left: Int32Array.from(this.left),
      right: Int32Array.from(this.right),
      value,
    };
  }
}

export class TreeGrower {
  private readonly free: number[] = [];
  /** 0, 1, …, rows − 1: every tree starts from all rows in order, and a copy is cheaper than a loop. */
  private readonly allRows: Int32Array;

  private constructor(
    private readonly data: BinnedFeatures,
    private readonly p: GrowParams,
    private readonly b: LevelBuffers,
    private readonly runner: LevelRunner,
    slots: number,
  ) {
    for (let s = slots - 1; s >= 0; s--) this.free.push(s);
    this.allRows = new Int32Array(data.rows);
    for (let i = 0; i < data.rows; i++) this.allRows[i] = i;
  }

  /**
   * Shared buffers sized for the widest level this depth and leaf size allow; the caller sets the first gradients in
   * `grad`.
   */
  static async create(data: BinnedFeatures, p: GrowParams, threads: number): Promise<TreeGrower> {
    const n = data.rows;
    const bundled = bundleColumns(data);
    const C = bundled.columns;
    const widest = Math.max(1, Math.min(2 ** (p.maxDepth - 1), Math.floor(n / (2 * p.minLeaf))));
    const slots = widest + 1;
    const slotBytes = C * COLUMN_STRIDE * 8;
    if (slots * slotBytes > HIST_BUDGET_BYTES) {
      throw new TrainingError(
        `max_depth ${p.maxDepth} with ${n} rows and ${data.features} features needs ` +
          `${Math.ceil((slots * slotBytes) / 2 ** 20)} MiB of histograms (limit ${HIST_BUDGET_BYTES / 2 ** 20} MiB); ` +
          `lower max_depth or raise min_samples_leaf`,
      );
    }
    const shared = threads > 1;
    const bins = shared ? sharedArray(Uint8Array, bundled.bins.length, true) : bundled.bins;
    if (shared) bins.set(bundled.bins);
    const buffers: LevelBuffers = {
      bins,
      grad: sharedArray(Float64Array, n, shared),
      idx: sharedArray(Int32Array, n, shared),
      hist: sharedArray(Float64Array, slots * C * COLUMN_STRIDE, shared),
      // Each slot is at most one build, one subtraction and one split of a level.
      task: sharedArray(
        Int32Array,
        TASK_HEADER + (TASK_BUILD_WIDTH + TASK_SUB_WIDTH + TASK_SPLIT_WIDTH) * slots,
        shared,
      ),
      taskGrad: sharedArray(Float64Array, slots, shared),
      layout: sharedArray(Int32Array, bundled.layout.length, shared),
      members: sharedArray(Int32Array, bundled.members.length, shared),
      codeBins: sharedArray(Int32Array, bundled.codeBins.length, shared),
      params: sharedArray(Float64Array, Math.max(PARAM_LAMBDA, PARAM_MIN_LEAF) + 1, shared),
      result: sharedArray(Float64Array, threads * slots * RESULT_WIDTH, shared),
      columns: C,
      maxSplits: slots,
      ptask: sharedArray(Int32Array, PARTITION_HEADER + PARTITION_WIDTH * slots, shared),
      // A tree has at most 2·widest + 1 leaves.
      ltask: sharedArray(Float64Array, LEAF_HEADER + LEAF_WIDTH * (2 * widest + 2), shared),
      lefts: sharedArray(Int32Array, threads * slots, shared),
      mids: sharedArray(Int32Array, slots, false),
      scratch: sharedArray(Int32Array, 2 * n, shared),
      byFeature: shared ? sharedArray(Uint8Array, data.byFeature.length, true) : data.byFeature,
      rows: n,
    };
    if (shared) buffers.byFeature.set(data.byFeature);
    buffers.layout.set(bundled.layout);
    buffers.members.set(bundled.members);
    buffers.codeBins.set(bundled.codeBins);
    buffers.params[PARAM_LAMBDA] = p.lambda;
    buffers.params[PARAM_MIN_LEAF] = p.minLeaf;
    const runner = await LevelRunner.start(buffers, threads);
    return new TreeGrower(data, p, buffers, runner, slots);
  }

  /** Gradients per binned row, prediction − target: each tree adds its leaf values. */
  get grad(): Float64Array {
    return this.b.grad;
  }

  close(): Promise<void> {
    return this.runner.close();
  }

  /** Grows a tree on the current gradients and adds its leaf values to them. */
  grow(): Tree {
    const n = this.data.rows;
    this.b.idx.set(this.allRows);
    let rootG = 0;
    for (let i = 0; i < n; i++) rootG += this.b.grad[i]!;
    const nodes = new NodeTable();
    // Splits whose children are both leaves: their rows are not partitioned, the leaf update tests the split itself.
    const terminal: TerminalSplit[] = [];
    nodes.add(0, n, rootG);
    const work: LevelWork = { level: [], builds: [], subs: [] };
    if (this.splittable(nodes.C[0]!, 0)) {
      nodes.slot[0] = this.free.pop()!;
      work.builds.push(0, n, nodes.slot[0]);
      work.level.push(0);
    }
    for (let depth = 0; work.level.length; depth++) {
      this.writeTask(
        work.builds,
        work.subs,
        work.level.map((node) => [nodes.slot[node]!, nodes.C[node]!, nodes.G[node]!] as const),
      );
      work.builds.length = 0;
      work.subs.length = 0;
      this.runner.run();
      const splits = this.chooseSplits(nodes, work.level, depth, terminal);
      this.b.ptask[0] = splits.length;
      if (splits.length) this.runner.partition();
      work.level = this.applySplits(nodes, splits, depth, work);
    }
    const value = new Float32Array(nodes.size);
    for (let node = 0; node < nodes.size; node++) {
      if (nodes.left[node]! < 0)
        value[node] = (-this.p.learningRate * nodes.G[node]!) / (nodes.C[node]! + this.p.lambda);
    }
    this.updateLeaves(nodes, terminal, value);
    return nodes.toTree(value);
  }

  private splittable(count: number, depth: number): boolean {
    return depth < this.p.maxDepth && count >= 2 * this.p.minLeaf;
  }

  /**
   * Reads each level node's best split from the threads' results: a node without a useful split stays a
   * leaf; a split whose children both stay leaves is terminal (no partition); the rest go into the
   * partition task, in level order.
   */
  private chooseSplits(nodes: NodeTable, level: number[], depth: number, terminal: TerminalSplit[]): PendingSplit[] {
    const splits: PendingSplit[] = [];
    const pt = this.b.ptask;
    for (const [e, node] of level.entries()) {
      const best = this.bestSplit(e);
      if (best.feature < 0 || best.gain <= this.p.minSplitGain) {
        this.free.push(nodes.slot[node]!);
        continue;
      }
      nodes.feature[node] = best.feature;
      nodes.threshold[node] = this.data.edges[best.feature]![best.bin]!;
      nodes.defaultLeft[node] = best.defaultLeft;
      const count = nodes.C[node]!;
      if (!this.splittable(best.leftCount, depth + 1) && !this.splittable(count - best.leftCount, depth + 1)) {
        const mid = nodes.start[node]! + best.leftCount;
        nodes.left[node] = nodes.add(nodes.start[node]!, mid, best.leftGrad);
        nodes.right[node] = nodes.add(mid, nodes.end[node]!, nodes.G[node]! - best.leftGrad);
        terminal.push({ node, bin: best.bin });
        this.free.push(nodes.slot[node]!);
        continue;
      }
      const o = PARTITION_HEADER + PARTITION_WIDTH * splits.length;
      pt[o + ENTRY_START] = nodes.start[node]!;
      pt[o + ENTRY_END] = nodes.end[node]!;
      pt[o + ENTRY_FEATURE] = best.feature;
      pt[o + ENTRY_BIN] = best.bin;
      pt[o + ENTRY_MISSING_LEFT] = best.defaultLeft;
      splits.push({ node, leftGrad: best.leftGrad, leftCount: best.leftCount });
    }
    return splits;
  }

  /**
   * Adds the children of the partitioned splits and plans the next level: the smaller child's histogram
   * is built, the larger one's is the parent's minus it (in the parent's slot). Returns the next level.
   */
  private applySplits(nodes: NodeTable, splits: PendingSplit[], depth: number, work: LevelWork): number[] {
    const next: number[] = [];
    for (const [e, { node, leftGrad, leftCount }] of splits.entries()) {
      const mid = this.b.mids[e]!;
      if (mid - nodes.start[node]! !== leftCount) {
        throw new Error(`partition disagrees with histogram: ${mid - nodes.start[node]!} vs ${leftCount}`);
      }
      const l = nodes.add(nodes.start[node]!, mid, leftGrad);
      const r = nodes.add(mid, nodes.end[node]!, nodes.G[node]! - leftGrad);
      nodes.left[node] = l;
      nodes.right[node] = r;
      const okL = this.splittable(nodes.C[l]!, depth + 1);
      const okR = this.splittable(nodes.C[r]!, depth + 1);
      const parentSlot = nodes.slot[node]!;
      if (okL && okR) {
        const [small, large] = nodes.C[l]! <= nodes.C[r]! ? [l, r] : [r, l];
        nodes.slot[small] = this.free.pop()!;
        nodes.slot[large] = parentSlot;
        work.builds.push(nodes.start[small]!, nodes.end[small]!, nodes.slot[small]);
        work.subs.push(parentSlot, nodes.slot[small]);
        next.push(l, r);
      } else if (okL || okR) {
        const only = okL ? l : r;
        nodes.slot[only] = parentSlot;
        work.builds.push(nodes.start[only]!, nodes.end[only]!, parentSlot);
        next.push(only);
      } else {
        this.free.push(parentSlot);
      }
    }
    return next;
  }

  /** Writes the leaf task (one entry per terminal split, one per other leaf) and runs it on all threads. */
  private updateLeaves(nodes: NodeTable, terminal: TerminalSplit[], value: Float32Array): void {
    const lt = this.b.ltask;
    let entries = 0;
    const entry = (node: number, f: number, bin: number, vLeft: number, vRight: number) => {
      const o = LEAF_HEADER + LEAF_WIDTH * entries++;
      lt[o + ENTRY_START] = nodes.start[node]!;
      lt[o + ENTRY_END] = nodes.end[node]!;
      lt[o + ENTRY_FEATURE] = f;
      lt[o + ENTRY_BIN] = bin;
      lt[o + ENTRY_MISSING_LEFT] = nodes.defaultLeft[node]!;
      lt[o + ENTRY_LEFT_VALUE] = vLeft;
      lt[o + ENTRY_RIGHT_VALUE] = vRight;
    };
    const inTerminal = new Uint8Array(nodes.size);
    for (const { node, bin } of terminal) {
      const l = nodes.left[node]!;
      const r = nodes.right[node]!;
      inTerminal[l] = 1;
      inTerminal[r] = 1;
      entry(node, nodes.feature[node]!, bin, value[l]!, value[r]!);
    }
    for (let node = 0; node < nodes.size; node++) {
      if (nodes.left[node]! < 0 && !inTerminal[node]) entry(node, -1, 0, value[node]!, value[node]!);
    }
    lt[0] = entries;
    this.runner.addLeaves();
  }

  private writeTask(builds: number[], subs: number[], splits: (readonly [number, number, number])[]): void {
    const t = this.b.task;
    t[0] = builds.length / 3;
    t[1] = subs.length / 2;
    t[2] = splits.length;
    let o = TASK_HEADER;
    for (const v of builds) t[o++] = v;
    for (const v of subs) t[o++] = v;
    splits.forEach(([s, c, g], e) => {
      t[o++] = s;
      t[o++] = c;
      this.b.taskGrad[e] = g;
    });
  }

  /** Best split of split entry e over all threads' feature ranges; earlier threads win ties (lower feature index). */
  private bestSplit(e: number) {
    const res = this.b.result;
    let bestAt = -1;
    for (let t = 0; t < this.runner.threads; t++) {
      const r = (t * this.b.maxSplits + e) * RESULT_WIDTH;
      if (res[r + RESULT_FEATURE]! >= 0 && (bestAt < 0 || res[r + RESULT_GAIN]! > res[bestAt + RESULT_GAIN]!))
        bestAt = r;
    }
    if (bestAt < 0) return { gain: 0, feature: -1, bin: -1, defaultLeft: 0, leftGrad: 0, leftCount: 0 };
    return {
      gain: res[bestAt + RESULT_GAIN]!,
      feature: res[bestAt + RESULT_FEATURE]!,
      bin: res[bestAt + RESULT_BIN]!,
      defaultLeft: res[bestAt + RESULT_DEFAULT_LEFT]!,
      leftGrad: res[bestAt + RESULT_LEFT_GRAD]!,
      leftCount: res[bestAt + RESULT_LEFT_COUNT]!,
    };
  }
}
