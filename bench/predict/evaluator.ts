// The evaluator alone, on inputs built beforehand (no parsing, no output): the fast evaluator on one
// and on two worker threads, ONNX Runtime's session.run on one and on two intra-op threads over the
// same typed columns, and XGBoost's own predict (inplace_predict and DMatrix) on the same rows as a
// float32 matrix — the features the ONNX graph computes, categoricals as their index. XGBoost's
// booster is its own 300-tree depth-6 model of the same data, not ours: the same work, not the same trees.
import { execFileSync } from 'node:child_process';
import { createReadStream, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelConfig } from '../../pipeline/config/index.ts';
import { parseTableBlock, planTable, readCsvTable } from '../../pipeline/data/index.ts';
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

/**
 * The float32 feature matrix the ONNX graph feeds its trees (row-major), categoricals as their index in the config's
 * list.
 */
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

interface Timer {
  /** One timed pass over every row (seconds). */
  once(): Promise<number>;
  close(): Promise<void>;
}

async function fastTimer(
  model: Awaited<ReturnType<typeof loadModel>>,
  inputs: InputColumn[],
  rows: number,
  threads: number,
): Promise<Timer> {
  const workers = await Promise.all(Array.from({ length: threads }, () => startScoringWorker(model)));
  const bounds = Array.from({ length: threads + 1 }, (_, k) => Math.round((k * rows) / threads));
  const once = async () => {
    const parts = workers.map((_, k) => slice(inputs, bounds[k]!, bounds[k + 1]!));
    const t0 = performance.now();
    await Promise.all(workers.map((w, k) => w.scoreInputs(parts[k]!, bounds[k + 1]! - bounds[k]!)));
    return (performance.now() - t0) / 1000;
  };
  await once(); // warm-up: the kernel tiers up to optimized code
  return { once, close: async () => void (await Promise.all(workers.map((w) => w.close()))) };
}

async function ortTimer(onnx: Uint8Array, inputs: InputColumn[], rows: number, threads: number): Promise<Timer> {
  const ort = onnxRuntime();
  const session = await ort.InferenceSession.create(onnx, {
    intraOpNumThreads: threads,
    graphOptimizationLevel: 'all',
  });
  const Tensor = ort.Tensor as unknown as Parameters<typeof toFeeds>[0];
  const feeds = toFeeds(Tensor, inputs, rows);
  await session.run(toFeeds(Tensor, slice(inputs, 0, 1000), 1000));
  return {
    async once() {
      const t0 = performance.now();
      await session.run(feeds);
      return (performance.now() - t0) / 1000;
    },
    close: () => session.release(),
  };
}

/** Median seconds of a and of b over `rounds` alternating passes (a b a b …), and the median of the pair ratios b/a. */
async function alternating(a: Timer, b: Timer, rounds: number): Promise<{ a: number; b: number; speedup: number }> {
  const as: number[] = [],
    bs: number[] = [];
  for (let i = 0; i < rounds; i++) {
    as.push(await a.once());
    bs.push(await b.once());
  }
  return { a: median(as), b: median(bs), speedup: median(as.map((x, i) => bs[i]! / x)) };
}

/** CSV bytes into the typed columns the evaluator reads, on this thread alone: MB/s of CPU time (best of `repeats`). */
function parseAlone(plan: ReturnType<typeof planTable>, csv: Buffer, repeats: number): number {
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  const BLOCK = 8 << 20;
  const start = csv.indexOf(10) + 1;
  let best = Infinity;
  for (let r = 0; r < repeats; r++) {
    const t0 = cpu();
    for (let s = start, rows = 0; s < csv.length; ) {
      const e = Math.min(csv.length, s + BLOCK) < csv.length ? csv.indexOf(10, s + BLOCK) + 1 : csv.length;
      rows += parseTableBlock(plan, csv, s, e, rows + 1, Math.ceil((e - s) / 64)).table.rows;
      s = e;
    }
    best = Math.min(best, cpu() - t0);
  }
  return csv.length / 1e6 / best;
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
    const csv = readFileSync(scoreCsv);
    const header = csv.toString('utf8', 0, csv.indexOf(10)).replace(/\r$/, '').split(',');
    const parseMBs = parseAlone(planTable(header, columnSpecs(model.signature), scoreCsv), csv, repeats);
    const pair = async (fast: Promise<Timer>, ort: Promise<Timer>) => {
      const [a, b] = [await fast, await ort];
      try {
        return await alternating(a, b, repeats);
      } finally {
        await a.close();
        await b.close();
      }
    };
    const n = await pair(fastTimer(model, inputs, rows, threads), ortTimer(model.onnx, inputs, rows, threads));
    const one = await pair(fastTimer(model, inputs, rows, 1), ortTimer(model.onnx, inputs, rows, 1));
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
      `  ${label.padEnd(48)} ${s.toFixed(3).padStart(7)} s  ${rate(s)}${
        ref ? `  (ours ${(s / ref).toFixed(2)}× as fast)` : ''
      }`;
    const x = (ratio: number) => `  (ours ${ratio.toFixed(2)}× as fast)`;
    return [
      `evaluator alone on ${rows.toLocaleString('en-GB')} prebuilt rows (no parsing, no output), ` +
        `ours and ONNX Runtime's alternating, median of ${repeats} (targets: ≥ 2× ONNX Runtime, aim 5×):`,
      line(`fast evaluator, ${threads} worker threads`, n.a),
      `${line(`ONNX Runtime session.run, ${threads} intra-op threads`, n.b)}${x(n.speedup)}`,
      line(`XGBoost inplace_predict, nthread ${threads} (own booster)`, xgb.inplace_predict_s, n.a),
      line(`XGBoost DMatrix + predict, nthread ${threads} (own booster)`, xgb.dmatrix_predict_s, n.a),
      line('fast evaluator, 1 worker thread', one.a),
      `${line('ONNX Runtime session.run, 1 intra-op thread', one.b)}${x(one.speedup)}`,
      `CSV parsing alone, one thread, into the typed columns the evaluator reads: ` +
        `${parseMBs.toFixed(0)} MB/s of CPU time (best of ${repeats}; target ≥ 150 MB/s per core)`,
    ];
  } finally {
    model.retire();
  }
}
