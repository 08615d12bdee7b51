// What bench/predict measures against, made once and reused: the synthetic rows, our 300-tree depth-6
// sap_change model registered in a scratch store, the Python virtualenv of the peers (polars and the
// rest from the local wheel cache, XGBoost, pandas and scipy from the system), and the peers' boosters.
import { execFileSync, spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelConfig } from '../../pipeline/config/index.ts';
import { readCsvTable } from '../../pipeline/data/index.ts';
import { registerOnnx, tempStore, trainingSpecs, type TempStore } from '../../pipeline/predict/testdata.ts';
import { moveAlias } from '../../pipeline/registry/index.ts';
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

/** Our GBDT, 300 trees of depth 6 (no early stopping), trained once per training file and cached as ONNX. */
export async function ourModel(config: ModelConfig, trainCsv: string, threads: number): Promise<Uint8Array> {
  mkdirSync(WORK, { recursive: true });
  const path = join(WORK, `sap_change-300x6-${trainCsv.replace(/\W+/g, '_')}.onnx`);
  if (existsSync(path)) return readFileSync(path);
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
  const m = await trainModel(
    cfg,
    await readCsvTable(createReadStream(trainCsv), trainingSpecs(cfg), { source: trainCsv }),
  );
  writeFileSync(path, m.onnx);
  return m.onnx;
}

/** A scratch store holding `onnx` as sap_change v1, aliased prod. */
export async function storeWith(config: ModelConfig, onnx: Uint8Array): Promise<TempStore> {
  const store = await tempStore('mltk-bench-predict-');
  const mv = await registerOnnx(store.store, config, onnx);
  await moveAlias(store.store, config.name, 'prod', mv.version);
  return store;
}
