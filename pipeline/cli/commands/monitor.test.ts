import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, putModelArtifact } from '../../store/index.ts';
import { moveAlias, registerModelVersion } from '../../registry/index.ts';
import { buildBaselineProfile } from '../../monitor/index.ts';
import { normals, sampleFeatures, sampleTable } from '../../monitor/testdata.ts';
import { registerMonitoredModel, shiftSap, toJsonLines, withRefusedRows } from '../../monitor/testmodel.ts';
import { loadModelVersion, scoreFile } from '../../predict/index.ts';
import { synthCsv } from '../../predict/testdata.ts';
import { runMonitorCommand } from './monitor.ts';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function csv(rows: number, seed: number, shift = 0): string {
  const t = sampleTable(rows, seed, { shift });
  const x = (t.columns.get('x') as { values: Float64Array }).values,
    flag = (t.columns.get('flag') as { values: Float64Array }).values;
  const c = t.columns.get('colour') as { codes: Int32Array; categories: string[] };
  const pred = normals(rows, seed + 1);
  return `${[
    'id,x,flag,colour,yhat',
    ...Array.from({ length: rows }, (_, i) => `${i},${x[i]},${flag[i]},${c.categories[c.codes[i]!]},${pred[i]}`),
  ].join('\n')}\n`;
}

async function setup(withBaseline: boolean) {
  const dir = await mkdtemp(join(tmpdir(), 'mltk-mon-cli-'));
  dirs.push(dir);
  const store = openStore(join(dir, 'store'));
  const artifact = await putModelArtifact(store, 'demo', 'onnx');
  const baseline = withBaseline
    ? await putModelArtifact(
        store,
        'demo',
        JSON.stringify(buildBaselineProfile(sampleTable(2000, 1), sampleFeatures, normals(2000, 2))),
      )
    : null;
  await registerModelVersion(store, {
    name: 'demo',
    run_id: null,
    dataset: null,
    trainer: 'external',
    artifact: { ...artifact, format: 'onnx' },
    baseline,
    signature: {
      id_column: 'id',
      features: sampleFeatures,
      derived: [],
      target: { column: 'y', unit: 'pts' },
      output: { column: 'yhat', unit: 'pts' },
    },
    metrics: {},
    monitoring: { psi_warn: 0.1, psi_alert: 0.25, drift_share: 0.3 },
    config_sha256: null,
  });
  await moveAlias(store, 'demo', 'prod', 1);
  return { dir, store };
}

test('mltk monitor reports drift of a file and writes the HTML report', async () => {
  const { dir, store } = await setup(true);
  await writeFile(join(dir, 'in.csv'), csv(1000, 5, 1));
  const { report } = await runMonitorCommand(store, {
    model: 'demo@prod',
    input: join(dir, 'in.csv'),
    report: join(dir, 'r.html'),
  });
  assert.ok(report.dataset_drift);
  assert.match(await readFile(join(dir, 'r.html'), 'utf8'), /Drift report: demo v1/);
});

test('a model trained elsewhere is monitored against a reference CSV and a feature list', async () => {
  const { dir, store } = await setup(false);
  await writeFile(join(dir, 'ref.csv'), csv(2000, 1));
  await writeFile(join(dir, 'in.csv'), csv(500, 6));
  await assert.rejects(
    runMonitorCommand(store, { model: 'demo@prod', input: join(dir, 'in.csv') }),
    /model demo v1 has no baseline profile/,
  );
  const { report } = await runMonitorCommand(store, {
    model: 'demo@1',
    input: join(dir, 'in.csv'),
    baseline: join(dir, 'ref.csv'),
    features: 'x,colour',
  });
  assert.deepEqual(report.features.map((f) => f.name).sort(), ['colour', 'x']);
  assert.equal(report.dataset_drift, false);
  assert.ok(report.prediction);
  await assert.rejects(
    runMonitorCommand(store, {
      model: 'demo@1',
      input: join(dir, 'in.csv'),
      baseline: join(dir, 'ref.csv'),
      features: 'x,nope',
    }),
    /--features: "nope" not in the signature of demo v1/,
  );
});

test(
  'a raw input without a prediction column is scored by the monitored version: ~0 prediction drift on ' +
    'baseline-like rows, alert on shifted ones',
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mltk-mon-cli-'));
    dirs.push(dir);
    const store = openStore(join(dir, 'store'));
    const { fx } = await registerMonitoredModel(store, 'champion');
    const { csv, refused } = withRefusedRows(await synthCsv(4000, 9));
    await writeFile(join(dir, 'in.csv'), csv);
    const same = await runMonitorCommand(store, { model: 'sap_change@champion', input: join(dir, 'in.csv') });
    assert.deepEqual(same.scoring, { scored: 4000 - refused, refused });
    const perRoom = same.report.features.find((f) => f.name === 'floor_area_per_room');
    assert.ok(perRoom?.derived && perRoom.rows === 4000 && perRoom.psi < 0.1, 'the derived feature is monitored');
    assert.ok(same.report.prediction!.psi < 0.1, `prediction psi ${same.report.prediction!.psi}`);
    assert.equal(same.report.prediction!.missing_rate, refused / 4000);

    await writeFile(join(dir, 'shifted.csv'), shiftSap(await synthCsv(4000, 9), -30));
    const shifted = await runMonitorCommand(store, { model: 'sap_change@champion', input: join(dir, 'shifted.csv') });
    assert.equal(shifted.report.prediction!.level, 'alert', `prediction psi ${shifted.report.prediction!.psi}`);
    assert.ok(shifted.report.prediction!.psi > 10 * same.report.prediction!.psi);
    assert.equal(fx.config.output.column, 'predicted_sap_change');
  },
);

