// The realized-quality shell: a model reference, a scored batch's predictions, its late labels and
// (where known) its input in; the quality report out. Files and S3 objects are read alike. The input
// gives what the predictions file does not carry: each row's segment column, the features the loss
// estimator needs, and the ids the scorer refused.
import {
  openCsvTables,
  inputFormat,
  openJsonlTables,
  takeRows,
  RECORD_FIELD,
  type ColumnSpec,
  type Table,
} from '../data/index.ts';
import { InvalidInputError, quoted } from '../errors/index.ts';
import { resolveModel, type ModelVersion } from '../registry/index.ts';
import { locateObject, type ObjectLocation, type ObjectStore } from '../store/index.ts';
import { segmentGroups, type Groups } from '../train/index.ts';
import {
  openLossEstimator,
  qualityBand,
  type BatchLossEstimator,
  type EstimatedQuality,
  type LossSums,
} from './estimate.ts';
import { BATCH_FILES, lineageSchema, type Lineage } from './lineage.ts';
import { readIfPresent } from './stored.ts';
import { LabelJoin, realizedQuality, type QualityThresholds, type RealizedQuality } from './quality.ts';
import { monitorColumnSpecs } from './run.ts';

export interface QualityRun {
  /** The registry. */
  store: ObjectStore;
  /** NAME@ALIAS or NAME@VERSION; must be the version that scored the batch. */
  model: string;
  predictions: ObjectLocation;
  labels: ObjectLocation;
  /** The batch's input; default: the one its lineage manifest names, if it has one. */
  input?: ObjectLocation;
  /** Default: the version's loss estimator from `store`. */
  openEstimator?: (mv: ModelVersion) => Promise<BatchLossEstimator | null>;
  chunkRows?: number;
  now?: () => Date;
}

export interface QualityReport extends RealizedQuality {
  model: { name: string; version: number };
  generated_at: string;
  sources: { predictions: string; labels: string; input: string | null; lineage: string | null };
  /** The batch's prediction rows, and those sharing their id with another (labels cannot pick one of them). */
  predictions: { rows: number; ambiguous: number };
  segment: { name: string; column: string } | null;
  /** The loss estimator's estimate for the same joined rows: how good the estimate was. */
  estimated: EstimatedQuality | null;
  thresholds: QualityThresholds | null;
}

/**
 * The lineage manifest of a batch scorer's output folder, `predictions/<path>/manifest.json` beside
 * `predictions/<path>/predictions.csv`; a predictions file named otherwise (`mltk predict`'s) has none.
 */
async function lineageBeside(loc: ObjectLocation): Promise<{ lineage: Lineage; url: string } | undefined> {
  const suffix = `/${BATCH_FILES.predictions}`;
  if (!loc.key.endsWith(suffix) && loc.key !== BATCH_FILES.predictions) return undefined;
  const key = `${loc.key.slice(0, -BATCH_FILES.predictions.length)}${BATCH_FILES.manifest}`;
  const lineage = await readIfPresent(loc.store, key, lineageSchema);
  return lineage && { lineage, url: `${loc.store.url}/${key}` };
}

function checkLineage(lineage: Lineage, url: string, mv: ModelVersion, model: string): void {
  if (lineage.status === 'rejected')
    throw new InvalidInputError(
      `${url}: the scorer rejected ${lineage.source} whole (${lineage.reason}); it has no predictions to judge`,
    );
  if (
    lineage.model.name !== mv.name ||
    lineage.model.version !== mv.version ||
    lineage.model.sha256 !== mv.artifact.sha256
  ) {
    throw new InvalidInputError(
      `${url}: the batch was scored by ${lineage.model.name} v${lineage.model.version}, but --model ${model} is ${
        mv.name
      } v${mv.version}; pass --model ${lineage.model.name}@${lineage.model.version}`,
      [{ field: 'model', issue: `scored by ${lineage.model.name} v${lineage.model.version}` }],
    );
  }
}

const LINEAGE_NAME = 'model_name',
  LINEAGE_VERSION = 'model_version';

