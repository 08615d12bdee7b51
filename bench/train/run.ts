// Side-by-side bench: our GBDT vs XGBoost hist (2 threads each) on the same synthetic rows for the
// three targets; then our peak RSS at 1M training rows. Not part of npm test:
//   npx tsx bench/train/run.ts [--train 100000] [--test 25000] [--big 1000000]
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { synthCsv } from './data.ts';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1]!);
const TRAIN = Number(args.get('train') ?? 100_000);
const TEST = Number(args.get('test') ?? 25_000);
const BIG = Number(args.get('big') ?? 1_000_000);
// Each side runs REPEAT times, interleaved, and the fastest run counts: the machine may be shared.
const REPEAT = Number(args.get('repeat') ?? 2);
const SEED = 42;
const configs = ['configs/sap_change.json', 'configs/heat_change.json', 'configs/carbon_change.json'];
const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));

interface SideResult {
  rows: number;
  results: Record<string, { seconds: number; rmse: number }>;
  peak_rss_mb: number;
  xgboost?: string;
}

function ensureXgboost(): void {
  const ok = spawnSync('/usr/bin/python3', ['-c', 'import xgboost, pandas'], { stdio: 'ignore' }).status === 0;
  if (ok) return;
  console.error('installing python3-xgboost and python3-pandas with apt-get…');
  execFileSync('apt-get', ['install', '-y', 'python3-xgboost', 'python3-pandas'], { stdio: 'inherit' });
}

function side(cmd: string, argv: string[]): SideResult {
  const out = execFileSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
  return JSON.parse(out.trim().split('\n').pop()!);
}

const ours = (csv: string, rows: number) =>
  side(process.execPath, ['--import', 'tsx', here('./ours.ts'), csv, String(rows), ...configs]);

ensureXgboost();
const csv = await synthCsv(TRAIN + TEST, SEED);
const fastest = (runs: SideResult[]): SideResult => ({
  ...runs[0]!,
  peak_rss_mb: Math.max(...runs.map((r) => r.peak_rss_mb)),
  results: Object.fromEntries(
    Object.keys(runs[0]!.results).map((t) => [
      t,
      runs.map((r) => r.results[t]!).reduce((x, y) => (y.seconds < x.seconds ? y : x)),
    ]),
  ),
});
const oursRuns: SideResult[] = [];
const xgbRuns: SideResult[] = [];
for (let i = 0; i < REPEAT; i++) {
  oursRuns.push(ours(csv, TRAIN));
  xgbRuns.push(side('/usr/bin/python3', [here('./xgb.py'), csv, String(TRAIN), ...configs]));
}
const a = fastest(oursRuns);
const b = fastest(xgbRuns);
console.log(
  `\n${TRAIN} train rows, ${TEST} test rows, 22 features (+1 derived); 300 trees, depth 6, lr 0.1, 256 bins, 2 ` +
    `threads; XGBoost ${b.xgboost}; best of ${REPEAT}\n`,
);
console.log('target          ours s   xgb s   ratio   ours RMSE   xgb RMSE');
for (const t of Object.keys(a.results)) {
  const x = a.results[t]!,
    y = b.results[t]!;
  console.log(
    `${t.padEnd(15)} ${x.seconds.toFixed(2).padStart(6)}  ${y.seconds.toFixed(2).padStart(6)}  ` +
      `${(x.seconds / y.seconds).toFixed(2).padStart(6)}  ${x.rmse.toFixed(4).padStart(10)}  ` +
      `${y.rmse.toFixed(4).padStart(9)}`,
  );
}
console.log(
  `peak RSS (${TRAIN} rows, 3 models): ours ${a.peak_rss_mb.toFixed(0)} MB, xgboost process ` +
    `${b.peak_rss_mb.toFixed(0)} MB`,
);
if (BIG > 0) {
  const big = ours(await synthCsv(BIG, SEED + 1), BIG);
  console.log(
    `peak RSS (${BIG} rows incl. reading the CSV, 3 models): ours ${big.peak_rss_mb.toFixed(0)} MB; ` +
      `train s: ${Object.entries(big.results)
        .map(([k, v]) => `${k} ${v.seconds.toFixed(1)}`)
        .join(', ')}`,
  );
}