test("the prediction drift of a raw input is that of the same rows carrying mltk predict's column", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mltk-mon-cli-'));
  dirs.push(dir);
  const store = openStore(join(dir, 'store'));
  const { mv } = await registerMonitoredModel(store);
  const raw = (await synthCsv(3000, 11)).toString('utf8');
  await writeFile(join(dir, 'raw.csv'), raw);
  const model = await loadModelVersion(store, mv);
  await scoreFile(model, { input: join(dir, 'raw.csv'), output: join(dir, 'scored.csv') });
  model.retire();
  const preds = (await readFile(join(dir, 'scored.csv'), 'utf8'))
    .trimEnd()
    .split('\n')
    .map((l) => l.split(',')[1]!);
  await writeFile(
    join(dir, 'joined.csv'),
    `${raw
      .trimEnd()
      .split('\n')
      .map((l, i) => `${l},${preds[i]}`)
      .join('\n')}\n`,
  );

  const scored = await runMonitorCommand(store, { model: 'sap_change@prod', input: join(dir, 'raw.csv') });
  const carried = await runMonitorCommand(store, { model: 'sap_change@prod', input: join(dir, 'joined.csv') });
  assert.equal(scored.scoring?.scored, 3000);
  assert.equal(carried.scoring, null);
  const a = scored.report.prediction!,
    b = carried.report.prediction!;
  assert.ok(Math.abs(a.psi - b.psi) < 1e-9, `psi ${a.psi} vs ${b.psi}`);
  assert.ok(Math.abs(a.ks_statistic! - b.ks_statistic!) <= 1 / 3000, `ks ${a.ks_statistic} vs ${b.ks_statistic}`);
  assert.deepEqual(a.distribution.current, b.distribution.current);
});

test(
  'a JSON-lines batch is monitored as its CSV twin: the same statistics, the same rows ' + 'scored and refused',
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mltk-mon-cli-'));
    dirs.push(dir);
    const store = openStore(join(dir, 'store'));
    const { fx } = await registerMonitoredModel(store);
    const { csv, refused } = withRefusedRows(shiftSap(await synthCsv(3000, 13), -20));
    await writeFile(join(dir, 'batch.csv'), csv);
    await writeFile(join(dir, 'batch.jsonl'), toJsonLines(csv, fx.config.features));
    const fromCsv = await runMonitorCommand(store, { model: 'sap_change@prod', input: join(dir, 'batch.csv') });
    const fromJsonl = await runMonitorCommand(store, { model: 'sap_change@prod', input: join(dir, 'batch.jsonl') });
    assert.deepEqual(fromJsonl.scoring, { scored: 3000 - refused, refused });
    const strip = (r: typeof fromCsv.report) => ({ ...r, input: '', generated_at: '' });
    assert.deepEqual(strip(fromJsonl.report), strip(fromCsv.report));
    assert.ok(fromJsonl.report.drifted_features.includes('current_sap'));

    await writeFile(join(dir, 'bad.ndjson'), '{"home_id":"H1","total_floor_area":"big"}\n');
    await assert.rejects(
      runMonitorCommand(store, { model: 'sap_change@prod', input: join(dir, 'bad.ndjson') }),
      /bad\.ndjson: .*row 1 "total_floor_area": expected a number, got "big"/,
    );
  },
);

test(
  'inputs and reference CSVs are read by the one CSV reader: a BOM, quoted header names and CRLF ' + 'change nothing',
  async () => {
    const { dir, store } = await setup(false);
    const plain = csv(800, 7, 0.5);
    // The same rows as a spreadsheet exports them: BOM, every header name quoted, CRLF line ends.
    const [head, ...rows] = plain.trimEnd().split('\n');
    const excel = `\uFEFF${head!
      .split(',')
      .map((h) => `"${h}"`)
      .join(',')}\r\n${rows.join('\r\n')}\r\n`;
    await writeFile(join(dir, 'ref.csv'), csv(2000, 1));
    await writeFile(
      join(dir, 'ref-excel.csv'),
      (() => {
        const [h, ...r] = csv(2000, 1).trimEnd().split('\n');
        return `\uFEFF"${h!.split(',').join('","')}"\r\n${r.join('\r\n')}\r\n`;
      })(),
    );
    await writeFile(join(dir, 'in.csv'), plain);
    await writeFile(join(dir, 'in-excel.csv'), excel);
    const a = await runMonitorCommand(store, {
      model: 'demo@1',
      input: join(dir, 'in.csv'),
      baseline: join(dir, 'ref.csv'),
    });
    const b = await runMonitorCommand(store, {
      model: 'demo@1',
      input: join(dir, 'in-excel.csv'),
      baseline: join(dir, 'ref-excel.csv'),
    });
    assert.equal(b.report.rows, 800);
    assert.ok(b.report.prediction, 'the quoted prediction column is found in both files');
    const strip = (r: typeof a.report) => JSON.stringify({ ...r, generated_at: null, input: null });
    assert.equal(strip(b.report), strip(a.report));
  },
);
