// Test fixtures for serving (not part of the public surface): a small sap_change model trained by
// the real trainer on synthetic data and registered in a temp local store.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { loadModelConfig, type ModelConfig } from '../config/index.ts';
import { readCsvTable, type ColumnSpec, type Table } from '../data/index.ts';
import { writeSynthCsv } from '../data/index.ts';
import { moveAlias, registerModelVersion, type ModelVersion } from '../registry/index.ts';
import { openStore, putModelArtifact, type ObjectStore } from '../store/index.ts';
import { trainModel, type TrainedModel } from '../train/index.ts';

export async function synthCsv(rows: number, seed: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      parts.push(Buffer.from(chunk));
      cb();
    },
  });
  await writeSynthCsv({ rows, seed }, sink);
  return Buffer.concat(parts);
}

export function trainingSpecs(config: ModelConfig): ColumnSpec[] {
  return [
    { name: config.id_column, type: 'text' },
    ...config.features.map(
      (f): ColumnSpec => ({
        name: f.name,
        type: f.type,
        nullable: f.nullable,
        ...(f.type === 'categorical' ? { values: f.values } : {}),
      }),
    ),
    { name: config.target.column, type: 'numeric', nullable: true },
  ];
}

export async function csvTable(config: ModelConfig, csv: Buffer): Promise<Table> {
  return readCsvTable(Readable.from([csv]), trainingSpecs(config), { source: 'synth.csv' });
}

export interface Fixture {
  config: ModelConfig;
  trained: TrainedModel;
  /** Synthetic rows (a different seed from the training rows) as CSV and as a Table. */
  csv: Buffer;
  table: Table;
}

export async function trainFixture(
  opts: { rows?: number; trees?: number; depth?: number; seed?: number } = {},
): Promise<Fixture> {
  const base = await loadModelConfig(join(import.meta.dirname, '../../configs/sap_change.json'));
  const config: ModelConfig = {
    ...base,
    trainer: {
      type: 'gbdt',
      params: {
        ...(base.trainer.type === 'gbdt' ? base.trainer.params : {}),
        trees: opts.trees ?? 20,
        max_depth: opts.depth ?? 4,
        learning_rate: 0.2,
        max_bins: 64,
        min_samples_leaf: 20,
        l2: 1,
        min_split_gain: 0,
        validation_fraction: 0.1,
        early_stopping_rounds: undefined,
        threads: 1,
      },
    },
  };
  const trainTable = await csvTable(config, await synthCsv(opts.rows ?? 2000, opts.seed ?? 42));
  const trained = await trainModel(config, trainTable);
  const csv = await synthCsv(500, (opts.seed ?? 42) + 1);
  return { config, trained, csv, table: await csvTable(config, csv) };
}

/** Stores `onnx` as an artifact of the fixture's model and registers it as its next version. */
export async function registerOnnx(store: ObjectStore, config: ModelConfig, onnx: Uint8Array): Promise<ModelVersion> {
  const artifact = await putModelArtifact(store, config.name, Buffer.from(onnx));
  return registerModelVersion(store, {
    name: config.name,
    run_id: null,
    dataset: null,
    trainer: 'gbdt',
    artifact: { ...artifact, format: 'onnx' },
    baseline: null,
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
  });
}

export interface TempStore {
  dir: string;
  store: ObjectStore;
  cleanup(): Promise<void>;
}

export async function tempStore(prefix = 'mltk-predict-'): Promise<TempStore> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, store: openStore(dir), cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A temp store holding the fixture model as version 1, aliased `prod`. */
export async function storeWithModel(fx: Fixture): Promise<TempStore & { mv: ModelVersion }> {
  const t = await tempStore();
  const mv = await registerOnnx(t.store, fx.config, fx.trained.onnx);
  await moveAlias(t.store, fx.config.name, 'prod', mv.version);
  return { ...t, mv };
}

/**
 * Row `i` of `table` as a request instance: numbers, booleans as true/false, categories as strings, null for missing.
 */
export function instanceOf(config: ModelConfig, table: Table, i: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of config.features) {
    const col = table.columns.get(f.name)!;
    if (col.kind === 'categorical') out[f.name] = col.codes[i]! < 0 ? null : col.categories[col.codes[i]!];
    else if (col.kind === 'numeric') {
      const v = col.values[i]!;
      out[f.name] = Number.isNaN(v) ? null : f.type === 'boolean' ? v === 1 : v;
    }
  }
  return out;
}

/** An API Gateway HTTP API (v2) event, as Lambda receives it. */
export function httpEvent(method: string, path: string, body?: string, opts: { base64?: boolean } = {}) {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers: { 'content-type': 'application/json' },
    requestContext: {
      requestId: `req-${Math.random().toString(36).slice(2)}`,
      http: { method, path, sourceIp: '127.0.0.1' },
    },
    ...(body !== undefined ? { body: opts.base64 ? Buffer.from(body).toString('base64') : body } : {}),
    isBase64Encoded: Boolean(opts.base64),
  };
}

/** A logger and metrics sink that keep their lines for assertions. */
export function captureLines(): { lines: string[]; sink: (line: string) => void; parsed(): Record<string, unknown>[] } {
  const lines: string[] = [];
  return {
    lines,
    sink: (l) => {
      lines.push(l);
    },
    parsed: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}
