// The monitor's counting worker: parses blocks of whole CSV rows in shared memory with the one CSV
// reader's block parser and counts them into drift counters of its own; for the loss estimator it
// builds each block's inputs and sends them back to be scored. At the end it hands over its counts,
// which the monitor merges (counting-pool.ts feeds it; both run on every core the machine has).
import { parentPort } from 'node:worker_threads';
import type { FeatureSpec } from '../config/index.ts';
import type { RowIssue, TablePlan } from '../data/index.ts';
// The block parser from its own module, not the data folder's index: the index brings the schemas (zod)
// and more code that each worker would compile at start and never run.
import { parseTableBlock } from '../data/parse-block.ts';
import { MltkError } from '../errors/index.ts';
import { driftCounter, type CountingPlan, type DriftCounts } from './counting.ts';
import { lossInputsOf, type LossInputs } from './loss-inputs.ts';

export interface CountingWorkerData {
  table: TablePlan;
  counting: CountingPlan;
  /** The file's column of predictions, counted when the baseline profiles predictions. */
  predictionColumn: string | null;
  /** The model's features, when the loss estimator's inputs are built per block; null when it does not estimate. */
  estimatorFeatures: FeatureSpec[] | null;
}

/** Where row r of block `seq` is in the input, for the counters' order (blocks of any size fit below 2^32 rows). */
const blockPosition = (seq: number): number => seq * 2 ** 32;

export type CountingRequest =
  | { kind: 'init'; data: CountingWorkerData }
  | { kind: 'block'; id: number; seq: number; bytes: Uint8Array; rowsHint: number }
  | { kind: 'counts'; id: number };

/** A counted block: its rows and, when any, its issues numbered from the block's first row (1); then it is not counted. */
export interface BlockCount {
  rows: number;
  issues: RowIssue[];
  loss?: LossInputs;
}

export type CountingReply =
  | { loaded: true }
  | { ready: true }
  | { ready: false; error: string }
  | { id: number; block: BlockCount }
  | { id: number; counts: DriftCounts }
  | { id: number; error: string; code?: string; details?: MltkError['details'] };

const port = parentPort!;
let state:
  | {
      data: CountingWorkerData;
      counter: ReturnType<typeof driftCounter>;
      lossInputs: ReturnType<typeof lossInputsOf> | null;
    }
  | undefined;

function countBlock(m: Extract<CountingRequest, { kind: 'block' }>): { block: BlockCount; transfer: ArrayBuffer[] } {
  if (!state) throw new Error('internal: a counting request before init');
  const { data, counter, lossInputs } = state;
  const buf = Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength);
  const chunk = parseTableBlock(data.table, buf, 0, buf.length, 1, m.rowsHint);
  const { table } = chunk;
  // A block with a bad value fails the run (the monitor names the values): nothing of it is counted.
  if (chunk.issues.length) return { block: { rows: table.rows, issues: chunk.issues }, transfer: [] };
  const source = data.table.source;
  const at = blockPosition(m.seq);
  counter.addFeatures(table, source, at);
  const predictions = data.predictionColumn === null ? undefined : table.columns.get(data.predictionColumn);
  if (!predictions) return { block: { rows: table.rows, issues: [] }, transfer: [] };
  counter.addPredictions(predictions, source, at);
  if (!lossInputs || predictions.kind !== 'numeric') return { block: { rows: table.rows, issues: [] }, transfer: [] };
  const loss = lossInputs(table, predictions.values);
  const transfer = [
    ...loss.inputs.map((i) => ('values' in i ? i.values.buffer : i.codes.buffer)),
    loss.predictions.buffer,
  ] as ArrayBuffer[];
  return { block: { rows: table.rows, issues: [], loss }, transfer };
}

const failure = (id: number, e: unknown): CountingReply =>
  e instanceof MltkError
    ? { id, error: e.message, code: e.code, details: e.details }
    : { id, error: String((e as Error)?.message ?? e) };

port.on('message', (m: CountingRequest) => {
  try {
    if (m.kind === 'init') {
      state = {
        data: m.data,
        counter: driftCounter(m.data.counting),
        lossInputs: m.data.estimatorFeatures ? lossInputsOf(m.data.estimatorFeatures) : null,
      };
      port.postMessage({ ready: true } satisfies CountingReply);
    } else if (m.kind === 'block') {
      const { block, transfer } = countBlock(m);
      port.postMessage({ id: m.id, block } satisfies CountingReply, transfer);
    } else {
      if (!state) throw new Error('internal: a counting request before init');
      port.postMessage({ id: m.id, counts: state.counter.counts() } satisfies CountingReply);
    }
  } catch (e) {
    port.postMessage(
      m.kind === 'init' ? ({ ready: false, error: String((e as Error)?.message ?? e) } as const) : failure(m.id, e),
    );
  }
});
port.postMessage({ loaded: true } satisfies CountingReply);
