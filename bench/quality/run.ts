// Bench: what estimating quality without labels costs, next to what scoring costs, per 1M rows.
//   npx tsx bench/quality/run.ts [--rows 1000000] [--train 100000] [--repeat 5] [--pairs 3]
// The version is trained by the real job on the shipped sap_change config (300 trees of depth 6; its
// loss estimator, 2 heads of 100 trees of depth 3, fitted on the held-out rows). Two measurements:
//   in process: the same parsed chunks of 64k rows scored by the model (pipeline/predict's scoring
//     worker, as the monitor scores) and estimated by the loss estimator (openLossEstimator, as the
//     monitor estimates), interleaved A B A B … and compared by medians;
//   whole command: `mltk monitor` on the batch carrying its predictions, for the version and for a twin
//     registered without the estimator (same ONNX, same baseline): the difference is what the estimate
//     adds to the command; `mltk predict` on the same rows is scoring's whole command.
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModelConfig } from '../../pipeline/config/index.ts';
import { openCsvTables, type Table } from '../../pipeline/data/index.ts';
import { runTrainJob } from '../../pipeline/jobs/index.ts';
import { chunkPredictor, modelScorer, monitorColumnSpecs, openLossEstimator } from '../../pipeline/monitor/index.ts';
import { getModelVersion, type ModelVersion } from '../../pipeline/registry/index.ts';
import { openStore, type ObjectStore } from '../../pipeline/store/index.ts';
import { interleaved, median, pairLines, timed } from '../predict/measure.ts';
import { joinPredictions, twinWithoutEstimator } from '../predict/monitor.ts';
import { MLTK } from '../predict/startup.ts';
import { synthCsv } from '../train/data.ts';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1]!);
const ROWS = Number(args.get('rows') ?? 1_000_000);
const TRAIN = Number(args.get('train') ?? 100_000);
const REPEAT = Number(args.get('repeat') ?? 5);
const PAIRS = Number(args.get('pairs') ?? 3);
const CHUNK_ROWS = 65_536;
const CONFIG = join(import.meta.dirname, '../../configs/sap_change.json');

const f2 = (x: number) => x.toFixed(2);
const per1M = (seconds: number) => (seconds * 1_000_000) / ROWS;

/** The batch as the monitor reads it (categoricals as text, the id as text), in chunks of 64k rows. */
async function readChunks(csv: string, mv: ModelVersion): Promise<Table[]> {
  const specs = [
    { name: mv.signature.id_column, type: 'text' as const, nullable: true },
    ...monitorColumnSpecs(mv.signature.features),
  ];
  const reader = await openCsvTables(createReadStream(csv, { highWaterMark: 1 << 20 }), specs, {
    source: csv,
    chunkRows: CHUNK_ROWS,
  });
  const out: Table[] = [];
  for await (const chunk of reader.chunks) out.push(chunk.table);
  return out;
}

interface Timing {
  wall: number;
  /** CPU seconds of the whole process, worker threads included: on a shared machine, steadier than wall. */
  cpu: number;
}

/** Runs `step` over every chunk in order (one chunk at a time, as the monitor does). */
async function timeChunks<T>(chunks: Table[], step: (t: Table, i: number) => Promise<T>): Promise<Timing> {
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  for (let i = 0; i < chunks.length; i++) await step(chunks[i]!, i);
  const c = process.cpuUsage(c0);
  return { wall: Number(process.hrtime.bigint() - t0) / 1e9, cpu: (c.user + c.system) / 1e6 };
}

/** Which scorer the estimator's heads run on: each head is proven at load, or all go to ONNX Runtime. */
const scorerOf = (verdicts: Record<string, { used: boolean }> | undefined): string =>
  verdicts && Object.values(verdicts).every((v) => v.used) ? 'fast evaluator' : 'ONNX Runtime';

