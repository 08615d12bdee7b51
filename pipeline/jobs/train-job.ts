// The training job: data version → tracked run → train → evaluate on held-out rows →
// baseline profile → register a model version. Any failure leaves a FAILED run and registers nothing.
// Training is bit-reproducible: when the new ONNX and baseline equal a registered version's, that
// version is reused (reported unchanged) instead of registering a twin.
import type { ModelConfig } from '../config/index.ts';
import {
  readCsvTable,
  takeRows,
  numericColumn,
  type Table,
  type ColumnSpec,
  type DatasetVersion,
} from '../data/index.ts';
import { TrainingError } from '../errors/index.ts';
import { buildBaselineProfile } from '../monitor/index.ts';
import {
  findEquivalentVersion,
  registerModelVersion,
  type ModelVersion,
  type NewModelVersion,
} from '../registry/index.ts';
import { trackRun, type RunRecorder } from '../runs/index.ts';
import { getBlobStream, type ObjectStore } from '../store/index.ts';
import {
  trainModel,
  evaluate,
  recordableMetrics,
  segmentGroups,
  trainLossEstimator,
  MIN_ESTIMATOR_ROWS,
  type LossCalibration,
  type TrainedModel,
} from '../train/index.ts';
import { resolveTrainingData, type DataSource, type DatasetLineage } from './dataset-source.ts';
import { splitRows } from './split.ts';

export interface TrainJobOptions {
  store: ObjectStore;
  config: ModelConfig;
  configSource: string;
  data: DataSource;
  say(line: string): void;
  progress(line: string): void;
  /** Steps announced as `[n/total]`; `mltk run` adds a fifth (gate and promotion). */
  totalSteps?: number;
}

export interface TrainJobResult {
  /** This run (for an unchanged model, not the run that registered the reused version). */
  run_id: string;
  model: string;
  version: number;
  dataset: DatasetLineage & { rows: number; origin: string };
  /** The artifact equals a registered version's: that version is reported, nothing was registered. */
  unchanged: boolean;
  /** null where a metric has no value; `undefined_metrics` says why. */
  metrics: { rmse: number | null; mae: number | null; r2: number | null };
  undefined_metrics: Record<string, string>;
  metrics_by_band: Record<string, { rows: number; rmse: number; mae: number; bias: number }>;
  trees: number | null;
  /** How the loss estimator did on the held-out rows (out of fold); null when there were too few to fit one. */
  loss_estimator: LossCalibration | null;
  manifest: ModelVersion;
}

export function trainingColumns(config: ModelConfig): ColumnSpec[] {
  return [
    { name: config.id_column, type: 'text', nullable: false },
    ...config.features,
    // Missing targets are allowed per row (those rows are left out); all-missing is an error below.
    { name: config.target.column, type: 'numeric', nullable: true },
  ];
}

async function loadTrainingTable(store: ObjectStore, config: ModelConfig, version: DatasetVersion): Promise<Table> {
  const source = `${version.source} (${version.dataset}@${version.version.slice(0, 12)})`;
  const table = await readCsvTable(getBlobStream(store, version.version), trainingColumns(config), { source });
  const target = numericColumn(table, config.target.column);
  const keep: number[] = [];
  for (let i = 0; i < table.rows; i++) if (!Number.isNaN(target[i]!)) keep.push(i);
  if (keep.length === 0)
    throw new TrainingError(
      `${source}: target column "${config.target.column}" is missing in every row (first bad row: 1)`,
      [{ row: 1, field: config.target.column, issue: 'target missing in every row' }],
    );
  return keep.length === table.rows ? table : takeRows(table, keep);
}

const finiteOrNull = (v: number): number | null => (Number.isFinite(v) ? v : null);

/** How the data was chosen and what its lineage is: `pinned`, `added, not pinned, SYNTHETIC`, … */
export function describeLineage(data: { origin: string; lineage: { pinned: boolean; synthetic: boolean } }): string {
  const origin = data.origin === 'pinned' ? [] : [data.origin];
  return [
    ...origin,
    data.lineage.pinned ? 'pinned' : 'not pinned',
    ...(data.lineage.synthetic ? ['SYNTHETIC'] : []),
  ].join(', ');
}

