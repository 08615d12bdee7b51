// The monitor's shell: a model reference and a CSV stream in, a drift report out. Resolves the model
// and its baseline in the registry store, streams the file through the data reader in chunks.
import type { Readable } from 'node:stream';
import type { FeatureSpec } from '../config/index.ts';
import { InvalidInputError } from '../errors/index.ts';
import {
  BlockBuffers,
  DEFAULT_CHUNK_ROWS,
  openCsvBlocks,
  openJsonlTables,
  planTable,
  tableChunks,
  type ColumnSpec,
  type InputFormat,
  type Table,
  type TableChunk,
} from '../data/index.ts';
import { resolveModel, type ModelVersion } from '../registry/index.ts';
import { getModelArtifact, type ObjectStore } from '../store/index.ts';
import { parseBaselineProfile, type BaselineProfile } from './profile.ts';
import { monitorBatch, type DriftReport } from './report.ts';
import { badValuesError, monitorInWorkers, peekBlocks, startCounting, type CountedRead } from './counted.ts';
import { defaultCountingWorkers } from './counting-pool.ts';
import { chunkPredictor, type ChunkPredictor, type ChunkScorer } from './scoring.ts';
import type { BatchLossEstimator } from './estimate.ts';

export interface MonitorRun {
  store: ObjectStore;
  /** NAME@ALIAS or NAME@VERSION. */
  model: string;
  input: Readable;
  source: string;
  /** CSV (default) or JSON lines, the two formats the batch scorer takes. */
  format?: InputFormat;
  /** For a model this pipeline did not train: its reference profile and feature list replace the registry's. */
  reference?: { baseline: BaselineProfile; features: FeatureSpec[] };
  /**
   * Opens a scorer for the monitored model version, used when the file has no prediction column
   * (pipeline/predict's loaded model or scoring worker plugs in here). Opened on the first chunk, closed after the run.
   */
  openScorer?: (mv: ModelVersion) => Promise<ChunkScorer>;
  /**
   * Opens the version's loss estimator (null without one) to estimate the batch's RMSE and MAE; used when
   * the file has every feature of the model (`openLossEstimator` for models in the registry store).
   */
  openEstimator?: (mv: ModelVersion) => Promise<BatchLossEstimator | null>;
  chunkRows?: number;
  /**
   * Threads that parse and count a CSV not scored here when it is larger than `workersMinBytes` (default: one
   * per core, above WORKERS_MIN_BYTES); 1 reads it on this thread. Either way the report is the same.
   */
  workers?: number;
  workersMinBytes?: number;
}

export interface MonitorResult {
  report: DriftReport;
  baseline: BaselineProfile;
  model: ModelVersion;
  /** Set when the monitor scored the input itself: rows scored, and rows the model refuses (missing predictions). */
  scoring: { scored: number; refused: number } | null;
  /** Threads that parsed and counted the input: 1 when this one did. */
  workers: number;
}

/** The profile stored with a model version; a version trained without one cannot be monitored. */
export async function loadBaseline(store: ObjectStore, mv: ModelVersion): Promise<BaselineProfile> {
  if (!mv.baseline) {
    throw new InvalidInputError(
      `model ${mv.name} v${mv.version} has no baseline profile (registered without one); ` +
        'pass --baseline FILE --features ... to monitor it against a reference',
      [{ field: 'baseline', issue: 'null in model version manifest' }],
    );
  }
  return parseBaselineProfile(
    await getModelArtifact(store, mv.name, mv.baseline.sha256),
    `baseline blob ${mv.baseline.sha256} of ${mv.name} v${mv.version}`,
  );
}

/**
 * Lenient column specs: missing values and out-of-range or unlisted values are what the monitor
 * measures, so only unparseable cells (text in a number column, a boolean other than 0/1) are errors.
 */
export function monitorColumnSpecs(features: readonly FeatureSpec[], predictionColumn?: string): ColumnSpec[] {
  const specs: ColumnSpec[] = features.map((f) => ({
    name: f.name,
    type: f.type === 'categorical' ? 'text' : f.type,
    nullable: true,
  }));
  if (predictionColumn) specs.push({ name: predictionColumn, type: 'numeric', nullable: true });
  return specs;
}

async function* validTables(chunks: AsyncIterable<TableChunk>, source: string): AsyncGenerator<Table> {
  for await (const chunk of chunks) {
    if (chunk.issues.length) throw badValuesError(source, { ...chunk, rows: chunk.table.rows });
    yield chunk.table;
  }
}

/** A categorical feature's spec read as text, read as codes instead, keeping the values outside its list. */
function codedCategories(spec: ColumnSpec, features: readonly FeatureSpec[]): ColumnSpec {
  const f = features.find((g) => g.name === spec.name);
  if (spec.type !== 'text' || f?.type !== 'categorical') return spec;
  return { ...spec, type: 'categorical', values: f.values, keepUnlisted: true };
}

/**
 * A CSV larger than this is parsed and counted on worker threads. Measured on a shared 2-core machine: two
 * workers cost 0.3-0.5 s more CPU than one thread (their start, their own JIT and heaps) and were slower up to
 * 40 MB; on the 137 MB bench file they are 15-18 % faster.
 */
const WORKERS_MIN_BYTES = 48 * 2 ** 20;

/**
 * The input's chunks, read against the specs its header chooses; for a CSV over `workersMinBytes` that
 * is counted without scoring (`countsAlone`, asked once the header is read), how to parse and count it in
 * workers.
 */
