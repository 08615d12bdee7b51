// Test support: a real sap_change model (pipeline/predict's trained fixture) registered with the
// baseline profile the trainer would store, so monitor tests score through a real ONNX Runtime session.
import type { FeatureSpec } from '../config/index.ts';
import type { Column } from '../data/index.ts';
import { evaluate, mulberry32, recordableMetrics, segmentGroups, trainLossEstimator } from '../train/index.ts';
import { moveAlias, registerModelVersion, type ModelVersion } from '../registry/index.ts';
import { putModelArtifact, type ObjectStore } from '../store/index.ts';
import { trainFixture, type Fixture } from '../predict/testdata.ts';
import { buildBaselineProfile } from './profile.ts';

let fixture: Promise<Fixture> | undefined;

/** Trained once per process; its baseline is profiled from 500 synthetic rows and the model's predictions on them. */
export function sapChangeFixture(): Promise<Fixture> {
  fixture ??= trainFixture({ rows: 3000, trees: 30, seed: 42 });
  return fixture;
}

/**
 * What the training job adds for quality monitoring, from the fixture's held-out rows (500, another seed):
 * test metrics overall and by SAP band, and the loss estimator fitted on them, stored as the model's artifact.
 */
async function qualityEntry(store: ObjectStore, fx: Fixture) {
  const { config, trained, table } = fx;
  const predictions = await trained.predict(table);
  const segment = config.evaluation.segment!;
  const groups = segmentGroups(
    segment,
    table.columns.get(segment.column) as Column,
    config.features.find((f) => f.name === segment.column),
  );
  const ev = evaluate(
    (table.columns.get(config.target.column) as { values: Float64Array }).values,
    predictions,
    groups,
  );
  const estimator = await trainLossEstimator(config, table, predictions, { seed: 7 });
  if (!estimator) throw new Error('the fixture has too few held-out rows for a loss estimator');
  const artifact = await putModelArtifact(store, config.name, Buffer.from(estimator.onnx));
  return {
    metrics: recordableMetrics(ev).metrics,
    metrics_by_band: ev.by_group,
    segment,
    loss_estimator: { artifact: { ...artifact, format: 'onnx' as const }, calibration: estimator.calibration },
  };
}

/**
 * The fixture registered as the training job would: with its baseline profile and, with `quality`,
 * test metrics by band and the loss estimator (a version without them has neither estimate nor ratio).
 */
export async function registerMonitoredModel(
  store: ObjectStore,
  alias = 'prod',
  opts: { quality?: boolean } = {},
): Promise<{ fx: Fixture; mv: ModelVersion }> {
  const fx = await sapChangeFixture();
  const { config, trained, table } = fx;
  const artifact = await putModelArtifact(store, config.name, Buffer.from(trained.onnx));
  const baseline = await putModelArtifact(
    store,
    config.name,
    JSON.stringify(buildBaselineProfile(table, config.features, await trained.predict(table), config.derived)),
  );
  const mv = await registerModelVersion(store, {
    name: config.name,
    run_id: null,
    dataset: null,
    trainer: 'gbdt',
    artifact: { ...artifact, format: 'onnx' },
    baseline,
    signature: {
      id_column: config.id_column,
      features: config.features,
      derived: config.derived,
      target: config.target,
      output: { column: config.output.column, unit: config.target.unit },
    },
    metrics: {},
    monitoring: config.monitoring,
    config_sha256: null,
    ...(opts.quality ? await qualityEntry(store, fx) : {}),
  });
  await moveAlias(store, config.name, alias, mv.version);
  return { fx, mv };
}

/**
 * `csv` with some rows batch scoring refuses: a floor area above the signature's max, an unlisted property type, an
 * empty id.
 */
export function withRefusedRows(csv: Buffer | string): { csv: string; refused: number } {
  const lines = csv.toString('utf8').split('\n');
  const header = lines[0]!.split(',');
  const col = (name: string) => header.indexOf(name);
  const edit = (i: number, name: string, value: string) => {
    const f = lines[i]!.split(',');
    f[col(name)] = value;
    lines[i] = f.join(',');
  };
  edit(3, 'total_floor_area', '5000');
  edit(10, 'property_type', 'Castle');
  edit(20, header[0]!, '');
  return { csv: lines.join('\n'), refused: 3 };
}

