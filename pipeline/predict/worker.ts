// Batch scoring on a worker thread: the fast evaluator, or onnxruntime-node (whose run() blocks the
// JS thread that calls it). With scoring on a worker the main thread parses chunk N+1 and writes
// chunk N-1 while chunk N is scored. Inputs cross as typed arrays (transferred, not copied); the
// worker builds tensors with the same `toFeeds` the in-thread path uses.
import { Worker } from 'node:worker_threads';
import type { Table } from '../data/index.ts';
import type { LoadedModel } from './model.ts';
import { buildInputs, OUTPUT_NAME } from './score.ts';
import type { ScoringWorkerData } from './score-worker.ts';

export interface Scorer {
  score(table: Table, bad?: Uint8Array): Promise<Float32Array>;
  close(): Promise<void>;
}

// The worker runs score-worker.ts: as TypeScript through tsx where this module does (tests, tsx
// scripts), else as the sibling score-worker.mjs that the CLI build and the Lambda bundle emit.
const RUNNING_TYPESCRIPT = import.meta.url.endsWith('.ts');

function spawn(workerData: ScoringWorkerData): Worker {
  if (!RUNNING_TYPESCRIPT) return new Worker(new URL('./score-worker.mjs', import.meta.url), { workerData, execArgv: [] });
  // A worker does not inherit tsx's loader (Node 20): register it there, then load the module.
  const source = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})
    .then((tsx) => { tsx.register(); return import(${JSON.stringify(new URL('./score-worker.ts', import.meta.url).href)}); })`;
  return new Worker(source, { eval: true, workerData, execArgv: [] });
}

// ORT's pool threads spin between runs by default; here that spinning steals the core the main
// thread needs for parsing the next chunk (measured: ~7% faster on 2 cores without it).
const NO_SPIN = { session: { intra_op: { allow_spinning: '0' } } };

type Reply = { ready: boolean; error?: string } | { id: number; data?: Float32Array; error?: string };

export async function startScoringWorker(model: LoadedModel): Promise<Scorer> {
  const worker = spawn({ program: model.fastProgram, onnx: model.onnx, options: { ...model.sessionOptions, extra: NO_SPIN }, output: OUTPUT_NAME });
  const pending = new Map<number, { resolve(v: Float32Array): void; reject(e: Error): void }>();
  let failure: Error | undefined;
  const failAll = (e: Error) => {
    failure ??= e;
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  };
  await new Promise<void>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('message', (m: Reply) => ('ready' in m && m.ready ? resolve() : reject(new Error(`scoring worker: ${m.error}`))));
  });
  worker.on('message', (m: Reply) => {
    if (!('id' in m)) return;
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (m.error !== undefined) p?.reject(new Error(`${model.name} v${model.version}: ${m.error}`));
    else p?.resolve(m.data!);
  });
  worker.on('error', failAll);
  worker.on('exit', (code) => failAll(new Error(`scoring worker exited (code ${code})`)));
  let next = 0;
  return {
    score(table, bad) {
      if (failure) return Promise.reject(failure);
      const { inputs, rows } = buildInputs(model.plan, table, bad);
      if (rows === 0) return Promise.resolve(new Float32Array(0));
      const id = next++;
      const transfer = inputs.map((i) => ('values' in i ? i.values.buffer : i.codes.buffer)) as ArrayBuffer[];
      return new Promise<Float32Array>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker.postMessage({ id, rows, inputs }, transfer);
      });
    },
    async close() {
      worker.removeAllListeners('exit');
      await worker.terminate();
    },
  };
}