/** The predictions file: ids and predictions, and (when it carries them) the scoring version checked row by row. */
async function readPredictions(
  loc: ObjectLocation,
  mv: ModelVersion,
  model: string,
  chunkRows?: number,
): Promise<LabelJoin> {
  const output = mv.signature.output.column;
  let lineageColumns = false;
  const reader = await openCsvTables(
    await loc.store.getStream(loc.key),
    (header) => {
      const specs: ColumnSpec[] = [
        { name: mv.signature.id_column, type: 'text', nullable: false },
        { name: output, type: 'numeric', nullable: true },
      ];
      lineageColumns = header.includes(LINEAGE_NAME) && header.includes(LINEAGE_VERSION);
      if (lineageColumns)
        specs.push(
          { name: LINEAGE_NAME, type: 'text', nullable: true },
          { name: LINEAGE_VERSION, type: 'numeric', nullable: true },
        );
      return specs;
    },
    { source: loc.url, chunkRows },
  );
  const ids: string[] = [];
  const values: number[] = [];
  for await (const chunk of reader.chunks) {
    const issue = chunk.issues[0];
    if (issue)
      throw new InvalidInputError(
        `${loc.url}: row ${issue.row}, column ${quoted(issue.field)}: ${issue.issue}`,
        chunk.issues.slice(0, 20),
      );
    const t = chunk.table;
    const idCol = t.columns.get(mv.signature.id_column) as { values: string[] };
    const pred = t.columns.get(output) as { values: Float64Array };
    if (lineageColumns) {
      const names = (t.columns.get(LINEAGE_NAME) as { values: string[] }).values,
        versions = (t.columns.get(LINEAGE_VERSION) as { values: Float64Array }).values;
      for (let r = 0; r < t.rows; r++) {
        if (names[r] !== mv.name || versions[r] !== mv.version) {
          throw new InvalidInputError(
            `${loc.url}: row ${chunk.firstRow + r} was scored by ${names[r]} v${versions[r]}, but --model ${model} is ${
              mv.name
            } v${mv.version}; pass --model ${names[r]}@${versions[r]}`,
            [{ row: chunk.firstRow + r, field: LINEAGE_VERSION, issue: `scored by ${names[r]} v${versions[r]}` }],
          );
        }
      }
    }
    for (let r = 0; r < t.rows; r++) {
      ids.push(idCol.values[r]!);
      values.push(pred.values[r]!);
    }
  }
  if (ids.length === 0) throw new InvalidInputError(`${loc.url}: no predictions (header only)`);
  return new LabelJoin(ids, Float64Array.from(values));
}

/** Streams the labels (CSV or JSON lines: the config's id and target columns) into the join. */
async function joinLabels(join: LabelJoin, loc: ObjectLocation, mv: ModelVersion, chunkRows?: number): Promise<void> {
  const { id_column: id, target } = mv.signature;
  const specs: ColumnSpec[] = [
    { name: id, type: 'text', nullable: true },
    { name: target.column, type: 'numeric', nullable: true },
  ];
  const input = await loc.store.getStream(loc.key);
  const reader = await (inputFormat(loc.key) === 'jsonl' ? openJsonlTables : openCsvTables)(input, specs, {
    source: loc.url,
    chunkRows,
  });
  for await (const chunk of reader.chunks) {
    const ids = [...(chunk.table.columns.get(id) as { values: string[] }).values];
    const notNumeric = new Uint8Array(chunk.table.rows);
    for (const issue of chunk.issues) {
      const r = issue.row - chunk.firstRow;
      // A record that is not JSON has no id to join on; a bad label cell is not a number.
      if (issue.field === RECORD_FIELD || issue.field === id) ids[r] = '';
      else notNumeric[r] = 1;
    }
    join.addLabels(ids, (chunk.table.columns.get(target.column) as { values: Float64Array }).values, notNumeric);
  }
}

interface InputPass {
  segment: Groups | null;
  estimate: LossSums | null;
}

/**
 * One pass over the batch's input: which unmatched label ids the scorer refused, the segment of every
 * joined row, and the loss estimator's sums over the joined rows (their features and predictions).
 */
