// Bench: the scale-out path on this machine — `mltk predict --shards N --workers W` on 10M rows with one
// and with two shard processes (rows/s, each shard's scoring rate, peak RSS per worker), beside one pass
// (`mltk predict`, one process scoring on every core). The per-shard rate is what a Lambda shard does with
// one thread, the input of the README's cost paper. Outputs of every run compared byte for byte.
//   npx tsx bench/scale/run.ts [--rows 10000000] [--shards 8] [--train 100000] [--skip-one-pass]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModelConfig } from '../../pipeline/config/index.ts';
import { ourModel, storeWith } from '../predict/setup.ts';
import { MLTK } from '../predict/startup.ts';
import { synthCsv } from '../train/data.ts';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i++) {
  const flag = process.argv[i]!.replace(/^--/, '');
  const next = process.argv[i + 1];
  if (next && !next.startsWith('--')) {
    args.set(flag, next);
    i++;
  } else args.set(flag, 'true');
}
const ROWS = Number(args.get('rows') ?? 10_000_000);
const SHARDS = Number(args.get('shards') ?? 8);
const TRAIN = Number(args.get('train') ?? 100_000);

/** What `mltk predict --json` prints (the sharded fields only with --shards). */
interface PredictDoc {
  rows: number;
  peak_rss_mb?: number;
  threads_per_worker?: number;
  worker_peak_rss_mb?: number[];
  shard_rows_per_s?: number[];
  timings: { plan_s?: number; shards_s?: number; finalize_s?: number; total_s: number };
}

interface Timed {
  wall_s: number;
  peak_rss_mb: number;
  doc: PredictDoc;
}

/** One whole command under /usr/bin/time: wall clock, peak RSS (of the largest process), its JSON document. */
function timed(argv: string[]): Timed {
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', 'mltk-bench-rss %M', process.execPath, MLTK, ...argv], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  const wall_s = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`mltk ${argv.join(' ')} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  const kb = Number(/mltk-bench-rss (\d+)/.exec(r.stderr)?.[1] ?? 0);
  return { wall_s, peak_rss_mb: Math.round(kb / 1024), doc: JSON.parse(r.stdout) };
}

const config = await loadModelConfig(join(import.meta.dirname, '../../configs/sap_change.json'));
console.error(`data: ${TRAIN} training rows, ${ROWS} rows to score (cached under the bench folder)…`);
const trainCsv = await synthCsv(TRAIN, 1);
const scoreCsv = await synthCsv(ROWS, 2);
const model = await ourModel(config, trainCsv, 2);
const store = await storeWith(config, model);
const out = mkdtempSync(join(tmpdir(), 'mltk-bench-scale-'));
try {
  const predict = (output: string, extra: string[] = []) => [
    '--store',
    store.dir,
    '--json',
    'predict',
    '--model',
    'sap_change@prod',
    '--input',
    scoreCsv,
    '--output',
    join(out, output),
    ...extra,
  ];
  const runs: { label: string; output: string; t: Timed }[] = [];
  if (args.get('skip-one-pass') !== 'true') {
    console.error('one pass…');
    runs.push({ label: 'one pass (`mltk predict`, 2 threads)', output: 'one.csv', t: timed(predict('one.csv')) });
  }
  for (const workers of [1, 2]) {
    console.error(`--shards ${SHARDS} --workers ${workers}…`);
    const output = `w${workers}.csv`;
    const t = timed(predict(output, ['--shards', String(SHARDS), '--workers', String(workers)]));
    runs.push({ label: `--shards ${SHARDS} --workers ${workers}`, output, t });
  }
  const bytes = statSync(scoreCsv).size;
  const first = readFileSync(join(out, runs[0]!.output));
  const firstErrors = readFileSync(join(out, runs[0]!.output.replace(/\.csv$/, '.errors.csv')));
  const identical = runs.every(
    (r) =>
      readFileSync(join(out, r.output)).equals(first) &&
      readFileSync(join(out, r.output.replace(/\.csv$/, '.errors.csv'))).equals(firstErrors),
  );
  const mib = (n: number) => (n / 2 ** 20).toFixed(0);
  console.log(
    `${ROWS.toLocaleString('en-GB')} rows, ${mib(bytes)} MiB CSV, sap_change 300 trees depth 6; ` +
      `outputs of every run byte-identical: ${identical ? 'yes' : 'NO'}`,
  );
  console.log('| run | wall | rows/s | per-shard scoring rate (rows/s, min–max) | peak RSS: parent · each worker |');
  console.log('|---|---|---|---|---|');
  for (const { label, t } of runs) {
    const rate = Math.round(ROWS / t.wall_s).toLocaleString('en-GB');
    const shardRates = t.doc.shard_rows_per_s ?? [];
    const range = shardRates.length
      ? `${Math.min(...shardRates).toLocaleString('en-GB')}–${Math.max(...shardRates).toLocaleString('en-GB')} ` +
        `(${t.doc.threads_per_worker} thread${t.doc.threads_per_worker === 1 ? '' : 's'} each)`
      : '—';
    const workers = t.doc.worker_peak_rss_mb?.map((m) => `${m} MiB`).join(' · ') ?? '—';
    const { plan_s, shards_s, finalize_s } = t.doc.timings;
    const split =
      plan_s !== undefined && shards_s !== undefined && finalize_s !== undefined
        ? ` (plan ${plan_s.toFixed(1)} · shards ${shards_s.toFixed(1)} · finalize ${finalize_s.toFixed(1)} s)`
        : '';
    console.log(
      `| ${label} | ${t.wall_s.toFixed(1)} s${split} | ${rate} | ${range} | ${
        t.doc.peak_rss_mb ?? t.peak_rss_mb
      } MiB · ${workers} |`,
    );
  }
} finally {
  rmSync(out, { recursive: true, force: true });
  await store.cleanup();
}
