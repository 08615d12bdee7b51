// Batch scoring on worker threads (score-worker.ts): the fast evaluator, or onnxruntime-node, whose
// run() blocks the JS thread that calls it. Two ways in: a Scorer takes parsed tables (JSON lines, the
// monitor) and scores them on one worker while this thread parses the next chunk; a block pool takes
// raw CSV blocks and parses, scores and formats them on one worker per core, in parallel, while this
// thread only reads, hashes and writes. Typed arrays cross transferred; CSV blocks in shared memory.
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import type { Table, TablePlan } from '../data/index.ts';
import { InvalidInputError, MltkError, type ErrorCode } from '../errors/index.ts';
import { spawnSiblingWorker } from '../workers/index.ts';
import { kernelModule } from './fast/kernel.ts';
import { lineageSuffix } from './format.ts';
import type { EvaluatorProgram } from './fast/program.ts';
import type { LoadedModel } from './model.ts';
import { buildInputs, OUTPUT_NAME, type InputColumn } from './score.ts';
import { scoreBlock, type BlockContext, type BlockResult } from './block.ts';
import type { ScoringWorkerData, WorkerReply, WorkerRequest } from './score-worker.ts';

export interface Scorer {
  score(table: Table, bad?: Uint8Array): Promise<Float32Array>;
  /** Predictions for prebuilt input columns (their buffers are transferred: unusable here after). */
  scoreInputs(inputs: InputColumn[], rows: number): Promise<Float32Array>;
  close(): Promise<void>;
}

export interface BlockScorers {
  /**
   * Parses, scores and formats a block of whole CSV rows (at most `rowsHint` of them) on the least busy
   * worker; a block in shared memory (BlockBuffers) is read in place, any other is copied.
   */
  score(block: Buffer, rowsHint: number): Promise<BlockResult>;
  readonly workers: number;
  close(): Promise<void>;
}

const spawn = (): Worker => spawnSiblingWorker(import.meta.url, 'score-worker');

/** A spawned worker with its code loaded, not yet given a model. */
interface IdleWorker {
  worker: Worker;
  loaded: Promise<void>;
}

function spawnIdle(): IdleWorker {
  const worker = spawn();
  // Idle workers must not keep the process alive (a command may fail before it scores anything).
  worker.unref();
  const loaded = new Promise<void>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('message', (m: WorkerReply) =>
      'loaded' in m ? resolve() : reject(new Error('scoring worker: unexpected first message')),
    );
  });
  loaded.catch(() => undefined); // reported when the worker is taken
  return { worker, loaded };
}

const warm: IdleWorker[] = [];

/**
 * Starts `count` scoring workers now, before any model is loaded, so loading their code overlaps the
 * model's load and proof on this thread; the next pools take them. For commands that will score.
 */
export function warmUpScoringWorkers(count = defaultScoringWorkers()): void {
  while (warm.length < count) warm.push(spawnIdle());
}

// ORT's pool threads spin between runs by default; here that spinning steals the core the main
// thread needs for parsing the next chunk (measured: ~7% faster on 2 cores without it).
const NO_SPIN = { session: { intra_op: { allow_spinning: '0' } } };

/** A started worker: one request in flight per id, replies matched by id; a dead worker fails them all. */
interface WorkerHandle {
  request(message: Exclude<WorkerRequest, { kind: 'init' }>, transfer?: ArrayBuffer[]): Promise<WorkerReply>;
  inFlight(): number;
  close(): Promise<void>;
}

/** A worker's error reply as the typed error it was (a bad block is bad input, not a crash). */
function replyError(label: string, reply: { error: string; code?: string; details?: MltkError['details'] }): Error {
  if (reply.code === 'INPUT_INVALID') return new InvalidInputError(reply.error, reply.details ?? []);
  if (reply.code) return new MltkError(reply.code as ErrorCode, reply.error, reply.details ?? []);
  return new Error(`${label}: ${reply.error}`);
}

/**
 * What a worker scores a loaded model's prediction with: its proven program, else its ONNX (the CSV block context for
 * block pools).
 */
function modelWorkerData(model: LoadedModel, block: BlockContext | null): ScoringWorkerData {
  return {
    programs: model.fastProgram ? [model.fastProgram] : null,
    kernel: model.fastProgram ? kernelModule(model.fastProgram.depth) : null,
    onnx: model.onnx,
    options: { ...model.sessionOptions, extra: NO_SPIN },
    outputs: [OUTPUT_NAME],
    block,
  };
}

