// Runs the kernels on the main thread plus (threads − 1) worker threads that share every buffer
// through SharedArrayBuffer: per level a histogram-and-split task over column ranges and a
// partition over row chunks, per tree a leaf task over row chunks, each synchronised with Atomics:
// no messages and no copies in the loop (a worker's exception is the one message: it is read
// synchronously, with the worker's stack, once the shared FAILED flag says there is one). Column ranges adapt to
// measured busy time (bundled
// columns cost more to scan than plain ones); any contiguous ranges give the same model.
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { addLeafValues, buildHistogram, levelTask, partitionNodes, scanFeature } from './kernel.ts';
import {
  ENTRY_START,
  KERNEL_CONSTANTS,
  PARTITION_ARRIVED,
  PARTITION_CHUNKS,
  PARTITION_HEADER,
  PARTITION_WIDTH,
} from './layout.ts';

export interface LevelBuffers {
  bins: Uint8Array;
  grad: Float64Array;
  idx: Int32Array;
  hist: Float64Array;
  task: Int32Array;
  taskGrad: Float64Array;
  layout: Int32Array;
  members: Int32Array;
  codeBins: Int32Array;
  params: Float64Array;
  result: Float64Array;
  /** Byte columns in `bins` (features after bundling). */
  columns: number;
  /** Split entries per thread in `result`. */
  maxSplits: number;
  /** Partition entries (see PARTITION_HEADER), left rows per entry and chunk, boundaries, and 2·rows of scratch. */
  ptask: Int32Array;
  /** Leaf task (see LEAF_HEADER). */
  ltask: Float64Array;
  lefts: Int32Array;
  mids: Int32Array;
  scratch: Int32Array;
  /** Per-feature bins, column-major, `rows` each. */
  byFeature: Uint8Array;
  rows: number;
}

const CMD = 0;
const DONE = 1;
const STOP = 2;
const FAILED = 3;
const MODE = 4;
const MODE_LEVEL = 0;
const MODE_PARTITION = 1;
const MODE_LEAVES = 2;
/** ctrl[BOUNDS + t] .. ctrl[BOUNDS + t + 1] is thread t's column range. */
const BOUNDS = 8;
const MAX_THREADS = 64;
const REBALANCE_EVERY = 32;
/** Polls of a shared counter before sleeping on it: tens of microseconds, about one level's serial work. */
const SPIN = 20_000;

// Worker body. tsx/esbuild may wrap functions in __name(); the worker has no such helper, so define it.
const workerSource = (kernels: string[]) => `
const __name = (f) => f;
const { parentPort } = require('node:worker_threads');
${Object.entries(KERNEL_CONSTANTS)
  .map(([name, value]) => `const ${name} = ${value};`)
  .join('\n')}
const buildHistogram = ${kernels[0]};
const scanFeature = ${kernels[1]};
const levelTask = ${kernels[2]};
const partitionNodes = ${kernels[3]};
const addLeafValues = ${kernels[4]};
// One message per training; the worker then serves that training's levels until told to stop.
parentPort.on('message', (job) => serve(job.buffers, job.ctrl, job.busy, job.thread, job.errors));
function serve(b, ctrl, busy, me, errors) {
let seen = 0;
for (;;) {
  // Spin briefly first: the next level usually comes within microseconds, sooner than a futex wake-up.
  // A timed wait re-checks the counter: a wake-up lost to a signal (profilers send them) costs ms, not a hang.
  for (let spin = 0; spin < ${SPIN} && Atomics.load(ctrl, ${CMD}) === seen; spin++);
  while (Atomics.load(ctrl, ${CMD}) === seen) Atomics.wait(ctrl, ${CMD}, seen, 20);
  seen = Atomics.load(ctrl, ${CMD});
  if (Atomics.load(ctrl, ${STOP}) === 1) break;
  try {
    if (Atomics.load(ctrl, ${MODE}) === ${MODE_PARTITION}) {
      partitionNodes(b.ptask, b.lefts, b.idx, b.byFeature, b.scratch, b.rows, me);
    } else if (Atomics.load(ctrl, ${MODE}) === ${MODE_LEAVES}) {
      addLeafValues(b.ltask, b.idx, b.byFeature, b.grad, b.rows, me);
    } else {
      const t0 = performance.now();
      levelTask(b.bins, b.grad, b.idx, b.hist, b.task, b.taskGrad, b.layout, b.members, b.codeBins, b.params, b.result,
        b.columns, ctrl[${BOUNDS} + me], ctrl[${BOUNDS} + me + 1], me * b.maxSplits);
      busy[me] += performance.now() - t0;
    }
  } catch (e) {
    // The main thread is blocked in Atomics.wait and cannot see 'error' events: post the error on this
    // training's port first (the main thread reads it synchronously), then raise the flag it polls.
    errors.postMessage({ name: e?.name ?? 'Error', message: String(e?.message ?? e), stack: e?.stack });
    Atomics.store(ctrl, ${FAILED}, 1);
  }
  Atomics.add(ctrl, ${DONE}, 1);
  Atomics.notify(ctrl, ${DONE});
}
}
`;

