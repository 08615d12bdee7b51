// Bench: what the whole `mltk monitor` command costs on a 1M-row synth CSV, end to end (process
// start, CSV parsing, scoring, statistics, report): wall time and peak RSS from /usr/bin/time, for
// a raw input (the monitor scores it with the model) and for the same rows carrying the predictions.
// Run: npx tsx bench/drift/csv.bench.ts [rows] [repeats]   (not part of npm test)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROWS = Number(process.argv[2] ?? 1_000_000);
const REPEATS = Number(process.argv[3] ?? 3);
const MLTK = join(import.meta.dirname, '../../pipeline/cli/bin.js');

function mltk(args: string[]): string {
  const r = spawnSync(process.execPath, [MLTK, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`mltk ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Wall seconds and peak RSS (MB) of one `mltk monitor` run, as /usr/bin/time -v reports them. */
function timedMonitor(store: string, input: string): { wall: number; rssMb: number } {
  const r = spawnSync(
    '/usr/bin/time',
    ['-v', process.execPath, MLTK, '--store', store, 'monitor', '--model', 'sap_change@1', '--input', input],
    { encoding: 'utf8', maxBuffer: 1 << 26 },
  );
  if (r.status !== 0) throw new Error(`mltk monitor: ${r.stderr}`);
  const wall = /Elapsed \(wall clock\) time \([^)]*\): (?:(\d+):)?(\d+):([\d.]+)/.exec(r.stderr)!;
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr)!;
  return { wall: Number(wall[1] ?? 0) * 3600 + Number(wall[2]) * 60 + Number(wall[3]), rssMb: Number(rss[1]) / 1024 };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

const dir = mkdtempSync(join(tmpdir(), 'mltk-drift-csv-bench-'));
try {
  const store = join(dir, 'store');
  mltk(['--store', store, 'run', '--config', 'configs/sap_change.json']);
  const raw = join(dir, 'raw.csv');
  mltk(['data', 'synth', '--rows', String(ROWS), '--seed', '9', '-o', raw]);
  // The same rows with the model's output column, from `mltk predict` (every synth row scores).
  const scored = join(dir, 'scored.csv');
  mltk(['--store', store, 'predict', '--model', 'sap_change@1', '--input', raw, '--output', scored]);
  const preds = readFileSync(scored, 'utf8').split('\n');
  const lines = readFileSync(raw, 'utf8').split('\n');
  const carried = join(dir, 'carried.csv');
  writeFileSync(carried, lines.map((l, i) => (l ? `${l},${preds[i]!.split(',')[1]}` : l)).join('\n'));

  console.log(
    `mltk monitor end to end on ${ROWS.toLocaleString('en-GB')} synth rows (${(statSync(raw).size / 1e6).toFixed(0)} ` +
      `MB CSV), node ${process.version}, median of ${REPEATS}`,
  );
  for (const [label, input] of [
    ['raw input, scored by the monitor', raw],
    ['input carrying predictions', carried],
  ] as const) {
    const runs = Array.from({ length: REPEATS }, () => timedMonitor(store, input));
    console.log(
      `  ${label.padEnd(34)} wall ${median(runs.map((r) => r.wall)).toFixed(2)} s ` +
        `[${runs.map((r) => r.wall.toFixed(2)).join(' ')}], peak RSS ${median(runs.map((r) => r.rssMb)).toFixed(0)} MB`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