async function startWorker(label: string, data: ScoringWorkerData): Promise<WorkerHandle> {
  const { worker, loaded } = warm.shift() ?? spawnIdle();
  worker.ref();
  await loaded;
  worker.postMessage({ kind: 'init', data } satisfies WorkerRequest);
  const pending = new Map<number, { resolve(v: WorkerReply): void; reject(e: Error): void }>();
  let failure: Error | undefined;
  const failAll = (e: Error) => {
    failure ??= e;
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  };
  await new Promise<void>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('message', (m: WorkerReply) =>
      'ready' in m && m.ready ? resolve() : reject(new Error(`scoring worker: ${'error' in m ? m.error : '?'}`)),
    );
  }).catch(async (e) => {
    await worker.terminate();
    throw e;
  });
  worker.on('message', (m: WorkerReply) => {
    if (!('id' in m)) return;
    const p = pending.get(m.id);
    pending.delete(m.id);
    if ('error' in m) p?.reject(replyError(label, m));
    else p?.resolve(m);
  });
  worker.on('error', failAll);
  worker.on('exit', (code) => failAll(new Error(`scoring worker exited (code ${code})`)));
  return {
    request(message, transfer = []) {
      if (failure) return Promise.reject(failure);
      return new Promise<WorkerReply>((resolve, reject) => {
        pending.set(message.id, { resolve, reject });
        worker.postMessage(message, transfer);
      });
    },
    inFlight: () => pending.size,
    async close() {
      worker.removeAllListeners('exit');
      await worker.terminate();
    },
  };
}

let nextId = 0;

const modelLabel = (model: LoadedModel) => `${model.name} v${model.version}`;

/** Every output's predictions for prebuilt input columns, on one worker, in order (their buffers are transferred). */
function columnScorer(worker: WorkerHandle) {
  return async (inputs: InputColumn[], rows: number, outputs: number): Promise<Float32Array[]> => {
    if (rows === 0) return Array.from({ length: outputs }, () => new Float32Array(0));
    const transfer = inputs.map((i) => ('values' in i ? i.values.buffer : i.codes.buffer)) as ArrayBuffer[];
    const reply = await worker.request({ kind: 'columns', id: nextId++, rows, inputs }, transfer);
    return (reply as { data: Float32Array[] }).data;
  };
}

/** One worker scoring parsed tables, in order. */
export async function startScoringWorker(model: LoadedModel): Promise<Scorer> {
  const worker = await startWorker(modelLabel(model), modelWorkerData(model, null));
  const score = columnScorer(worker);
  const scoreInputs = async (inputs: InputColumn[], rows: number) => (await score(inputs, rows, 1))[0]!;
  return {
    score: (table, bad) => {
      const { inputs, rows } = buildInputs(model.plan, table, bad);
      return scoreInputs(inputs, rows);
    },
    scoreInputs,
    close: () => worker.close(),
  };
}

/** Several outputs of one graph scored on one worker: by their proven programs, else by ONNX Runtime. */
export interface OutputsScorer {
  scoreInputs(inputs: InputColumn[], rows: number): Promise<Float32Array[]>;
  close(): Promise<void>;
}

/**
 * A worker scoring `outputs` of `onnx`: with `programs` (one per output, each proven), or with ONNX Runtime when null.
 */
export async function startOutputsWorker(
  label: string,
  onnx: Uint8Array,
  outputs: string[],
  programs: EvaluatorProgram[] | null,
): Promise<OutputsScorer> {
  const depth = programs ? Math.max(0, ...programs.map((p) => p.depth)) : 0;
  const worker = await startWorker(label, {
    programs,
    kernel: programs ? kernelModule(depth) : null,
    onnx,
    options: { graphOptimizationLevel: 'all', extra: NO_SPIN },
    outputs,
    block: null,
  });
  const score = columnScorer(worker);
  return { scoreInputs: (inputs, rows) => score(inputs, rows, outputs.length), close: () => worker.close() };
}

/** How many workers a batch uses: one per core the process may run on. */
export function defaultScoringWorkers(): number {
  return Math.max(1, availableParallelism());
}

/**
 * Workers that each parse, score and format whole CSV blocks read against `table`; with 0 workers, this
 * thread does, with the model's own scorer (for an input of one block: a worker's start, and its code
 * run cold, cost more than the block).
 */
export async function startBlockScorers(
  model: LoadedModel,
  table: TablePlan,
  workers = defaultScoringWorkers(),
): Promise<BlockScorers> {
  const context: BlockContext = {
    table,
    inputs: model.plan,
    idColumn: model.signature.id_column,
    lineage: lineageSuffix(model.name, model.version),
  };
  if (workers === 0) {
    const score = async (inputs: InputColumn[], rows: number) => [await model.scoreInputs(inputs, rows)];
    return {
      workers,
      score: (block, rowsHint) => scoreBlock(context, score, block, rowsHint),
      close: async () => undefined,
    };
  }
  const pool = await Promise.all(
    Array.from({ length: workers }, () => startWorker(modelLabel(model), modelWorkerData(model, context))),
  );
  return {
    workers,
    async score(block, rowsHint) {
      // Shared memory: the worker reads the block in place; this thread keeps reading the next one.
      const bytes = block.buffer instanceof SharedArrayBuffer ? block : Uint8Array.from(block);
      const worker = pool.reduce((a, b) => (b.inFlight() < a.inFlight() ? b : a));
      const reply = await worker.request({ kind: 'block', id: nextId++, bytes, rowsHint });
      return (reply as { block: BlockResult }).block;
    },
    async close() {
      await Promise.all(pool.map((w) => w.close()));
    },
  };
}