/** Registers `entry`, unless a registered version is byte-for-byte the same model: that one is reused. */
async function registerOrReuse(
  store: ObjectStore,
  entry: NewModelVersion,
  say: (what: string) => void,
): Promise<{ manifest: ModelVersion; unchanged: boolean }> {
  const onnx = entry.artifact.sha256.slice(0, 12);
  const existing = await findEquivalentVersion(store, entry);
  if (existing) {
    say(`register: unchanged — the model equals ${entry.name}@${existing.version} (onnx ${onnx}); nothing registered`);
    return { manifest: existing, unchanged: true };
  }
  const manifest = await registerModelVersion(store, entry);
  say(`register: ${entry.name}@${manifest.version} (onnx ${onnx})`);
  return { manifest, unchanged: false };
}

/**
 * Test metrics (overall and by the config's segment) on the held-out rows, and the loss estimator fit on
 * them (they are the only rows the model was not trained on), both logged to the run.
 */
async function evaluateHeldOut(
  config: ModelConfig,
  model: TrainedModel,
  test: Table,
  run: RunRecorder,
  say: (line: string) => void,
) {
  const yTest = numericColumn(test, config.target.column);
  const predTest = await model.predict(test);
  const segment = config.evaluation.segment;
  const bands =
    segment &&
    segmentGroups(
      segment,
      test.columns.get(segment.column)!,
      config.features.find((f) => f.name === segment.column),
    );
  const ev = evaluate(yTest, predTest, bands);
  const scores = recordableMetrics(ev);
  for (const [name, value] of Object.entries(scores.metrics)) run.logMetric(name, value);
  for (const [name, why] of Object.entries(scores.undefined_metrics)) run.logUndefinedMetric(name, why);
  for (const [band, m] of Object.entries(ev.by_group ?? {})) run.logMetric(`rmse_band_${band}`, m.rmse);
  const estimator = await trainLossEstimator(config, test, predTest, { seed: config.split.seed });
  if (estimator) {
    const c = estimator.calibration;
    say(
      `loss estimator: ${c.rows} held-out rows, ${c.folds}-fold out-of-fold rmse ` +
        `${c.held_out.rmse_estimated.toPrecision(4)} vs realized ${c.held_out.rmse.toPrecision(4)}`,
    );
    run.logMetric('loss_estimator_rmse_relative_error', c.rmse_relative_error);
    run.logMetric('loss_estimator_mae_relative_error', c.mae_relative_error);
  } else {
    say(
      `loss estimator: not fitted (fewer than ${MIN_ESTIMATOR_ROWS} held-out rows with a target); estimated quality ` +
        `will be unavailable`,
    );
  }
  return { ev, scores, segment, estimator };
}

/**
 * The progress line of one boosting round. The trainer's losses are RMSEs already (of the residuals on
 * the training rows, and of the predictions on the held-out rows): printed as they are, the same numbers
 * as the run's train_loss and valid_loss metrics.
 */
function roundProgress(round: number, total: number, trainRmse: number, validRmse?: number): string {
  const valid = validRmse !== undefined ? `  valid rmse ${validRmse.toPrecision(4)}` : '';
  return `round ${round}/${total}  train rmse ${trainRmse.toPrecision(4)}${valid}`;
}