async function inProcess(store: ObjectStore, mv: ModelVersion, chunks: Table[]): Promise<string[]> {
  const scorer = await modelScorer(store)(mv);
  const estimator = (await openLossEstimator(store, mv))!;
  try {
    const predictor = chunkPredictor(mv.signature, scorer);
    const predictions: Float64Array[] = [];
    for (const t of chunks) predictions.push(await predictor.predict(t)); // warm-up, and the estimator's input
    await timeChunks(chunks, (t, i) => estimator.estimate(t, predictions[i]!));
    const scoring: Timing[] = [],
      estimating: Timing[] = [];
    let estimated = 0;
    for (let r = 0; r < REPEAT; r++) {
      scoring.push(await timeChunks(chunks, (t) => predictor.predict(t)));
      estimated = 0;
      estimating.push(
        await timeChunks(chunks, async (t, i) => {
          estimated += (await estimator.estimate(t, predictions[i]!)).rows;
        }),
      );
    }
    const line = (label: string, runs: Timing[]) => {
      const walls = runs.map((r) => per1M(r.wall));
      const cpu = median(runs.map((r) => per1M(r.cpu)));
      const range = `[${f2(Math.min(...walls))}–${f2(Math.max(...walls))}]`;
      return `  ${label.padEnd(58)} wall ${f2(median(walls))} s ${range}  cpu ${f2(cpu)} s  per 1M rows`;
    };
    const ratio = (k: keyof Timing) => median(estimating.map((e, i) => e[k] / scoring[i]![k]));
    return [
      `in process, the same ${chunks.length} parsed chunks (${ROWS.toLocaleString('en-GB')} rows), ` +
        `${REPEAT} interleaved rounds, medians:`,
      line('scoring (the model on its scoring worker)', scoring),
      line(`estimating (the loss estimator's two heads: ${scorerOf(estimator.fastPath)})`, estimating),
      `  → the estimate costs ${f2(ratio('wall'))}× scoring's wall, ${f2(ratio('cpu'))}× its cpu ` +
        `(medians of the round ratios; ${estimated.toLocaleString('en-GB')} rows estimated)`,
    ];
  } finally {
    await scorer.close?.();
    await estimator.close();
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'mltk-bench-quality-'));
  try {
    const storePath = join(dir, 'store');
    const store = openStore(storePath);
    const config = await loadModelConfig(CONFIG);
    const trainCsv = await synthCsv(TRAIN, 42);
    const scoreCsv = await synthCsv(ROWS, 4242);
    console.error(`training sap_change on ${TRAIN.toLocaleString('en-GB')} rows (the model and its loss estimator)…`);
    await runTrainJob({
      store,
      config,
      configSource: CONFIG,
      data: { kind: 'file', path: trainCsv },
      say: () => {},
      progress: () => {},
    });
    const mv = await getModelVersion(store, 'sap_change', 1);
    const twin = await twinWithoutEstimator(store, mv);

    console.error('reading the batch…');
    const lines = [...(await inProcess(store, mv, await readChunks(scoreCsv, mv)))];

    const scored = join(dir, 'scored.csv'),
      carried = join(dir, 'carried.csv');
    const mltk = (label: string, ...a: string[]) => ({
      label,
      cmd: process.execPath,
      args: [MLTK, '--store', storePath, ...a],
    });
    const predict = mltk('mltk predict', 'predict', '--model', 'sap_change@1', '--input', scoreCsv, '--output', scored);
    timed(predict); // unmeasured: writes the predictions the monitor's input carries
    await joinPredictions(scoreCsv, scored, mv.signature.output.column, carried);
    const predicts = Array.from({ length: PAIRS }, () => timed(predict));
    const monitor = interleaved(
      mltk('with', 'monitor', '--model', 'sap_change@1', '--input', carried),
      mltk('without', 'monitor', '--model', `sap_change@${twin.version}`, '--input', carried),
      PAIRS,
    );
    const withE = median(monitor.a.map((r) => r.wall)),
      without = median(monitor.b.map((r) => r.wall));
    lines.push(
      `whole commands on the same ${ROWS.toLocaleString('en-GB')} rows, ${PAIRS} runs (monitor: interleaved pairs):`,
      `  mltk predict (scoring, CSV → CSV)  wall ${f2(median(predicts.map((r) => r.wall)))} s  ` +
        `cpu ${f2(median(predicts.map((r) => r.cpu)))} s`,
      ...pairLines(monitor, 'mltk monitor, estimate on', 'mltk monitor, no estimator (same version otherwise)'),
      `  → the estimate adds ${f2(withE - without)} s wall to mltk monitor per ` +
        `${(ROWS / 1e6).toLocaleString('en-GB')}M rows ` +
        `(cpu +${f2(median(monitor.a.map((r) => r.cpu)) - median(monitor.b.map((r) => r.cpu)))} s)`,
    );
    console.log(lines.join('\n'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
