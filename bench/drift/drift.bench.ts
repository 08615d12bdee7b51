// Bench: the monitor's full drift computation on 1M rows × the 22 features of configs/sap_change.json
// against numpy/scipy computing the same statistics on the same arrays, side by side in one run.
// Both sides get the arrays in memory and do the same work (missing and out-of-range counts, PSI/JS
// bins, KS, category counts); each runs REPEATS times and the medians are compared.
// Run: npx tsx bench/drift/drift.bench.ts [rows] [repeats]   (not part of npm test)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModelConfig, type FeatureSpec } from '../../pipeline/config/index.ts';
import type { Column, Table } from '../../pipeline/data/index.ts';
import { buildBaselineProfile, monitorBatch } from '../../pipeline/monitor/index.ts';
import { normals, uniform } from '../../pipeline/monitor/testdata.ts';

const PYTHON = '/usr/bin/python3';
const ROWS = Number(process.argv[2] ?? 1_000_000);
const BASELINE_ROWS = 200_000;
const REPEATS = Number(process.argv[3] ?? 7);
const CHUNK = 100_000;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
};

function ensurePeer(): void {
  if (spawnSync(PYTHON, ['-c', 'import numpy, scipy'], { stdio: 'ignore' }).status === 0) return;
  console.log('installing the Python peer (numpy, scipy)…');
  const r = spawnSync(PYTHON, ['-m', 'pip', 'install', '--user', 'numpy', 'scipy'], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('could not install numpy/scipy for the peer');
}

/**
 * Columns shaped like the config: numeric within [min, max] (optionally shifted), booleans, categoricals; 5% missing
 * where nullable.
 */
function synth(features: FeatureSpec[], rows: number, seed: number, shift: number): Table {
  const columns = new Map<string, Column>();
  features.forEach((f, k) => {
    const u = uniform(seed * 100 + k);
    if (f.type === 'numeric') {
      const lo = f.min ?? 0,
        hi = f.max ?? 100,
        mid = lo + (hi - lo) * 0.3,
        sd = (hi - lo) * 0.08;
      const v = normals(rows, seed * 100 + k, mid + shift * sd * (k % 2), sd);
      for (let i = 0; i < rows; i++) {
        v[i] = Math.min(hi, Math.max(lo, Math.round(v[i]! * 10) / 10));
        if (f.nullable && u() < 0.05) v[i] = NaN;
      }
      columns.set(f.name, { kind: 'numeric', values: v });
    } else if (f.type === 'boolean') {
      const v = new Float64Array(rows);
      for (let i = 0; i < rows; i++) v[i] = u() < 0.3 + 0.1 * shift ? 1 : 0;
      columns.set(f.name, { kind: 'numeric', values: v });
    } else {
      const codes = new Int32Array(rows);
      const n = f.values.length;
      for (let i = 0; i < rows; i++) {
        const r = u();
        codes[i] = Math.min(n - 1, Math.floor((shift && k % 3 === 0 ? r * r : r) * n));
      }
      columns.set(f.name, { kind: 'categorical', codes, categories: f.values });
    }
  });
  return { rows, columns };
}

function slice(t: Table, s: number, e: number): Table {
  const columns = new Map<string, Column>();
  for (const [k, c] of t.columns)
    columns.set(
      k,
      c.kind === 'numeric'
        ? { kind: 'numeric', values: c.values.subarray(s, e) }
        : c.kind === 'categorical'
          ? { ...c, codes: c.codes.subarray(s, e) }
          : { ...c, values: c.values.slice(s, e) },
    );
  return { rows: e - s, columns };
}

ensurePeer();
const config = await loadModelConfig('configs/sap_change.json');
const features = config.features;
const baseTable = synth(features, BASELINE_ROWS, 1, 0);
const baseline = buildBaselineProfile(baseTable, features, normals(BASELINE_ROWS, 99, 5, 3));
const current = synth(features, ROWS, 2, 0.5);
const currentPred = normals(ROWS, 98, 5.3, 3);
current.columns.set(config.output.column, { kind: 'numeric', values: currentPred });

const dir = mkdtempSync(join(tmpdir(), 'mltk-drift-bench-'));
try {
  const meta = {
    features: [...baseline.features, { ...baseline.prediction!, name: config.output.column }].map((p) => {
      const spec = features.find((f) => f.name === p.name);
      return spec?.type === 'numeric'
        ? { ...p, lo: spec.min ?? -Infinity, hi: spec.max ?? Infinity }
        : p.type === 'numeric'
          ? { ...p, lo: -1e308, hi: 1e308 }
          : p;
    }),
  };
  for (const f of meta.features) {
    const c = current.columns.get(f.name)!;
    if (c.kind === 'numeric')
      writeFileSync(join(dir, `${f.name}.f64`), Buffer.from(c.values.buffer, c.values.byteOffset, c.values.byteLength));
    else if (c.kind === 'categorical')
      writeFileSync(join(dir, `${f.name}.i32`), Buffer.from(c.codes.buffer, c.codes.byteOffset, c.codes.byteLength));
  }
  writeFileSync(join(dir, 'meta.json'), JSON.stringify(meta));

  const rssBefore = process.resourceUsage().maxRSS / 1024;
  const times: number[] = [];
  let report: Awaited<ReturnType<typeof monitorBatch>> | undefined;
  for (let r = 0; r < REPEATS; r++) {
    const t0 = performance.now();
    const chunks = function* () {
      for (let s = 0; s < ROWS; s += CHUNK) yield slice(current, s, Math.min(ROWS, s + CHUNK));
    };
    report = await monitorBatch({
      model: { name: config.name, version: 0 },
      features,
      baseline,
      thresholds: config.monitoring,
      chunks: chunks(),
      source: 'bench',
      predictionColumn: config.output.column,
    });
    times.push((performance.now() - t0) / 1000);
  }
  const ours = median(times);
  const oursRss = process.resourceUsage().maxRSS / 1024;

  const py = spawnSync(PYTHON, [join(import.meta.dirname, 'peer.py'), dir, String(REPEATS)], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  if (py.status !== 0) throw new Error(py.stderr);
  const peer = JSON.parse(py.stdout) as {
    seconds: number;
    all_seconds: number[];
    peak_rss_mb: number;
    stats: Record<string, [number, number | null, number | null, number, number]>;
  };

  let worst = 0;
  const countsDiffer: string[] = [];
  for (const f of [...report!.features, { ...report!.prediction!, name: config.output.column }]) {
    const p = peer.stats[f.name]!;
    worst = Math.max(
      worst,
      Math.abs(f.psi - p[0]),
      Math.abs(f.js_distance - p[3]),
      f.ks_statistic === null ? 0 : Math.abs(f.ks_statistic - p[1]!),
      f.ks_pvalue === null ? 0 : Math.abs(f.ks_pvalue - p[2]!),
    );
    if ((f.out_of_range ?? 0) !== p[4]) countsDiffer.push(`${f.name} out of range ${f.out_of_range} vs ${p[4]}`);
  }
  const secs = (xs: number[]) => xs.map((x) => x.toFixed(3)).join(' ');
  console.log(
    `rows ${ROWS.toLocaleString('en-GB')} × ${features.length} features + prediction (baseline ` +
      `${BASELINE_ROWS.toLocaleString('en-GB')} rows, KS sample ≤ 20,000), ${REPEATS} runs each`,
  );
  console.log(
    `mltk (node ${process.version}, chunks of ${CHUNK}): median ${ours.toFixed(3)} s [${secs(times)}], peak RSS ` +
      `${oursRss.toFixed(0)} MB (${rssBefore.toFixed(0)} MB before the drift runs: data generation)`,
  );
  console.log(
    `numpy ${'/'} scipy peer:               median ${peer.seconds.toFixed(3)} s [${secs(peer.all_seconds)}], peak ` +
      `RSS ${peer.peak_rss_mb.toFixed(0)} MB (whole process, arrays loaded)`,
  );
  console.log(
    `ratio mltk / peer (medians): ${(ours / peer.seconds).toFixed(2)}×; largest |difference| in PSI, JS, KS D, KS p ` +
      `over all features: ${worst.toExponential(2)}; out-of-range counts ` +
      `${countsDiffer.length ? `DIFFER: ${countsDiffer.join('; ')}` : 'equal'}`,
  );
  console.log(
    `drifted: ${report!.drifted_features.join(', ') || 'none'}; drift share ${report!.drift_share.toFixed(3)}`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