/**
 * Workers kept between trainings. A new worker runs the kernels unoptimised for its first few
 * dozen trees (about 0.1 s of a 300-tree training); a reused one is already warm. Idle workers
 * are unref'd, so they never keep the process alive.
 */
const idleWorkers: Worker[] = [];
const POOL_MAX_HELD_BYTES = 32 * 2 ** 20;
let source: string | undefined;

async function takeWorker(): Promise<Worker> {
  const reused = idleWorkers.pop();
  if (reused) {
    reused.ref();
    return reused;
  }
  source ??= workerSource([
    buildHistogram.toString(),
    scanFeature.toString(),
    levelTask.toString(),
    partitionNodes.toString(),
    addLeafValues.toString(),
  ]);
  const w = new Worker(source, { eval: true });
  // A worker that dies (it should not) must never be handed out again.
  w.once('exit', () => {
    const i = idleWorkers.indexOf(w);
    if (i >= 0) idleWorkers.splice(i, 1);
  });
  await new Promise<void>((resolve, reject) => {
    w.once('online', resolve);
    w.once('error', reject);
  });
  return w;
}

/** Allocates a typed array on shared memory when workers will read it, plain memory otherwise. */
export function sharedArray<T extends Float64Array | Int32Array | Uint8Array>(
  ctor: { new (buf: ArrayBufferLike): T; BYTES_PER_ELEMENT: number },
  length: number,
  shared: boolean,
): T {
  const bytes = length * ctor.BYTES_PER_ELEMENT;
  return new ctor(shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
}

export class LevelRunner {
  private readonly workers: Worker[] = [];
  /** Per worker, the port its exceptions arrive on (read with receiveMessageOnPort). */
  private readonly errorPorts: MessagePort[] = [];
  private readonly ctrl: Int32Array;
  /** Per thread: milliseconds spent in level tasks since the last rebalance. */
  private readonly busy: Float64Array;
  private readonly count: number;
  private round = 0;
  private levels = 0;

  private constructor(
    private readonly b: LevelBuffers,
    threads: number,
  ) {
    const C = b.columns;
    this.count = Math.max(1, Math.min(threads, C, MAX_THREADS));
    this.ctrl = new Int32Array(new SharedArrayBuffer(4 * (BOUNDS + MAX_THREADS + 1)));
    this.busy = new Float64Array(new SharedArrayBuffer(8 * this.count));
    for (let t = 0; t <= this.count; t++) this.ctrl[BOUNDS + t] = Math.floor((t * C) / this.count);
  }

  /** Starts the workers and resolves once each is running; `threads` counts the main thread. */
  static async start(b: LevelBuffers, threads: number): Promise<LevelRunner> {
    const runner = new LevelRunner(b, threads);
    const taken = await Promise.allSettled([...Array(runner.count - 1).keys()].map(() => takeWorker()));
    for (const t of taken) if (t.status === 'fulfilled') runner.workers.push(t.value);
    const failed = taken.find((t) => t.status === 'rejected');
    if (failed) {
      await Promise.all(runner.workers.map((w) => w.terminate()));
      throw failed.reason;
    }
    for (const [i, w] of runner.workers.entries()) {
      const { port1, port2 } = new MessageChannel();
      runner.errorPorts.push(port1);
      w.postMessage({ buffers: b, ctrl: runner.ctrl, busy: runner.busy, thread: i + 1, errors: port2 }, [port2]);
    }
    return runner;
  }

  get threads(): number {
    return this.count;
  }

  /** Runs the level task in `task` on all threads; returns when every column range is done. */
  run(): void {
    const b = this.b;
    this.dispatch(MODE_LEVEL, () => {
      const t0 = performance.now();
      levelTask(
        b.bins,
        b.grad,
        b.idx,
        b.hist,
        b.task,
        b.taskGrad,
        b.layout,
        b.members,
        b.codeBins,
        b.params,
        b.result,
        b.columns,
        this.ctrl[BOUNDS]!,
        this.ctrl[BOUNDS + 1]!,
        0,
      );
      this.busy[0]! += performance.now() - t0;
    });
    if (++this.levels % REBALANCE_EVERY === 0) this.rebalance();
  }

  /** Moves one column across each boundary whose two threads differ in busy time by over 15%. */
  private rebalance(): void {
    const { ctrl, busy } = this;
    for (let t = 0; t + 1 < this.count; t++) {
      const lo = ctrl[BOUNDS + t]!;
      const mid = ctrl[BOUNDS + t + 1]!;
      const hi = ctrl[BOUNDS + t + 2]!;
      if (busy[t]! > busy[t + 1]! * 1.15 && mid - lo > 1) ctrl[BOUNDS + t + 1] = mid - 1;
      else if (busy[t + 1]! > busy[t]! * 1.15 && hi - mid > 1) ctrl[BOUNDS + t + 1] = mid + 1;
    }
    busy.fill(0);
  }

  /**
   * Runs the partitions in `ptask`, each node split into one chunk per thread; writes each node's boundary to `mids`.
   */
  partition(): void {
    const b = this.b;
    const T = this.count;
    b.ptask[PARTITION_CHUNKS] = T;
    b.ptask[PARTITION_ARRIVED] = 0;
    this.dispatch(MODE_PARTITION, () => partitionNodes(b.ptask, b.lefts, b.idx, b.byFeature, b.scratch, b.rows, 0));
    for (let e = 0; e < b.ptask[0]!; e++) {
      let mid = b.ptask[PARTITION_HEADER + PARTITION_WIDTH * e + ENTRY_START]!;
      for (let t = 0; t < T; t++) mid += b.lefts[e * T + t]!;
      b.mids[e] = mid;
    }
  }

  /** Adds the leaf values in `ltask` to the gradients, each entry split into one chunk per thread. */
  addLeaves(): void {
    const b = this.b;
    b.ltask[PARTITION_CHUNKS] = this.count;
    this.dispatch(MODE_LEAVES, () => addLeafValues(b.ltask, b.idx, b.byFeature, b.grad, b.rows, 0));
  }

  private dispatch(mode: number, own: () => void): void {
    const expected = this.round + this.workers.length;
    if (this.workers.length) {
      Atomics.store(this.ctrl, MODE, mode);
      Atomics.add(this.ctrl, CMD, 1);
      Atomics.notify(this.ctrl, CMD);
    }
    own();
    for (let spin = 0; spin < SPIN && Atomics.load(this.ctrl, DONE) !== expected; spin++);
    for (;;) {
      const done = Atomics.load(this.ctrl, DONE);
      if (done === expected) break;
      Atomics.wait(this.ctrl, DONE, done, 20);
    }
    this.round = expected;
    if (Atomics.load(this.ctrl, FAILED)) throw this.workerFailure();
  }

  /** The first worker exception posted, as an error with the worker's message and stack. */
  private workerFailure(): Error {
    for (const [i, port] of this.errorPorts.entries()) {
      const posted = receiveMessageOnPort(port)?.message as
        | { name: string; message: string; stack?: string }
        | undefined;
      if (!posted) continue;
      const cause = Object.assign(new Error(posted.message), { name: posted.name, stack: posted.stack });
      const err = new Error(`training worker thread ${i + 1} failed: ${posted.name}: ${posted.message}`, { cause });
      err.stack = `${err.name}: ${err.message}\n  in the worker:\n${posted.stack ?? '(no stack)'}`;
      return err;
    }
    return new Error('a training worker thread failed without reporting why');
  }

  /**
   * Ends this training's loop in every worker and returns the workers to the idle pool, or ends them after a large
   * training.
   */
  async close(): Promise<void> {
    Atomics.store(this.ctrl, STOP, 1);
    Atomics.add(this.ctrl, CMD, 1);
    Atomics.notify(this.ctrl, CMD);
    const workers = this.workers.splice(0);
    for (const port of this.errorPorts.splice(0)) port.close();
    // A worker that threw is never reused: its state after the exception is unknown.
    if (Atomics.load(this.ctrl, FAILED)) {
      await Promise.all(workers.map((w) => w.terminate()));
      return;
    }
    // An idle worker collects no garbage, so it keeps this training's shared buffers alive: pool it only when they are
    // small.
    const b = this.b;
    const held =
      b.bins.byteLength +
      b.byFeature.byteLength +
      b.hist.byteLength +
      b.grad.byteLength +
      b.idx.byteLength +
      b.scratch.byteLength;
    if (held > POOL_MAX_HELD_BYTES) {
      await Promise.all(workers.map((w) => w.terminate()));
      return;
    }
    for (const w of workers) {
      w.unref();
      idleWorkers.push(w);
    }
  }
}
