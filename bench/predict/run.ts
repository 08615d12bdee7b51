// Bench: batch scoring of 1M synthetic rows with a 300-tree depth-6 model, three ways in one run:
// `mltk predict` (CSV → validated columns → ORT → CSV), raw onnxruntime session.run on pre-built
// tensors (the ceiling), and pandas read_csv + XGBoost predict + to_csv (the Python peer).
// Then the online path through `mltk serve`: cold start and p50/p99 latency for 1 and 100 instances.
// Not part of npm test:  npx tsx bench/predict/run.ts [--rows 1000000] [--train 100000] [--threads 2]
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { loadModelConfig, type ModelConfig } from '../../pipeline/config/index.ts';
import { openCsvTables, readCsvTable } from '../../pipeline/data/index.ts';
import { writeSynthCsv } from '../../pipeline/data/synth.ts';
import { buildFeeds, columnSpecs, instancesToChunk, loadModel } from '../../pipeline/predict/index.ts';
import { instanceOf, registerOnnx, tempStore, trainingSpecs } from '../../pipeline/predict/testdata.ts';
import { moveAlias } from '../../pipeline/registry/index.ts';
import { trainModel } from '../../pipeline/train/index.ts';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1]!);
const ROWS = Number(args.get('rows') ?? 1_000_000);
const TRAIN = Number(args.get('train') ?? 100_000);
const THREADS = Number(args.get('threads') ?? 2);
const CHUNK = 65_536;
const DIR = join(tmpdir(), 'mltk-bench-predict');
const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));
const CONFIG = here('../../configs/sap_change.json');
const PY = '/usr/bin/python3';

function ensurePeer(): void {
  if (spawnSync(PY, ['-c', 'import xgboost, pandas'], { stdio: 'ignore' }).status === 0) return;
  console.error('installing python3-xgboost and python3-pandas with apt-get…');
  execFileSync('apt-get', ['install', '-y', 'python3-xgboost', 'python3-pandas'], { stdio: 'inherit' });
}

async function synth(rows: number, seed: number): Promise<string> {
  mkdirSync(DIR, { recursive: true });
  const path = join(DIR, `synth-${rows}-${seed}.csv`);
  if (existsSync(path)) return path;
  const out = createWriteStream(`${path}.part`);
  await writeSynthCsv({ rows, seed }, out);
  out.end();
  await once(out, 'finish');
  renameSync(`${path}.part`, path);
  return path;
}

/** Our GBDT, 300 trees of depth 6 (no early stopping), trained once and cached as ONNX. */
async function ourModel(config: ModelConfig, trainCsv: string): Promise<Uint8Array> {
  const path = join(DIR, `sap_change-300x6-${TRAIN}.onnx`);
  if (existsSync(path)) return readFileSync(path);
  const cfg: ModelConfig = { ...config, trainer: { type: 'gbdt', params: { trees: 300, max_depth: 6, learning_rate: 0.1, max_bins: 256, min_samples_leaf: 20, l2: 1, min_split_gain: 0, validation_fraction: 0.1, threads: THREADS } } };
  const t0 = performance.now();
  const table = await readCsvTable(createReadStream(trainCsv), trainingSpecs(cfg), { source: trainCsv });
  const m = await trainModel(cfg, table);
  console.error(`trained ${m.trees} trees on ${TRAIN} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  writeFileSync(path, m.onnx);
  return m.onnx;
}

/** session.run alone over the same chunks, tensors built beforehand: the ceiling for our path. */
async function rawOrt(store: Parameters<typeof loadModel>[0], scoreCsv: string): Promise<{ seconds: number; rows: number }> {
  const model = await loadModel(store, 'sap_change@prod', { threads: THREADS });
  const reader = await openCsvTables(createReadStream(scoreCsv, { highWaterMark: 1 << 20 }), columnSpecs(model.signature), { source: scoreCsv, chunkRows: CHUNK });
  const feeds = [];
  for await (const c of reader.chunks) feeds.push(buildFeeds(model.plan, c.table));
  await model.session.run(feeds[0]!.feeds); // warm-up
  const t0 = performance.now();
  let rows = 0;
  for (const f of feeds) { await model.session.run(f.feeds); rows += f.rows; }
  const seconds = (performance.now() - t0) / 1000;
  model.retire();
  return { seconds, rows };
}

function timeV(cmd: string, argv: string[]): { stdout: string; peakMb: number; wall: number } {
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-v', cmd, ...argv], { encoding: 'utf8', maxBuffer: 1 << 24 });
  const wall = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr.slice(-2000)}`);
  const kb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr)?.[1] ?? NaN);
  return { stdout: r.stdout, peakMb: kb / 1024, wall };
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

