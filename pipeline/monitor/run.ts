// The monitor's shell: a model reference and a CSV stream in, a drift report out. Resolves the model
// and its baseline in the registry store, streams the file through the data reader in chunks.
import type { Readable } from 'node:stream';
import type { FeatureSpec } from '../config/index.ts';
import { InvalidInputError, quoted } from '../errors/index.ts';
import {
  openCsvTables,
  openJsonlTables,
  type ColumnSpec,
  type InputFormat,
  type Table,
  type TableChunk,
} from '../data/index.ts';
import { resolveModel, type ModelVersion } from '../registry/index.ts';
import { getModelArtifact, type ObjectStore } from '../store/index.ts';
import { parseBaselineProfile, type BaselineProfile } from './profile.ts';
import { monitorBatch, type DriftReport } from './report.ts';
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
}

export interface MonitorResult {
  report: DriftReport;
  baseline: BaselineProfile;
  model: ModelVersion;
  /** Set when the monitor scored the input itself: rows scored, and rows the model refuses (missing predictions). */
  scoring: { scored: number; refused: number } | null;
}

/** The profile stored with a model version; a version trained without one cannot be monitored. */
export async function loadBaseline(store: ObjectStore, mv: ModelVersion): Promise<BaselineProfile> {
  if (!mv.baseline) {
    throw new InvalidInputError(
      `model ${mv.name} v${mv.version} has no baseline profile (registered without one); pass --baseline FILE --features ... to monitor it against a reference`,
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
    if (chunk.issues.length) {
      const shown = chunk.issues
        .slice(0, 5)
        .map((i) => `row ${i.row} ${quoted(i.field)}: ${i.issue}`)
        .join('; ');
      throw new InvalidInputError(
        `${source}: ${chunk.issues.length} bad value${chunk.issues.length > 1 ? 's' : ''} in rows ${chunk.firstRow}–${chunk.firstRow + chunk.table.rows - 1}: ${shown}`,
        chunk.issues,
      );
    }
    yield chunk.table;
  }
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
  // What to read depends on the header (a JSON-lines file's first record): a file that carries its predictions is not scored again.
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
    // Scoring needs every input of the model, not only the monitored features, and the id (a row without one is refused).
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
    return specs;
  };
  const readOpts = { source: run.source, chunkRows: run.chunkRows };
  const reader =
    run.format === 'jsonl'
      ? await openJsonlTables(run.input, specsFor, readOpts)
      : await openCsvTables(run.input, specsFor, readOpts);
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
  let estimator: BatchLossEstimator | null = null;
  try {
    estimator = estimates ? await run.openEstimator!(mv) : null;
    const report = await monitorBatch({
      model: { name: mv.name, version: mv.version },
      features,
      derived,
      baseline,
      thresholds: {
        psi_warn: mv.monitoring.psi_warn,
        psi_alert: mv.monitoring.psi_alert,
        drift_share: mv.monitoring.drift_share,
      },
      chunks: validTables(reader.chunks, run.source),
      source: run.source,
      predictionColumn: outputColumn,
      predict,
      estimator: estimator
        ? { estimator, testRmse: mv.metrics.rmse ?? null, thresholds: mv.monitoring.quality }
        : undefined,
    });
    return { report, baseline, model: mv, scoring: predictor ? (await predictor).counts() : null };
  } finally {
    await predictor?.catch(() => undefined);
    await scorer?.close?.();
    await estimator?.close();
  }
}
