// The monitor's counting workers (counting-worker.ts), one per core: each parses and counts the CSV
// blocks it is given, in the order given, while this thread only reads the file and sums the loss
// estimates. Blocks cross in shared memory (BlockBuffers), the estimator's inputs come back transferred.
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { InvalidInputError, MltkError, type ErrorCode } from '../errors/index.ts';
import { spawnSiblingWorker } from '../workers/index.ts';
import type { DriftCounts } from './counting.ts';
import type { BlockCount, CountingReply, CountingRequest, CountingWorkerData } from './counting-worker.ts';

export interface CountingPool {
  /** Parses and counts block `seq` of the input (at most `rowsHint` rows) on the least busy worker. */
  count(block: Buffer, seq: number, rowsHint: number): Promise<BlockCount>;
  /** Every worker's counts, once every block is counted. */
  counts(): Promise<DriftCounts[]>;
  readonly workers: number;
  close(): Promise<void>;
}

/** How many counting workers a large input gets: one per core the process may run on. */
export function defaultCountingWorkers(): number {
  return Math.max(1, availableParallelism());
}

const spawn = (): Worker => spawnSiblingWorker(import.meta.url, 'counting-worker');

/** A worker's error reply as the typed error it was (a bad block is bad input, not a crash). */
function replyError(reply: { error: string; code?: string; details?: MltkError['details'] }): Error {
  if (reply.code === 'INPUT_INVALID') return new InvalidInputError(reply.error, reply.details ?? []);
  if (reply.code) return new MltkError(reply.code as ErrorCode, reply.error, reply.details ?? []);
  return new Error(`counting worker: ${reply.error}`);
}

interface CountingWorker {
  request(m: Exclude<CountingRequest, { kind: 'init' }>): Promise<CountingReply>;
  inFlight(): number;
  close(): Promise<void>;
}

async function startWorker(data: CountingWorkerData): Promise<CountingWorker> {
  const worker = spawn();
  const pending = new Map<number, { resolve(r: CountingReply): void; reject(e: Error): void }>();
  let failure: Error | undefined;
  const failAll = (e: Error) => {
    failure ??= e;
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  };
  try {
    await new Promise<void>((resolve, reject) => {
      worker.once('error', reject);
      worker.on('message', function started(m: CountingReply) {
        if ('loaded' in m) return worker.postMessage({ kind: 'init', data } satisfies CountingRequest);
        worker.off('message', started);
        worker.off('error', reject);
        if ('ready' in m && m.ready) resolve();
        else reject(new Error(`counting worker: ${'error' in m ? m.error : 'unexpected first message'}`));
      });
    });
  } catch (e) {
    await worker.terminate();
    throw e;
  }
  worker.on('message', (m: CountingReply) => {
    if (!('id' in m)) return;
    const p = pending.get(m.id);
    pending.delete(m.id);
    if ('error' in m) p?.reject(replyError(m));
    else p?.resolve(m);
  });
  worker.on('error', failAll);
  worker.on('exit', (code) => failAll(new Error(`counting worker exited (code ${code})`)));
  return {
    request(m) {
      if (failure) return Promise.reject(failure);
      return new Promise((resolve, reject) => {
        pending.set(m.id, { resolve, reject });
        worker.postMessage(m);
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

/** `workers` counting workers, each given `data`. */
export async function startCountingPool(data: CountingWorkerData, workers: number): Promise<CountingPool> {
  const started = await Promise.allSettled(Array.from({ length: workers }, () => startWorker(data)));
  const pool = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    await Promise.all(pool.map((w) => w.close()));
    throw failed.reason;
  }
  return {
    workers,
    async count(block, seq, rowsHint) {
      // Shared memory: the worker reads the block in place; this thread keeps reading the next one.
      const bytes = block.buffer instanceof SharedArrayBuffer ? block : Uint8Array.from(block);
      const worker = pool.reduce((a, b) => (b.inFlight() < a.inFlight() ? b : a));
      const reply = await worker.request({ kind: 'block', id: nextId++, seq, bytes, rowsHint });
      return (reply as { block: BlockCount }).block;
    },
    async counts() {
      const replies = await Promise.all(pool.map((w) => w.request({ kind: 'counts', id: nextId++ })));
      return replies.map((r) => (r as { counts: DriftCounts }).counts);
    },
    async close() {
      await Promise.all(pool.map((w) => w.close()));
    },
  };
}