async function online(storeDir: string, config: ModelConfig, scoreCsv: string) {
  const sample = await readCsvTable(createReadStream(scoreCsv, { end: 200_000 }).pipe(new (await import('node:stream')).PassThrough()), trainingSpecs(config), { source: scoreCsv }).catch(async () => {
    // The first 200 kB end mid-row; read a whole small file instead.
    return readCsvTable(createReadStream(await synth(1000, 3)), trainingSpecs(config), { source: 'sample' });
  });
  const instances = Array.from({ length: 100 }, (_, i) => instanceOf(config, sample, i));
  const t0 = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', here('./mltk.ts'), '--store', storeDir, '--json', 'serve', '--model', 'sap_change@prod', '--port', '0', '--threads', String(THREADS)], { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    let out = '';
    const ready = await new Promise<{ url: string; load_ms: number }>((resolve, reject) => {
      child.stdout.on('data', (d) => { out += String(d); try { resolve(JSON.parse(out)); } catch { /* partial */ } });
      child.once('exit', (c) => reject(new Error(`serve exited ${c}`)));
    });
    const post = async (n: number) => {
      const res = await fetch(`${ready.url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instances: instances.slice(0, n) }) });
      if (res.status !== 200) throw new Error(`status ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
    };
    await post(1);
    const cold = performance.now() - t0;
    const loop = async (n: number, count: number) => {
      for (let i = 0; i < 50; i++) await post(n);
      const lat: number[] = [];
      for (let i = 0; i < count; i++) { const s = performance.now(); await post(n); lat.push(performance.now() - s); }
      lat.sort((a, b) => a - b);
      return { p50: pct(lat, 50), p99: pct(lat, 99), n: count };
    };
    return { coldMs: cold, loadMs: ready.load_ms, one: await loop(1, 2000), hundred: await loop(100, 500) };
  } finally {
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  }
}

ensurePeer();
const config = await loadModelConfig(CONFIG);
const trainCsv = await synth(TRAIN, 42);
const scoreCsv = await synth(ROWS, 7);
const onnx = await ourModel(config, trainCsv);
const store = await tempStore('mltk-bench-store-');
try {
  const mv = await registerOnnx(store.store, config, onnx);
  await moveAlias(store.store, 'sap_change', 'prod', mv.version);
  // Sanity: the validation path is what the API uses; make sure a sample row is valid.
  void instancesToChunk;

  const outCsv = join(DIR, 'ours.csv');
  const ours = timeV(process.execPath, ['--import', 'tsx', here('./mltk.ts'), '--store', store.dir, '--json', 'predict', '--model', 'sap_change@prod', '--input', scoreCsv, '--output', outCsv, '--threads', String(THREADS)]);
  const doc = JSON.parse(ours.stdout);
  const raw = await rawOrt(store.store, scoreCsv);
  const py = timeV(PY, [here('./xgb.py'), trainCsv, scoreCsv, CONFIG, join(DIR, 'python.csv'), String(THREADS)]);
  const pdoc = JSON.parse(py.stdout.trim().split('\n').pop()!);

  const oursRate = doc.rows / doc.timings.total_s;
  const oursWallRate = doc.rows / ours.wall;
  const rawRate = raw.rows / raw.seconds;
  const pyRate = pdoc.rows / pdoc.total_s;
  const pyWallRate = pdoc.rows / py.wall;
  const f = (n: number) => Math.round(n).toLocaleString('en-GB').padStart(10);
  console.log(`\nbatch: ${ROWS.toLocaleString('en-GB')} rows (${(doc.input.bytes / 1e6).toFixed(0)} MB CSV), sap_change 300 trees depth 6, ${THREADS} threads, chunks of ${CHUNK}; XGBoost ${pdoc.xgboost}, pandas ${pdoc.pandas}`);
  console.log('path                                  rows/s   seconds   split');
  console.log(`mltk predict (read→score→write)   ${f(oursRate)}   ${doc.timings.total_s.toFixed(2).padStart(7)}   parse ${doc.timings.parse_s.toFixed(2)} · score ${doc.timings.score_s.toFixed(2)} · write ${doc.timings.write_s.toFixed(2)} (main-thread time; ORT overlaps)`);
  console.log(`  whole process incl. start + load ${f(oursWallRate)}   ${ours.wall.toFixed(2).padStart(7)}   load ${doc.timings.load_s.toFixed(2)}`);
  console.log(`raw ORT session.run, built tensors ${f(rawRate)}   ${raw.seconds.toFixed(2).padStart(7)}`);
  console.log(`pandas + XGBoost + to_csv          ${f(pyRate)}   ${pdoc.total_s.toFixed(2).padStart(7)}   read ${pdoc.read_s.toFixed(2)} · predict ${pdoc.predict_s.toFixed(2)} · write ${pdoc.write_s.toFixed(2)}`);
  console.log(`  whole process incl. training     ${f(pyWallRate)}   ${py.wall.toFixed(2).padStart(7)}   (training is set-up, not compared)`);
  console.log(`ratios: ours / python = ${(oursRate / pyRate).toFixed(2)}× (target ≥ 2×) · ours / raw ORT = ${(oursRate / rawRate).toFixed(2)} (target ≥ 0.5)`);
  console.log(`peak RSS: mltk predict ${ours.peakMb.toFixed(0)} MB (target < 512) · python ${py.peakMb.toFixed(0)} MB`);

  const o = await online(store.dir, config, scoreCsv);
  console.log(`\nonline through mltk serve (127.0.0.1, sequential keep-alive requests):`);
  console.log(`cold start: first 200 after process start ${o.coldMs.toFixed(0)} ms (model fetch + session ${o.loadMs} ms)`);
  console.log(`1 instance:    p50 ${o.one.p50.toFixed(2)} ms · p99 ${o.one.p99.toFixed(2)} ms (${o.one.n} requests)`);
  console.log(`100 instances: p50 ${o.hundred.p50.toFixed(2)} ms · p99 ${o.hundred.p99.toFixed(2)} ms (${o.hundred.n} requests)`);
} finally {
  await store.cleanup();
}