/**
 * `csv` with `delta` added to every current_sap (clamped to the signature's 1..120): moves that feature and the
 * predictions.
 */
export function shiftSap(csv: Buffer | string, delta: number): string {
  const rows = csv.toString('utf8').trimEnd().split('\n');
  const k = rows[0]!.split(',').indexOf('current_sap');
  return `${rows
    .map((l, i) => {
      if (i === 0) return l;
      const f = l.split(',');
      f[k] = String(Math.min(120, Math.max(1, Number(f[k]) + delta)));
      return f.join(',');
    })
    .join('\n')}\n`;
}

/**
 * The rows of a synthetic CSV as JSON lines, typed as a client would send them: numbers, booleans
 * as true/false, categories as strings, an empty cell as null (every other row) or an absent key.
 */
export function toJsonLines(csv: Buffer | string, features: readonly FeatureSpec[]): string {
  const [head, ...rows] = csv.toString('utf8').trimEnd().split('\n');
  const header = head!.split(',');
  const type = new Map(features.map((f) => [f.name, f.type] as const));
  return `${rows
    .map((line, r) => {
      const cells = line.split(',');
      const record: Record<string, unknown> = {};
      header.forEach((name, k) => {
        const cell = cells[k]!;
        const t = type.get(name);
        if (cell === '') {
          if (r % 2) record[name] = null;
          return;
        }
        record[name] =
          t === 'boolean'
            ? cell === '1'
            : t === 'numeric' || (t === undefined && /^-?[0-9.]+$/.test(cell) && k > 0)
              ? Number(cell)
              : cell;
      });
      return JSON.stringify(record);
    })
    .join('\n')}\n`;
}

export interface CovariateShift {
  rows: number;
  seed: number;
  /** Sampling weight ∝ (total_floor_area / median)^areaPower: > 0 favours larger homes. */
  areaPower?: number;
  /** Sampling weight × this for single-glazed homes. */
  singleGlazingWeight?: number;
}

/**
 * `rows` rows drawn without replacement from a synthetic CSV with weights on the features only: pure
 * covariate shift (each row keeps its own target, so P(target | features) is the generator's). With
 * no weights it is a plain random sample, a batch like the training data.
 */
export function covariateShift(csv: Buffer | string, opts: CovariateShift): string {
  const [head, ...lines] = csv.toString('utf8').trimEnd().split('\n');
  const header = head!.split(',');
  const area = header.indexOf('total_floor_area'),
    glazing = header.indexOf('glazing');
  const areas = lines.map((l) => Number(l.split(',')[area]));
  const median = [...areas].sort((a, b) => a - b)[areas.length >> 1]!;
  const weights = lines.map(
    (l, i) =>
      (areas[i]! / median) ** (opts.areaPower ?? 0) *
      (l.split(',')[glazing] === 'single' ? (opts.singleGlazingWeight ?? 1) : 1),
  );
  // Weighted sampling without replacement: the `rows` smallest exponential keys −ln(u)/w (Efraimidis–Spirakis).
  const u = mulberry32(opts.seed);
  const keys = weights.map((w) => -Math.log(1 - u()) / w);
  const order = keys
    .map((_, i) => i)
    .sort((a, b) => keys[a]! - keys[b]!)
    .slice(0, opts.rows)
    .sort((a, b) => a - b);
  return `${head}\n${order.map((i) => lines[i]).join('\n')}\n`;
}

/**
 * The synthetic data's id is the home's, shared by its packages; quality joins need one id per scored
 * row, so this suffixes each row's id with its package number (`H0000001-2`). Empty ids stay empty.
 */
export function uniqueIds(csv: Buffer | string): string {
  const seen = new Map<string, number>();
  return csv
    .toString('utf8')
    .split('\n')
    .map((line, i) => {
      if (i === 0 || line === '') return line;
      const comma = line.indexOf(',');
      const id = line.slice(0, comma);
      if (id === '') return line;
      const k = (seen.get(id) ?? 0) + 1;
      seen.set(id, k);
      return `${id}-${k}${line.slice(comma)}`;
    })
    .join('\n');
}
