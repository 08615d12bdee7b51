// Grows one regression tree level by level on binned features: histograms for the smaller child
// only (the larger is parent − smaller), rows partitioned stably in one index array except under
// splits whose children are both leaves.
import type { BinnedFeatures } from './binning.ts';
import { bundleColumns } from './bundles.ts';
import { COLUMN_STRIDE, LEAF_HEADER, LEAF_WIDTH, PARTITION_HEADER, PARTITION_WIDTH, RESULT_WIDTH, TASK_HEADER } from './kernel.ts';
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

  /** Shared buffers sized for the widest level this depth and leaf size allow; the caller sets the first gradients in `grad`. */
  static async create(data: BinnedFeatures, p: GrowParams, threads: number): Promise<TreeGrower> {
    const n = data.rows;
    const bundled = bundleColumns(data);
    const C = bundled.columns;
    const widest = Math.max(1, Math.min(2 ** (p.maxDepth - 1), Math.floor(n / (2 * p.minLeaf))));
    const slots = widest + 1;
    const slotBytes = C * COLUMN_STRIDE * 8;
    if (slots * slotBytes > HIST_BUDGET_BYTES) {
      throw new TrainingError(`max_depth ${p.maxDepth} with ${n} rows and ${data.features} features needs ${Math.ceil((slots * slotBytes) / 2 ** 20)} MiB of histograms (limit ${HIST_BUDGET_BYTES / 2 ** 20} MiB); lower max_depth or raise min_samples_leaf`);
    }
    const shared = threads > 1;
    const bins = shared ? sharedArray(Uint8Array, bundled.bins.length, true) : bundled.bins;
    if (shared) bins.set(bundled.bins);
    const buffers: LevelBuffers = {
      bins,
      grad: sharedArray(Float64Array, n, shared),
      idx: sharedArray(Int32Array, n, shared),
      hist: sharedArray(Float64Array, slots * C * COLUMN_STRIDE, shared),
      task: sharedArray(Int32Array, TASK_HEADER + 7 * slots, shared),
      taskGrad: sharedArray(Float64Array, slots, shared),
      layout: sharedArray(Int32Array, bundled.layout.length, shared),
      members: sharedArray(Int32Array, bundled.members.length, shared),
      codeBins: sharedArray(Int32Array, bundled.codeBins.length, shared),
      params: sharedArray(Float64Array, 2, shared),
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
    buffers.params[0] = p.lambda;
    buffers.params[1] = p.minLeaf;
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
    const { b, p, data } = this;
    const n = data.rows;
    const idx = b.idx;
    idx.set(this.allRows);
    let rootG = 0;
    for (let i = 0; i < n; i++) rootG += b.grad[i]!;

    const feature: number[] = [], threshold: number[] = [], defaultLeft: number[] = [], left: number[] = [], right: number[] = [];
    const start: number[] = [], end: number[] = [], G: number[] = [], C: number[] = [], slot: number[] = [];
    const addNode = (s: number, e: number, g: number) => {
      feature.push(-1); threshold.push(0); defaultLeft.push(0); left.push(-1); right.push(-1);
      start.push(s); end.push(e); G.push(g); C.push(e - s); slot.push(-1);
      return feature.length - 1;
    };
    const canSplit = (count: number, depth: number) => depth < p.maxDepth && count >= 2 * p.minLeaf;
    const splittable = (node: number, depth: number) => canSplit(C[node]!, depth);
    // Splits whose children are both leaves: their rows are not partitioned, the leaf update tests the split itself.
    const terminal: { node: number; bin: number }[] = [];

    addNode(0, n, rootG);
    let level: number[] = [];
    const builds: number[] = [];
    const subs: number[] = [];
    if (splittable(0, 0)) {
      slot[0] = this.free.pop()!;
      builds.push(0, n, slot[0]);
      level.push(0);
    }
    for (let depth = 0; level.length; depth++) {
      this.writeTask(builds, subs, level.map((node) => [slot[node]!, C[node]!, G[node]!] as const));
      builds.length = 0;
      subs.length = 0;
      this.runner.run();
      const next: number[] = [];
      const splits: { node: number; leftGrad: number; leftCount: number }[] = [];
      const pt = b.ptask;
      level.forEach((node, e) => {
        const best = this.bestSplit(e);
        if (best.feature < 0 || best.gain <= p.minSplitGain) {
          this.free.push(slot[node]!);
          return;
        }
        feature[node] = best.feature;
        threshold[node] = data.edges[best.feature]![best.bin]!;
        defaultLeft[node] = best.defaultLeft;
        if (!canSplit(best.leftCount, depth + 1) && !canSplit(C[node]! - best.leftCount, depth + 1)) {
          const mid = start[node]! + best.leftCount;
          left[node] = addNode(start[node]!, mid, best.leftGrad);
          right[node] = addNode(mid, end[node]!, G[node]! - best.leftGrad);
          terminal.push({ node, bin: best.bin });
          this.free.push(slot[node]!);
          return;
        }
        const o = PARTITION_HEADER + PARTITION_WIDTH * splits.length;
        pt[o] = start[node]!; pt[o + 1] = end[node]!; pt[o + 2] = best.feature; pt[o + 3] = best.bin; pt[o + 4] = best.defaultLeft;
        splits.push({ node, leftGrad: best.leftGrad, leftCount: best.leftCount });
      });
      pt[0] = splits.length;
      if (splits.length) this.runner.partition();
      splits.forEach(({ node, leftGrad, leftCount }, e) => {
        const mid = b.mids[e]!;
        if (mid - start[node]! !== leftCount) throw new Error(`partition disagrees with histogram: ${mid - start[node]!} vs ${leftCount}`);
        const l = addNode(start[node]!, mid, leftGrad);
        const r = addNode(mid, end[node]!, G[node]! - leftGrad);
        left[node] = l;
        right[node] = r;
        const okL = splittable(l, depth + 1);
        const okR = splittable(r, depth + 1);
        const parentSlot = slot[node]!;
        if (okL && okR) {
          const [small, large] = C[l]! <= C[r]! ? [l, r] : [r, l];
          slot[small] = this.free.pop()!;
          slot[large] = parentSlot;
          builds.push(start[small]!, end[small]!, slot[small]);
          subs.push(parentSlot, slot[small]);
          next.push(l, r);
        } else if (okL || okR) {
          const only = okL ? l : r;
          slot[only] = parentSlot;
          builds.push(start[only]!, end[only]!, parentSlot);
          next.push(only);
        } else {
          this.free.push(parentSlot);
        }
      });
      level = next;
    }

    const value = new Float32Array(feature.length);
    for (let node = 0; node < feature.length; node++) {
      if (left[node]! < 0) value[node] = (-p.learningRate * G[node]!) / (C[node]! + p.lambda);
    }
    const lt = b.ltask;
    let entries = 0;
    const entry = (node: number, f: number, bin: number, vLeft: number, vRight: number) => {
      const o = LEAF_HEADER + LEAF_WIDTH * entries++;
      lt[o] = start[node]!; lt[o + 1] = end[node]!; lt[o + 2] = f; lt[o + 3] = bin; lt[o + 4] = defaultLeft[node]!; lt[o + 5] = vLeft; lt[o + 6] = vRight;
    };
    const inTerminal = new Uint8Array(feature.length);
    for (const { node, bin } of terminal) {
      const l = left[node]!, r = right[node]!;
      inTerminal[l] = inTerminal[r] = 1;
      entry(node, feature[node]!, bin, value[l]!, value[r]!);
    }
    for (let node = 0; node < feature.length; node++) {
      if (left[node]! < 0 && !inTerminal[node]) entry(node, -1, 0, value[node]!, value[node]!);
    }
    lt[0] = entries;
    this.runner.addLeaves();
    return {
      feature: Int32Array.from(feature),
      threshold: Float32Array.from(threshold),
      defaultLeft: Uint8Array.from(defaultLeft),
      left: Int32Array.from(left),
      right: Int32Array.from(right),
      value,
    };
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
      if (res[r + 1]! >= 0 && (bestAt < 0 || res[r]! > res[bestAt]!)) bestAt = r;
    }
    if (bestAt < 0) return { gain: 0, feature: -1, bin: -1, defaultLeft: 0, leftGrad: 0, leftCount: 0 };
    return { gain: res[bestAt]!, feature: res[bestAt + 1]!, bin: res[bestAt + 2]!, defaultLeft: res[bestAt + 3]!, leftGrad: res[bestAt + 4]!, leftCount: res[bestAt + 5]! };
  }
}
