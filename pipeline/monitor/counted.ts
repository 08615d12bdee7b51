// A large CSV monitored on every core: this thread reads blocks of whole rows into shared memory and
// hands them to the counting workers, which parse and count them; it sums the loss estimates in input
// order and merges the workers' counts at the end, so the report is the one-thread report exactly.
import { rowsShifted, type BlockBuffers, type RowIssue, type TablePlan } from '../data/index.ts';
import { InvalidInputError, quoted } from '../errors/index.ts';
import type { FeatureSpec } from '../config/index.ts';
import { startCountingPool, type CountingPool } from './counting-pool.ts';
import type { BlockCount } from './counting-worker.ts';
import { countingPlan, monitorCounted, type CountedChunk, type DriftReport, type MonitorBatchInput } from './report.ts';

/** Blocks in flight per worker: enough to keep each busy while this thread reads the next. */
const IN_FLIGHT_PER_WORKER = 2;

/** The run's refusal of a chunk with bad values (rows `firstRow`… of the input), naming the first few. */
export function badValuesError(
  source: string,
  chunk: { issues: RowIssue[]; firstRow: number; rows: number },
): InvalidInputError {
  const shown = chunk.issues
    .slice(0, 5)
    .map((i) => `row ${i.row} ${quoted(i.field)}: ${i.issue}`)
    .join('; ');
  const values = `${chunk.issues.length} bad value${chunk.issues.length > 1 ? 's' : ''}`;
  const rows = `rows ${chunk.firstRow}–${chunk.firstRow + chunk.rows - 1}`;
  return new InvalidInputError(`${source}: ${values} in ${rows}: ${shown}`, chunk.issues);
}

/**
 * Reads `blocks` until they hold more than `bytes` bytes or end; returns whether they did (`large`), and
 * every block again, those read first.
 */
export async function peekBlocks(
  blocks: AsyncIterator<Buffer>,
  bytes: number,
): Promise<{ large: boolean; blocks: AsyncGenerator<Buffer> }> {
  const head: Buffer[] = [];
  let read = 0;
  let done = false;
  while (read <= bytes) {
    const next = await blocks.next();
    if (next.done) {
      done = true;
      break;
    }
    head.push(next.value);
    read += next.value.length;
  }
  async function* all(): AsyncGenerator<Buffer> {
    yield* head;
    if (done) return;
    for (let next = await blocks.next(); !next.done; next = await blocks.next()) yield next.value;
  }
  return { large: !done, blocks: all() };
}

/** Counted blocks in input order, their issues and rejections numbered as the file's rows. */
async function* countedChunks(
  pool: CountingPool,
  blocks: AsyncIterable<Buffer>,
  buffers: BlockBuffers,
  chunkRows: number,
  source: string,
): AsyncGenerator<CountedChunk> {
  const window: Promise<BlockCount>[] = [];
  let rows = 0;
  let seq = 0;
  const next = async (): Promise<BlockCount> => {
    const block = await window.shift()!.catch((e: unknown) => {
      throw rowsShifted(e, rows, source);
    });
    if (block.issues.length) {
      const issues = block.issues.map((i) => ({ ...i, row: i.row + rows }));
      throw badValuesError(source, { issues, firstRow: rows + 1, rows: block.rows });
    }
    rows += block.rows;
    return block;
  };
  for await (const bytes of blocks) {
    const counted = pool.count(bytes, seq++, chunkRows);
    // Once its worker is done with the block, its buffer assembles a later one.
    counted.then(
      () => buffers.give(bytes),
      () => undefined,
    );
    window.push(counted);
    if (window.length < IN_FLIGHT_PER_WORKER * pool.workers) continue;
    const block = await next();
    if (block.rows > 0) yield block;
  }
  while (window.length) {
    const block = await next();
    if (block.rows > 0) yield block;
  }
}

export interface CountedRead {
  plan: TablePlan;
  blocks: AsyncIterable<Buffer>;
  buffers: BlockBuffers;
  chunkRows: number;
  workers: number;
  /** The file's prediction column, when it has one. */
  predictionColumn: string | null;
  /** The model's features, when the loss estimator estimates the batch. */
  estimatorFeatures: FeatureSpec[] | null;
}

/** Starts the counting workers for `batch` read as `read` says (their start overlaps whatever the caller awaits). */
export function startCounting(
  batch: Omit<MonitorBatchInput, 'chunks' | 'predict' | 'estimator'>,
  read: Omit<CountedRead, 'blocks' | 'buffers' | 'chunkRows'>,
): Promise<CountingPool> {
  return startCountingPool(
    {
      table: read.plan,
      counting: countingPlan(batch),
      predictionColumn: read.predictionColumn,
      estimatorFeatures: read.estimatorFeatures,
    },
    read.workers,
  );
}

/** The drift report of `batch`, its blocks parsed and counted by `pool` (the estimator may still be loading). */
export function monitorInWorkers(
  batch: Omit<MonitorBatchInput, 'chunks' | 'predict' | 'estimator'>,
  pool: CountingPool,
  read: Pick<CountedRead, 'blocks' | 'buffers' | 'chunkRows'>,
  estimator: Promise<MonitorBatchInput['estimator']>,
): Promise<DriftReport> {
  return monitorCounted(
    batch,
    {
      chunks: countedChunks(pool, read.blocks, read.buffers, read.chunkRows, batch.source),
      counts: () => pool.counts(),
    },
    estimator,
  );
}