async function openInput(
  run: MonitorRun,
  specsFor: (header: string[]) => ColumnSpec[],
  countsAlone: (header: string[]) => boolean,
  outputColumn: string,
): Promise<{ chunks: AsyncIterable<TableChunk>; inWorkers?: Omit<CountedRead, 'estimatorFeatures'> }> {
  const chunkRows = run.chunkRows ?? DEFAULT_CHUNK_ROWS;
  if (run.format === 'jsonl')
    return { chunks: (await openJsonlTables(run.input, specsFor, { source: run.source, chunkRows })).chunks };
  const buffers = new BlockBuffers();
  const csv = await openCsvBlocks(run.input, { source: run.source, chunkRows, buffers });
  const plan = planTable(csv.header, specsFor(csv.header), run.source);
  const workers = run.workers ?? defaultCountingWorkers();
  const head =
    workers > 1 && countsAlone(csv.header)
      ? await peekBlocks(csv.blocks, run.workersMinBytes ?? WORKERS_MIN_BYTES)
      : undefined;
  const blocks = head?.blocks ?? csv.blocks;
  const predictionColumn = csv.header.includes(outputColumn) ? outputColumn : null;
  return {
    chunks: tableChunks(plan, blocks, chunkRows, (block) => buffers.give(block)),
    inWorkers: head?.large ? { plan, blocks, buffers, chunkRows, workers, predictionColumn } : undefined,
  };
}

export async function runMonitor(run: MonitorRun): Promise<MonitorResult> {
  const mv = await resolveModel(run.store, run.model);
  const features = run.reference?.features ?? mv.signature.features;
  const baseline = run.reference?.baseline ?? (await loadBaseline(run.store, mv));
  const outputColumn = mv.signature.output.column;
  // Derived features are monitored where the baseline profiles them; they are computed from their inputs.
  const profiled = new Set(baseline.features.map((p) => p.name));
  const derived = mv.signature.derived.filter((d) => profiled.has(d.name));
  const derivedInputs = new Set(derived.flatMap((d) => d.inputs));
  let scores = false;
  let estimates = false;
  // What to read depends on the header (a JSON-lines file's first record): a file that carries its predictions
  // is not scored again.
  const specsFor = (header: string[]): ColumnSpec[] => {
    const hasPredictions = header.includes(outputColumn);
    scores = !hasPredictions && baseline.prediction !== null && run.openScorer !== undefined;
    // The loss estimator, like scoring, needs every input of the model and a prediction per row.
    estimates =
      run.openEstimator !== undefined &&
      mv.loss_estimator != null &&
      baseline.prediction !== null &&
      (hasPredictions || scores) &&
      mv.signature.features.every((f) => header.includes(f.name));
    // Scoring needs every input of the model, not only the monitored features, and the id (a row without one is
    // refused).
    const all = scores || estimates;
    const read = [
      ...features,
      ...mv.signature.features.filter(
        (f) => !features.some((g) => g.name === f.name) && (all || derivedInputs.has(f.name)),
      ),
    ];
    const specs = monitorColumnSpecs(read, hasPredictions ? outputColumn : undefined);
    if (scores && header.includes(mv.signature.id_column))
      specs.push({ name: mv.signature.id_column, type: 'text', nullable: true });
    // A CSV not scored here reads categories as codes straight from its bytes (no string per cell); a
    // value outside the signature's list stays a category of its own, counted as the text it is.
    return run.format === 'jsonl' || scores ? specs : specs.map((s) => codedCategories(s, read));
  };
  // Workers count a file that needs no scoring: it carries its predictions, or the baseline has none (a file
  // that lacks them with no scorer to make them is refused on this thread, as it always was).
  const countsAlone = (header: string[]) => !scores && (header.includes(outputColumn) || !baseline.prediction);
  const { chunks, inWorkers } = await openInput(run, specsFor, countsAlone, outputColumn);
  let scorer: ChunkScorer | undefined;
  let predictor: Promise<ChunkPredictor> | undefined;
  const predict = scores
    ? async (table: Table) => {
        predictor ??= run.openScorer!(mv).then((s) => {
          scorer = s;
          return chunkPredictor(mv.signature, s);
        });
        return (await predictor).predict(table);
      }
    : undefined;
  const batch = {
    model: { name: mv.name, version: mv.version },
    features,
    derived,
    baseline,
    thresholds: {
      psi_warn: mv.monitoring.psi_warn,
      psi_alert: mv.monitoring.psi_alert,
      drift_share: mv.monitoring.drift_share,
    },
    source: run.source,
    predictionColumn: outputColumn,
  };
  // The workers start, and count the first blocks, while the estimator loads and proves its heads here.
  const counting =
    inWorkers && startCounting(batch, { ...inWorkers, estimatorFeatures: estimates ? mv.signature.features : null });
  counting?.catch(() => undefined); // awaited below
  const estimator: Promise<BatchLossEstimator | null> = estimates ? run.openEstimator!(mv) : Promise.resolve(null);
  estimator.catch(() => undefined); // awaited below
  const estimation = estimator.then((e) =>
    e ? { estimator: e, testRmse: mv.metrics.rmse ?? null, thresholds: mv.monitoring.quality } : undefined,
  );
  estimation.catch(() => undefined); // awaited below
  try {
    const report =
      counting && inWorkers
        ? await monitorInWorkers(batch, await counting, inWorkers, estimation)
        : await monitorBatch({
            ...batch,
            chunks: validTables(chunks, run.source),
            predict,
            estimator: await estimation,
          });
    const workers = counting && inWorkers ? inWorkers.workers : 1;
    return { report, baseline, model: mv, scoring: predictor ? (await predictor).counts() : null, workers };
  } finally {
    await (await counting?.catch(() => undefined))?.close();
    await predictor?.catch(() => undefined);
    await scorer?.close?.();
    await (await estimator.catch(() => null))?.close();
  }
}
