import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, putBlob } from '../../store/index.ts';
import { moveAlias, registerModelVersion } from '../../registry/index.ts';
import { buildBaselineProfile } from '../../monitor/index.ts';
import { normals, sampleFeatures, sampleTable } from '../../monitor/testdata.ts';
import { runMonitorCommand } from './monitor.ts';

const dirs: string[] = [];
after(async () => { for (const d of dirs) await rm(d, { recursive: true, force: true }); });

function csv(rows: number, seed: number, shift = 0): string {
  const t = sampleTable(rows, seed, { shift });
  const x = (t.columns.get('x') as { values: Float64Array }).values, flag = (t.columns.get('flag') as { values: Float64Array }).values;
  const c = t.columns.get('colour') as { codes: Int32Array; categories: string[] };
  const pred = normals(rows, seed + 1);
  return ['id,x,flag,colour,yhat', ...Array.from({ length: rows }, (_, i) => `${i},${x[i]},${flag[i]},${c.categories[c.codes[i]!]},${pred[i]}`)].join('\n') + '\n';
}

async function setup(withBaseline: boolean) {
  const dir = await mkdtemp(join(tmpdir(), 'mltk-mon-cli-'));
  dirs.push(dir);
  const store = openStore(join(dir, 'store'));
  const artifact = await putBlob(store, 'onnx');
  const baseline = withBaseline ? await putBlob(store, JSON.stringify(buildBaselineProfile(sampleTable(2000, 1), sampleFeatures, normals(2000, 2)))) : null;
  await registerModelVersion(store, {
    name: 'demo', run_id: null, dataset: null, trainer: 'external', artifact: { ...artifact, format: 'onnx' }, baseline,
    signature: { id_column: 'id', features: sampleFeatures, derived: [], target: { column: 'y', unit: 'pts' }, output: { column: 'yhat', unit: 'pts' } },
    metrics: {}, monitoring: { psi_warn: 0.1, psi_alert: 0.25, drift_share: 0.3 }, config_sha256: null,
  });
  await moveAlias(store, 'demo', 'prod', 1);
  return { dir, store };
}

test('mltk monitor reports drift of a file and writes the HTML report', async () => {
  const { dir, store } = await setup(true);
  await writeFile(join(dir, 'in.csv'), csv(1000, 5, 1));
  const { report } = await runMonitorCommand(store, { model: 'demo@prod', input: join(dir, 'in.csv'), report: join(dir, 'r.html') });
  assert.ok(report.dataset_drift);
  assert.match(await readFile(join(dir, 'r.html'), 'utf8'), /Drift report: demo v1/);
});

test('a model trained elsewhere is monitored against a reference CSV and a feature list', async () => {
  const { dir, store } = await setup(false);
  await writeFile(join(dir, 'ref.csv'), csv(2000, 1));
  await writeFile(join(dir, 'in.csv'), csv(500, 6));
  await assert.rejects(runMonitorCommand(store, { model: 'demo@prod', input: join(dir, 'in.csv') }), /model demo v1 has no baseline profile/);
  const { report } = await runMonitorCommand(store, { model: 'demo@1', input: join(dir, 'in.csv'), baseline: join(dir, 'ref.csv'), features: 'x,colour' });
  assert.deepEqual(report.features.map((f) => f.name).sort(), ['colour', 'x']);
  assert.equal(report.dataset_drift, false);
  assert.ok(report.prediction);
  await assert.rejects(runMonitorCommand(store, { model: 'demo@1', input: join(dir, 'in.csv'), baseline: join(dir, 'ref.csv'), features: 'x,nope' }), /--features: "nope" not in the signature of demo v1/);
});
