// The evaluator alone, on inputs built beforehand (no parsing, no output): the fast evaluator on one
// and on two worker threads, ONNX Runtime's session.run on one and on two intra-op threads over the
// same typed columns, and XGBoost's own predict (inplace_predict and DMatrix) on the same rows as a
// float32 matrix — the features the ONNX graph computes, categoricals as their index. XGBoost's
// booster is its own 300-tree depth-6 model of the same data, not ours: the same work, not the same trees.
import { execFileSync } from 'node:child_process';
import { createReadStream, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelConfig } from '../../pipeline/config/index.ts';
import { readCsvTable } from '../../pipeline/data/index.ts';
import {
  buildInputs,
  columnSpecs,
  loadModel,
  startScoringWorker,
  toFeeds,
  type InputColumn,
} from '../../pipeline/predict/index.ts';
import type { ObjectStore } from '../../pipeline/store/index.ts';
import { onnxRuntime } from '../../pipeline/train/index.ts';
import { median } from './measure.ts';
import { PEERS, PYTHON, WORK } from './setup.ts';

/** Rows [from, to) of every column as buffers of their own (a transferred buffer cannot be reused). */
function slice(inputs: readonly InputColumn[], from: number, to: number): InputColumn[] {
  return inputs.map((i) =>
    'values' in i
      ? { name: i.name, values: i.values.slice(from, to) }
      : { name: i.name, codes: i.codes.slice(from, to), categories: i.categories },
  );
}

const OPS = {
  ratio: (a: number, b: number) => a / b,
  product: (a: number, b: number) => a * b,
  difference: (a: number, b: number) => a - b,
  sum: (a: number, b: number) => a + b,
};

/** The float32 feature matrix the ONNX graph feeds its trees (row-major), categoricals as their index in the config's list. */
function featureMatrix(config: ModelConfig, inputs: readonly InputColumn[], rows: number): Float32Array {
  const names = [...config.features.map((f) => f.name), ...config.derived.map((d) => d.name)];
  const values = new Map<string, Float32Array>();
  for (const i of inputs)
    values.set(i.name, 'values' in i ? i.values : Float32Array.from(i.codes, (c) => (c < 0 ? NaN : c)));
  for (const d of config.derived) {
    const a = values.get(d.inputs[0])!,
      b = values.get(d.inputs[1])!;
    values.set(
      d.name,
      Float32Array.from(a, (x, r) => Math.fround(OPS[d.op](x, b[r]!))),
    );
  }
  const m = new Float32Array(rows * names.length);
  names.forEach((n, c) => {
    const v = values.get(n)!;
    for (let r = 0; r < rows; r++) m[r * names.length + c] = v[r]!;
  });
  return m;
}

async function timeFast(
  model: Awaited<ReturnType<typeof loadModel>>,
  inputs: InputColumn[],
  rows: number,
  threads: number,
  repeats: number,
): Promise<number> {
  const workers = await Promise.all(Array.from({ length: threads }, () => startScoringWorker(model)));
  try {
    const bounds = Array.from({ length: threads + 1 }, (_, k) => Math.round((k * rows) / threads));
    const once = async () => {
      const parts = workers.map((_, k) => slice(inputs, bounds[k]!, bounds[k + 1]!));
      const t0 = performance.now();
      await Promise.all(workers.map((w, k) => w.scoreInputs(parts[k]!, bounds[k + 1]! - bounds[k]!)));
      return (performance.now() - t0) / 1000;
    };
    await once(); // warm-up: the kernel tiers up to optimized code
    return median(await sequence(repeats, once));
  } finally {
    await Promise.all(workers.map((w) => w.close()));
  }
}

async function sequence(n: number, f: () => Promise<number>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await f());
  return out;
}

async function timeOrt(
  onnx: Uint8Array,
  inputs: InputColumn[],
  rows: number,
  threads: number,
  repeats: number,
): Promise<number> {
  const ort = onnxRuntime();
  const session = await ort.InferenceSession.create(onnx, {
    intraOpNumThreads: threads,
    graphOptimizationLevel: 'all',
  });
  try {
    const feeds = toFeeds(ort.Tensor as unknown as Parameters<typeof toFeeds>[0], inputs, rows);
    await session.run(toFeeds(ort.Tensor as unknown as Parameters<typeof toFeeds>[0], slice(inputs, 0, 1000), 1000));
    return median(
      await sequence(repeats, async () => {
        const t0 = performance.now();
        await session.run(feeds);
        return (performance.now() - t0) / 1000;
      }),
    );
  } finally {
    await session.release();
  }
}

export async function evaluatorAlone(
  store: ObjectStore,
  config: ModelConfig,
  scoreCsv: string,
  codesBooster: string,
  threads: number,
  repeats: number,
): Promise<string[]> {
  const model = await loadModel(store, `${config.name}@prod`, { threads });
  try {
    if (!model.fastPath.used) throw new Error(`the bench model is not on the fast path: ${model.fastPath.reason}`);
    const table = await readCsvTable(
      createReadStream(scoreCsv, { highWaterMark: 1 << 20 }),
      columnSpecs(model.signature),
      { source: scoreCsv },
    );
    const { inputs, rows } = buildInputs(model.plan, table);
    const fast1 = await timeFast(model, inputs, rows, 1, repeats);
    const fastN = await timeFast(model, inputs, rows, threads, repeats);
    const ort1 = await timeOrt(model.onnx, inputs, rows, 1, repeats);
    const ortN = await timeOrt(model.onnx, inputs, rows, threads, repeats);
    const matrixPath = join(WORK, 'matrix.f32');
    writeFileSync(matrixPath, featureMatrix(config, inputs, rows));
    const xgb = JSON.parse(
      execFileSync(
        PYTHON,
        [PEERS, 'matrix', matrixPath, String(rows), codesBooster, String(threads), String(repeats)],
        { encoding: 'utf8' },
      ),
    ) as { inplace_predict_s: number; dmatrix_predict_s: number };
    const rate = (s: number) =>
      `${Math.round(rows / s)
        .toLocaleString('en-GB')
        .padStart(11)} rows/s`;
    const line = (label: string, s: number, ref?: number) =>
      `  ${label.padEnd(48)} ${s.toFixed(3).padStart(7)} s  ${rate(s)}${ref ? `  (ours ${(s / ref).toFixed(2)}× as fast)` : ''}`;
    return [
      `evaluator alone on ${rows.toLocaleString('en-GB')} prebuilt rows (no parsing, no output), median of ${repeats}:`,
      line(`fast evaluator, ${threads} worker threads`, fastN),
      line(`ONNX Runtime session.run, ${threads} intra-op threads`, ortN, fastN),
      line(`XGBoost inplace_predict, nthread ${threads} (own booster)`, xgb.inplace_predict_s, fastN),
      line(`XGBoost DMatrix + predict, nthread ${threads} (own booster)`, xgb.dmatrix_predict_s, fastN),
      line('fast evaluator, 1 worker thread', fast1),
      line('ONNX Runtime session.run, 1 intra-op thread', ort1, fast1),
    ];
  } finally {
    model.retire();
  }
}
