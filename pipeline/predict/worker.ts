// Batch scoring on a worker thread. onnxruntime-node's run() blocks the JS thread that calls it,
// so with the session on a worker the main thread parses chunk N+1 and writes chunk N-1 while
// chunk N is scored. Inputs cross as typed arrays (transferred, not copied); the worker builds
// the tensors with the same `toFeeds` the in-thread path uses.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Table } from '../data/index.ts';
import type { LoadedModel } from './model.ts';
import { buildInputs, toFeeds, OUTPUT_NAME } from './score.ts';

export interface Scorer {
  score(table: Table, bad?: Uint8Array): Promise<Float32Array>;
  close(): Promise<void>;
}

// Plain CommonJS so it runs the same under tsx and in the esbuild bundle (no loader in the worker).
const SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);
const toFeeds = ${toFeeds.toString()};
const message = (e) => String((e && e.message) || e);
ort.InferenceSession.create(workerData.onnx, workerData.options).then((session) => {
  let queue = Promise.resolve();
  parentPort.on('message', (m) => {
    queue = queue.then(async () => {
      try {
        const out = await session.run(toFeeds(ort.Tensor, m.inputs, m.rows), [workerData.output]);
        const data = new Float32Array(out[workerData.output].data);
        parentPort.postMessage({ id: m.id, data }, [data.buffer]);
      } catch (e) {
        parentPort.postMessage({ id: m.id, error: message(e) });
      }
    });
  });
  parentPort.postMessage({ ready: true });
}, (e) => parentPort.postMessage({ ready: false, error: message(e) }));
`;

// ORT's pool threads spin between runs by default; here that spinning steals the core the main
// thread needs for parsing the next chunk (measured: ~7% faster on 2 cores without it).
const NO_SPIN = { session: { intra_op: { allow_spinning: '0' } } };

type Reply = { ready: boolean; error?: string } | { id: number; data?: Float32Array; error?: string };

export async function startScoringWorker(model: LoadedModel): Promise<Scorer> {
  const ortPath = createRequire(import.meta.url).resolve('onnxruntime-node');
  const worker = new Worker(SOURCE, {
    eval: true,
    execArgv: [],
    workerData: { ortPath, onnx: model.onnx, options: { ...model.sessionOptions, extra: NO_SPIN }, output: OUTPUT_NAME },
  });
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