// Why noExcessiveLinesPerFunction is waived: the job's steps in the order they run (read, split, train, evaluate,
// estimate, register), each a call
// biome-ignore lint/complexity/noExcessiveLinesPerFunction: the reason is above
export async function runTrainJob(opts: TrainJobOptions): Promise<TrainJobResult> {
  const { store, config, say, progress } = opts;
  const total = opts.totalSteps ?? 4;
  const step = (n: number, what: string) => say(`[${n}/${total}] ${what}`);
  step(
    1,
    `data: resolving ${config.dataset.name}${
      config.dataset.version ? ` (pinned ${config.dataset.version.slice(0, 12)})` : ''
    }`,
  );
  const data = await resolveTrainingData(store, config, opts.data, say);
  const dataset = data.lineage;
  say(`data: ${dataset.name}@${dataset.version.slice(0, 12)} (${data.version.rows} rows; ${describeLineage(data)})`);
  const { result, run: finished } = await trackRun(
    store,
    { model: config.name, configSource: opts.configSource, config, dataset },
    async (run) => {
      step(2, `train: run ${run.id}, ${config.name} with ${config.trainer.type}`);
      const table = await loadTrainingTable(store, config, data.version);
      const split = splitRows(table.rows, config.split.test_fraction, config.split.seed);
      const train = takeRows(table, split.train);
      const test = takeRows(table, split.test);
      run.logParams({
        trainer: config.trainer.type,
        train_rows: train.rows,
        test_rows: test.rows,
        test_fraction: config.split.test_fraction,
        split_seed: config.split.seed,
      });
      const started = Date.now();
      const model = await trainModel(config, train, {
        seed: config.split.seed,
        test,
        onRound: (round, total, trainLoss, validLoss) => progress(roundProgress(round, total, trainLoss, validLoss)),
      });
      run.logParams({ ...model.params, train_seconds: (Date.now() - started) / 1000 });
      for (const r of model.rounds) {
        run.logMetric('train_loss', r.train_loss, r.step);
        if (r.valid_loss !== undefined) run.logMetric('valid_loss', r.valid_loss, r.step);
      }
      step(3, `evaluate: ${test.rows} held-out rows`);
      const { ev, scores, segment, estimator } = await evaluateHeldOut(config, model, test, run, say);
      const predTrain = await model.predict(train);
      const baseline = buildBaselineProfile(train, config.features, predTrain, config.derived);
      const onnx = await run.logArtifact('model.onnx', Buffer.from(model.onnx));
      const base = await run.logArtifact('baseline.json', JSON.stringify(baseline));
      const lossOnnx = estimator && (await run.logArtifact('loss_estimator.onnx', Buffer.from(estimator.onnx)));
      await run.save();
      const entry: NewModelVersion = {
        name: config.name,
        run_id: run.id,
        dataset,
        trainer: config.trainer.type,
        artifact: { ...onnx, format: 'onnx' },
        baseline: base,
        loss_estimator:
          lossOnnx && estimator
            ? { artifact: { ...lossOnnx, format: 'onnx' }, calibration: estimator.calibration }
            : null,
        signature: {
          id_column: config.id_column,
          features: config.features,
          derived: config.derived,
          target: config.target,
          output: { column: config.output.column, unit: config.target.unit },
        },
        metrics: scores.metrics,
        ...(Object.keys(scores.undefined_metrics).length ? { undefined_metrics: scores.undefined_metrics } : {}),
        metrics_by_band: ev.by_group,
        segment: segment ?? null,
        monitoring: config.monitoring,
        config_sha256: run.manifest.config.sha256,
      };
      const { manifest, unchanged } = await registerOrReuse(store, entry, (what) => step(4, what));
      run.logParams({ registered_version: manifest.version, ...(unchanged ? { unchanged } : {}) });
      // A reused version keeps the estimator it was registered with (equivalence includes its artifact).
      return {
        manifest,
        ev,
        trees: model.trees ?? null,
        unchanged,
        lossEstimator: manifest.loss_estimator?.calibration ?? null,
      };
    },
  );
  const { manifest, ev } = result;
  return {
    run_id: finished.id,
    model: manifest.name,
    version: manifest.version,
    dataset: { ...dataset, rows: data.version.rows, origin: data.origin },
    unchanged: result.unchanged,
    metrics: { rmse: finiteOrNull(ev.rmse), mae: finiteOrNull(ev.mae), r2: finiteOrNull(ev.r2) },
    undefined_metrics: recordableMetrics(ev).undefined_metrics,
    metrics_by_band: ev.by_group ?? {},
    trees: result.trees,
    loss_estimator: result.lossEstimator,
    manifest,
  };
}
