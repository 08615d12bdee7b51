// Bench: batch scoring, the evaluator alone, online latency, the monitor and start-up, each beside
// its named peer in one run (bench/README.md lists every figure and how it is taken):
//   npx tsx bench/predict/run.ts [--rows 1000000] [--train 100000] [--threads 2] [--pairs 3]
//     [--only startup,batch,evaluator,online,monitor]
// Whole commands are timed from outside under /usr/bin/time, as interleaved pairs (A B A B …), and
// compared by the median of the pair ratios, so a busy or drifting machine moves both sides alike.
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModelConfig } from '../../pipeline/config/index.ts';
import { synthCsv } from '../train/data.ts';
import { evaluatorAlone } from './evaluator.ts';
import { interleaved, pairLines } from './measure.ts';
import { monitorLines } from './monitor.ts';
import { online, onlineLines } from './online.ts';
import { booster, ensureVenv, ourModel, PEERS, PYTHON, storeWith } from './setup.ts';
import { MLTK, startupLines } from './startup.ts';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1]!);
const ROWS = Number(args.get('rows') ?? 1_000_000);
const TRAIN = Number(args.get('train') ?? 100_000);
const THREADS = Number(args.get('threads') ?? 2);
const PAIRS = Number(args.get('pairs') ?? 3);
const ONLY = new Set((args.get('only') ?? 'startup,batch,evaluator,online,monitor').split(','));
const CONFIG = join(import.meta.dirname, '../../configs/sap_change.json');

function batchLines(
  store: string,
  scoreCsv: string,
  dir: string,
  boosters: { pandas: string; codes: string },
): string[] {
  const ours = {
    label: 'mltk predict',
    cmd: process.execPath,
    args: [
      MLTK,
      '--store',
      store,
      '--json',
      'predict',
      '--model',
      'sap_change@prod',
      '--input',
      scoreCsv,
      '--output',
      join(dir, 'ours.csv'),
    ],
  };
  const peer = (kind: 'polars' | 'pandas', model: string) => ({
    label: kind,
    cmd: PYTHON,
    args: [PEERS, kind, scoreCsv, CONFIG, model, join(dir, `${kind}.csv`), String(THREADS)],
  });
  const vsPolars = interleaved(ours, peer('polars', boosters.codes), PAIRS);
  const vsPandas = interleaved(ours, peer('pandas', boosters.pandas), PAIRS);
  const doc = JSON.parse(vsPolars.a.at(-1)!.stdout) as {
    rows: number;
    scorer: string;
    workers: number;
    input: { bytes: number };
    timings: Record<string, number>;
  };
  const pl = JSON.parse(vsPolars.b.at(-1)!.stdout) as Record<string, number | string>;
  const pd = JSON.parse(vsPandas.b.at(-1)!.stdout) as Record<string, number | string>;
  const t = doc.timings,
    s = (x: unknown) => Number(x).toFixed(2);
  return [
    `batch: ${doc.rows.toLocaleString('en-GB')} rows (${(doc.input.bytes / 1e6).toFixed(0)} MB CSV) → ` +
      `predictions CSV, sap_change 300 trees depth 6, ${THREADS} threads, whole commands, ` +
      `${PAIRS} interleaved pairs each`,
    `(targets: ≥ 1× polars + XGBoost inplace_predict, aim 1.5×; ≥ 2× pandas + XGBoost; peak RSS < 512 MB)`,
    ...pairLines(
      vsPolars,
      `mltk predict (scorer ${doc.scorer}, ${doc.workers} workers)`,
      `polars ${pl.polars} + XGBoost ${pl.xgboost} inplace_predict (whole process)`,
    ),
    ...pairLines(vsPandas, 'mltk predict', `pandas ${pd.pandas} + XGBoost predict (whole process)`),
    `  mltk's own split (last run; parse/score/format summed over workers): load ${s(t.load_s)} · ` +
      `parse ${s(t.parse_s)} · score ${s(t.score_s)} · write ${s(t.write_s)} · in all ${s(t.total_s)} s`,
    `  parsing on the ${doc.workers} workers: ${(doc.input.bytes / 1e6 / t.parse_s!).toFixed(0)} MB/s per core ` +
      `(input bytes / parse seconds summed over workers; target ≥ 150)`,
    `  polars' split: read ${s(pl.read_s)} · features ${s(pl.features_s)} · predict ${s(pl.predict_s)} · ` +
      `write ${s(pl.write_s)} s; pandas': read ${s(pd.read_s)} · predict ${s(pd.predict_s)} · write ${s(pd.write_s)} s`,
  ];
}

const print = (lines: string[]) => console.log(`\n${lines.join('\n')}`);
const config = await loadModelConfig(CONFIG);
const trainCsv = await synthCsv(TRAIN, 42);
const scoreCsv = await synthCsv(ROWS, 7);
const ours = await ourModel(config, trainCsv, THREADS);
const store = await storeWith(config, ours);
const dir = mkdtempSync(join(tmpdir(), 'mltk-bench-predict-out-'));
try {
  console.log(
    `bench/predict on ${new Date().toISOString()}: node ${process.version}, ${THREADS} threads, ` +
      `${ROWS.toLocaleString('en-GB')} rows to score (${TRAIN.toLocaleString('en-GB')} to train)`,
  );
  ensureVenv();
  const boosters = {
    pandas: booster('pandas', trainCsv, CONFIG, THREADS),
    codes: booster('codes', trainCsv, CONFIG, THREADS),
  };
  const small = join(dir, 'small.csv');
  writeFileSync(small, `${readFileSync(scoreCsv, 'utf8').slice(0, 200_000).split('\n').slice(0, 101).join('\n')}\n`);
  if (ONLY.has('startup')) print(startupLines(store.dir, small, dir, Math.max(5, PAIRS * 3)));
  if (ONLY.has('batch')) print(batchLines(store.dir, scoreCsv, dir, boosters));
  if (ONLY.has('evaluator'))
    print(await evaluatorAlone(store.store, config, scoreCsv, boosters.codes, THREADS, Math.max(3, PAIRS)));
  if (ONLY.has('online')) {
    const { fast, ort } = await online(store.dir, config, THREADS);
    print([
      'online through mltk serve (127.0.0.1, sequential keep-alive requests alternating between the two servers; ' +
        'target: no worse than ONNX Runtime):',
      ...onlineLines('fast evaluator', fast),
      ...onlineLines('ONNX Runtime (--scorer onnxruntime)', ort),
    ]);
  }
  if (ONLY.has('monitor')) print(await monitorLines(dir, scoreCsv, PAIRS));
} finally {
  await store.cleanup();
  rmSync(dir, { recursive: true, force: true });
}
