// What bench/predict measures against, made once and reused: the synthetic rows, our 300-tree depth-6
// sap_change model registered in a scratch store with its baseline profile (as `mltk run` registers it:
// loading reads it, and the fast path's probe takes its reference sample), the Python virtualenv of the peers (polars
// and the
// rest from the local wheel cache, XGBoost, pandas and scipy from the system), and the peers' boosters.
import { execFileSync, spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelConfig } from '../../pipeline/config/index.ts';
import { readCsvTable } from '../../pipeline/data/index.ts';
import { buildBaselineProfile } from '../../pipeline/monitor/index.ts';
import { tempStore, trainingSpecs, type TempStore } from '../../pipeline/predict/testdata.ts';
import { moveAlias, registerModelVersion } from '../../pipeline/registry/index.ts';
import { putModelArtifact } from '../../pipeline/store/index.ts';
import { trainModel } from '../../pipeline/train/index.ts';

export const WORK = join(import.meta.dirname, '../.work');
export const VENV = join(WORK, 'venv');
export const PYTHON = join(VENV, 'bin/python');
const SYSTEM_PYTHON = '/usr/bin/python3';
const WHEELS = '/opt/pypi/files';
const VENV_PACKAGES = ['polars', 'lightgbm', 'onnxruntime', 'onnx'];

/** The peers' virtualenv: made on first use, reused after (system site packages bring XGBoost, pandas, scipy). */
export function ensureVenv(): void {
  const ok = () =>
    existsSync(PYTHON) &&
    spawnSync(PYTHON, ['-c', 'import polars, xgboost, pandas, scipy'], { stdio: 'ignore' }).status === 0;
  if (ok()) return;
  console.error(`making the peers' virtualenv in ${VENV} (pip from ${WHEELS})…`);
  mkdirSync(WORK, { recursive: true });
  execFileSync(SYSTEM_PYTHON, ['-m', 'venv', '--system-site-packages', VENV], { stdio: 'inherit' });
  execFileSync(PYTHON, ['-m', 'pip', 'install', '-q', '--no-index', '--find-links', WHEELS, ...VENV_PACKAGES], {
    stdio: 'inherit',
  });
  if (!ok()) throw new Error(`the virtualenv in ${VENV} cannot import polars, xgboost, pandas and scipy`);
}

export const PEERS = join(import.meta.dirname, 'peers.py');

/** A booster of the peers, trained once per training file (training is set-up, never timed). */
export function booster(kind: 'pandas' | 'codes', trainCsv: string, configPath: string, threads: number): string {
  const path = join(WORK, `xgb-${kind}-${trainCsv.replace(/\W+/g, '_')}.json`);
  if (!existsSync(path)) {
    console.error(`training the ${kind} XGBoost booster (300 trees, depth 6)…`);
    execFileSync(PYTHON, [PEERS, `train-${kind}`, trainCsv, configPath, path, String(threads)], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }
  return path;
}

export interface OurModel {
  onnx: Uint8Array;
  /** The baseline profile JSON of the training rows and their predictions. */
  baseline: string;
}

/** Our GBDT, 300 trees of depth 6 (no early stopping), trained once per training file and cached as ONNX + baseline. */
export async function ourModel(config: ModelConfig, trainCsv: string, threads: number): Promise<OurModel> {
  mkdirSync(WORK, { recursive: true });
  const path = join(WORK, `sap_change-300x6-${trainCsv.replace(/\W+/g, '_')}.onnx`);
  const baselinePath = path.replace(/\.onnx$/, '.baseline.json');
  if (existsSync(path) && existsSync(baselinePath))
    return { onnx: readFileSync(path), baseline: readFileSync(baselinePath, 'utf8') };
  const cfg: ModelConfig = {
    ...config,
    trainer: {
      type: 'gbdt',
      params: {
        trees: 300,
        max_depth: 6,
        learning_rate: 0.1,
        max_bins: 256,
        min_samples_leaf: 20,
        l2: 1,
        min_split_gain: 0,
        validation_fraction: 0.1,
        threads,
      },
    },
  };
  console.error('training our 300-tree depth-6 model…');
  const table = await readCsvTable(createReadStream(trainCsv), trainingSpecs(cfg), { source: trainCsv });
  const m = await trainModel(cfg, table);
  const baseline = JSON.stringify(buildBaselineProfile(table, cfg.features, await m.predict(table), cfg.derived));
  writeFileSync(path, m.onnx);
  writeFileSync(baselinePath, baseline);
  return { onnx: m.onnx, baseline };
}

/** A scratch store holding our model as sap_change v1 with its baseline, aliased prod. */
export async function storeWith(config: ModelConfig, model: OurModel): Promise<TempStore> {
  const store = await tempStore('mltk-bench-predict-');
  const artifact = await putModelArtifact(store.store, config.name, Buffer.from(model.onnx));
  const baseline = await putModelArtifact(store.store, config.name, Buffer.from(model.baseline));
  const mv = await registerModelVersion(store.store, {
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
  });
  await moveAlias(store.store, config.name, 'prod', mv.version);
  return store;
}
