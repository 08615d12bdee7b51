// `mltk monitor` on a CSV that carries its predictions, whole command, against pandas read_csv plus
// the same drift statistics in numpy/scipy (bench/drift/peer.py, checked against ours to 1e-16 there)
// over the same file and the same baseline profile, as interleaved pairs of whole processes.
import { execFileSync } from 'node:child_process';
import { createReadStream, createWriteStream, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { getModelVersion, registerModelVersion, type ModelVersion } from '../../pipeline/registry/index.ts';
import { getModelArtifact, openStore, type ObjectStore } from '../../pipeline/store/index.ts';
import { interleaved, pairLines } from './measure.ts';
import { PEERS, PYTHON } from './setup.ts';
import { MLTK } from './startup.ts';

const CONFIG = join(import.meta.dirname, '../../configs/sap_change.json');

/**
 * `raw` with one more column, `column`, taken from the second field of each line of `scored` (same rows, same order).
 */
export async function joinPredictions(raw: string, scored: string, column: string, out: string): Promise<void> {
  const a = createInterface({ input: createReadStream(raw, { highWaterMark: 1 << 20 }), crlfDelay: Infinity })[
    Symbol.asyncIterator
  ]();
  const b = createInterface({ input: createReadStream(scored, { highWaterMark: 1 << 20 }), crlfDelay: Infinity })[
    Symbol.asyncIterator
  ]();
  const w = createWriteStream(out, { highWaterMark: 1 << 20 });
  let first = true;
  for (let x = await a.next(), y = await b.next(); !x.done && !y.done; x = await a.next(), y = await b.next()) {
    const line = `${x.value},${first ? column : y.value.split(',')[1]}\n`;
    first = false;
    if (!w.write(line)) await once(w, 'drain');
  }
  w.end();
  await once(w, 'finish');
}

/**
 * `mv` registered again without its loss estimator (same ONNX, same baseline): `mltk monitor` on it does the
 * drift statistics alone, the work of the pandas + numpy/scipy peer, where `mv` also estimates its error.
 */
export async function twinWithoutEstimator(store: ObjectStore, mv: ModelVersion): Promise<ModelVersion> {
  if (!mv.loss_estimator) throw new Error(`${mv.name} v${mv.version} has no loss estimator`);
  const { kind: _k, version: _v, created_at: _c, loss_estimator: _e, ...rest } = mv;
  return registerModelVersion(store, { ...rest, loss_estimator: null });
}

export async function monitorLines(dir: string, scoreCsv: string, pairs: number): Promise<string[]> {
  const store = join(dir, 'monitor-store');
  const node = (...args: string[]) =>
    execFileSync(process.execPath, [MLTK, '--store', store, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  node('run', '--config', CONFIG);
  const mv = await getModelVersion(openStore(store), 'sap_change', 1);
  const scored = join(dir, 'monitor-scored.csv');
  node('predict', '--model', 'sap_change@1', '--input', scoreCsv, '--output', scored);
  const carried = join(dir, 'monitor-carried.csv');
  await joinPredictions(scoreCsv, scored, mv.signature.output.column, carried);
  const baseline = join(dir, 'baseline.json');
  writeFileSync(baseline, await getModelArtifact(openStore(store), mv.name, mv.baseline!.sha256));
  const twin = await twinWithoutEstimator(openStore(store), mv);
  const monitor = (version: number) => ({
    label: `mltk monitor v${version}`,
    cmd: process.execPath,
    args: [MLTK, '--store', store, 'monitor', '--model', `sap_change@${version}`, '--input', carried],
  });
  const peerRun = { label: 'pandas + numpy/scipy', cmd: PYTHON, args: [PEERS, 'monitor', carried, baseline, CONFIG] };
  const p = interleaved(monitor(mv.version), peerRun, pairs);
  const drift = interleaved(monitor(twin.version), peerRun, pairs);
  const peer = JSON.parse(p.b.at(-1)!.stdout) as { read_s: number; stats_s: number; features: number };
  return [
    `mltk monitor on the same rows carrying their predictions (target ≥ 1.5× pandas + numpy/scipy), ${pairs} ` +
      `interleaved pairs:`,
    ...pairLines(
      p,
      'mltk monitor, drift + estimated error (whole command)',
      `pandas read_csv + numpy/scipy, ${peer.features} columns (whole process)`,
    ),
    ...pairLines(
      drift,
      "mltk monitor, drift alone (the peer's work: the version without its loss estimator)",
      `pandas read_csv + numpy/scipy, ${peer.features} columns (whole process)`,
    ),
    `  peer's own split (last run): read_csv ${peer.read_s.toFixed(2)} s, statistics ${peer.stats_s.toFixed(2)} s`,
  ];
}