async function readInput(
  join: LabelJoin,
  loc: ObjectLocation,
  mv: ModelVersion,
  estimator: BatchLossEstimator | null,
  chunkRows?: number,
): Promise<InputPass> {
  const sig = mv.signature;
  const segment = mv.segment ?? null;
  const feature = segment ? sig.features.find((f) => f.name === segment.column) : undefined;
  const specs = [{ name: sig.id_column, type: 'text' as const, nullable: true }, ...monitorColumnSpecs(sig.features)];
  const input = await loc.store.getStream(loc.key);
  const reader = await (inputFormat(loc.key) === 'jsonl' ? openJsonlTables : openCsvTables)(input, specs, {
    source: loc.url,
    chunkRows,
  });
  const codes = new Int32Array(join.predictionRows).fill(-1);
  // A prediction row takes the first input row with its id (an id repeated in the input but scored once
  // means the repeats were refused), so the estimate never counts a joined row twice.
  const taken = new Uint8Array(join.predictionRows);
  let labels: string[] = [];
  const sums: LossSums = { rows: 0, squared: 0, absolute: 0 };
  for await (const chunk of reader.chunks) {
    const ids = (chunk.table.columns.get(sig.id_column) as { values: string[] }).values;
    join.addInputIds(ids);
    const rows: number[] = [],
      predRows: number[] = [];
    ids.forEach((id, r) => {
      const p = join.joinedRow(id);
      if (p !== undefined && !taken[p]) {
        taken[p] = 1;
        rows.push(r);
        predRows.push(p);
      }
    });
    if (rows.length === 0) continue;
    // Cells the scorer refused are the monitor's issues only in rows that were never scored, hence never joined.
    const joined: Table = takeRows(chunk.table, rows);
    if (segment) {
      const g = segmentGroups(segment, joined.columns.get(segment.column)!, feature);
      labels = g.labels;
      predRows.forEach((p, k) => {
        codes[p] = g.codes[k]!;
      });
    }
    if (estimator) {
      const s = await estimator.estimate(
        joined,
        Float64Array.from(predRows, (p) => join.predictions[p]!),
      );
      sums.rows += s.rows;
      sums.squared += s.squared;
      sums.absolute += s.absolute;
    }
  }
  return {
    segment: segment
      ? { name: segment.name, labels: labels.length ? labels : segmentLabels(segment, feature), codes }
      : null,
    estimate: estimator && sums.rows > 0 ? sums : null,
  };
}

function segmentLabels(
  segment: NonNullable<ModelVersion['segment']>,
  feature: ModelVersion['signature']['features'][number] | undefined,
): string[] {
  return segment.labels ?? (feature?.type === 'categorical' ? feature.values : ['false', 'true']);
}

/** Realized quality of a scored batch from its late labels, with the estimate for the same rows beside it. */
export async function runQuality(run: QualityRun): Promise<QualityReport> {
  const mv = await resolveModel(run.store, run.model);
  const found = await lineageBeside(run.predictions);
  if (found) checkLineage(found.lineage, found.url, mv, run.model);
  const input = run.input ?? (found ? locateObject(found.lineage.source) : undefined);
  const join = await readPredictions(run.predictions, mv, run.model, run.chunkRows);
  await joinLabels(join, run.labels, mv, run.chunkRows);
  let pass: InputPass = { segment: null, estimate: null };
  if (input) {
    const estimator = await (run.openEstimator ?? ((m: ModelVersion) => openLossEstimator(run.store, m)))(mv);
    try {
      pass = await readInput(join, input, mv, estimator, run.chunkRows);
    } finally {
      await estimator?.close();
    }
  }
  const realized = realizedQuality(join, mv, run.labels.url, pass.segment ?? undefined);
  const thresholds = mv.monitoring.quality ?? null;
  return {
    model: { name: mv.name, version: mv.version },
    generated_at: (run.now?.() ?? new Date()).toISOString(),
    sources: {
      predictions: run.predictions.url,
      labels: run.labels.url,
      input: input?.url ?? null,
      lineage: found?.url ?? null,
    },
    predictions: { rows: join.predictionRows, ambiguous: join.ambiguousRows },
    segment: mv.segment && pass.segment ? { name: mv.segment.name, column: mv.segment.column } : null,
    ...realized,
    estimated:
      pass.estimate && mv.loss_estimator
        ? qualityBand(pass.estimate, mv.loss_estimator.calibration, {
            rmse: mv.metrics.rmse ?? null,
            thresholds: thresholds ?? undefined,
          })
        : null,
    thresholds,
  };
}
