// `mltk quality` through the real CLI process, on a version the real job trained (segment, test
// metrics and loss estimator included) and a batch the real batch scorer scored.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseModelConfig } from '../../config/index.ts';
import { runTrainJob } from '../../jobs/index.ts';
import { loadModelVersion, scoreFile, scoreObject } from '../../predict/index.ts';
import { synthCsv } from '../../predict/testdata.ts';
import { resolveModel } from '../../registry/index.ts';
import { openStore } from '../../store/index.ts';
import { runMltk } from '../../testing/cli.ts';
import { uniqueIds, withRefusedRows } from '../../monitor/testmodel.ts';

let dir: string;
let storePath: string;
let rows: { id: string; sap: number; target: number }[];
let predictions: Map<string, number>;
const edges = [20.5, 38.5, 54.5, 68.5, 80.5, 91.5],
  bands = ['G', 'F', 'E', 'D', 'C', 'B', 'A'];
const bandOf = (sap: number) => bands[edges.filter((e) => sap >= e).length]!;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mltk-quality-'));
  storePath = join(dir, 'store');
  const store = openStore(storePath);
  const raw = JSON.parse(await readFile('configs/sap_change.json', 'utf8'));
  raw.trainer.params.trees = 60;
  const config = parseModelConfig(raw, 'sap_change.json');
  await writeFile(join(dir, 'train.csv'), await synthCsv(5000, 30));
  await runTrainJob({
    store,
    config,
    configSource: 'c',
    data: { kind: 'file', path: join(dir, 'train.csv') },
    say: () => {},
    progress: () => {},
  });
  // One id per scored row (the synthetic home id is shared by a home's packages).
  const csv = uniqueIds(withRefusedRows(await synthCsv(2000, 31)).csv);
  await writeFile(join(dir, 'input.csv'), csv);
  await writeFile(join(dir, 'homes.csv'), await synthCsv(600, 32));
  const model = await loadModelVersion(store, await resolveModel(store, 'sap_change@1'));
  await scoreFile(model, { input: join(dir, 'input.csv'), output: join(dir, 'preds.csv') });
  await scoreFile(model, { input: join(dir, 'homes.csv'), output: join(dir, 'homes-preds.csv') });
  model.retire();
  const lines = csv.trimEnd().split('\n');
  const header = lines[0]!.split(',');
  const col = (name: string) => header.indexOf(name);
  rows = lines.slice(1).map((l) => {
    const c = l.split(',');
    return { id: c[col('home_id')]!, sap: Number(c[col('current_sap')]), target: Number(c[col('sap_change')]) };
  });
  predictions = new Map(
    (await readFile(join(dir, 'preds.csv'), 'utf8'))
      .trimEnd()
      .split('\n')
      .slice(1)
      .map((l) => {
        const c = l.split(',');
        return [c[0]!, Number(c[1])];
      }),
  );
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Labels for the first 1500 input rows plus every defect the command must count. */
function labelsCsv(): { csv: string; joined: { id: string; sap: number; target: number }[] } {
  const out = ['home_id,sap_change'];
  const joined: typeof rows = [];
  rows.slice(0, 1500).forEach((r, i) => {
    if (r.id === '') {
      out.push(`,${r.target}`);
      return;
    } // the row refused for its empty id: a label without an id
    if (i % 300 === 7) {
      out.push(`${r.id},n/a`);
      return;
    } // not a number
    if (i % 300 === 8) {
      out.push(`${r.id},`);
      return;
    } // no label
    out.push(`${r.id},${r.target}`);
    if (predictions.has(r.id)) joined.push(r);
  });
  for (const r of joined.slice(0, 4)) out.push(`${r.id},${r.target + 100}`); // duplicates: the first label counts
  for (let k = 0; k < 5; k++) out.push(`X${k},1.5`); // ids the batch never had
  return { csv: `${out.join('\n')}\n`, joined };
}

function direct(joined: { id: string; sap: number; target: number }[]) {
  const err = joined.map((r) => predictions.get(r.id)! - r.target);
  const n = err.length;
  const mean = joined.reduce((s, r) => s + r.target, 0) / n;
  const sse = err.reduce((s, e) => s + e * e, 0);
  const byBand: Record<string, { rows: number; rmse: number; mae: number; bias: number }> = {};
  for (const band of bands) {
    const e = joined
      .map((r, i) => [bandOf(r.sap), err[i]!] as const)
      .filter(([b]) => b === band)
      .map(([, x]) => x);
    if (e.length)
      byBand[band] = {
        rows: e.length,
        rmse: Math.sqrt(e.reduce((s, x) => s + x * x, 0) / e.length),
        mae: e.reduce((s, x) => s + Math.abs(x), 0) / e.length,
        bias: e.reduce((s, x) => s + x, 0) / e.length,
      };
  }
  return {
    rows: n,
    rmse: Math.sqrt(sse / n),
    mae: err.reduce((s, e) => s + Math.abs(e), 0) / n,
    bias: err.reduce((s, e) => s + e, 0) / n,
    r2: 1 - sse / joined.reduce((s, r) => s + (r.target - mean) ** 2, 0),
    byBand,
  };
}

const close = (a: number, b: number, what: string) =>
  assert.ok(Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

test(
  'realized metrics equal a direct computation on the joined rows, overall and by SAP band; every label ' +
    'defect is counted',
  async () => {
    const { csv, joined } = labelsCsv();
    await writeFile(join(dir, 'labels.csv'), csv);
    const r = await runMltk([
      '--store',
      storePath,
      '--json',
      'quality',
      '--model',
      'sap_change@1',
      '--predictions',
      join(dir, 'preds.csv'),
      '--labels',
      join(dir, 'labels.csv'),
      '--input',
      join(dir, 'input.csv'),
      '--report',
      join(dir, 'q.html'),
    ]);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    const want = direct(joined);
    assert.deepEqual(doc.model, { name: 'sap_change', version: 1 });
    assert.equal(doc.realized.rows, want.rows);
    for (const k of ['rmse', 'mae', 'bias', 'r2'] as const) close(doc.realized[k], want[k], k);
    assert.deepEqual(Object.keys(doc.by_band).sort(), Object.keys(want.byBand).sort());
    for (const [band, m] of Object.entries(want.byBand)) {
      assert.equal(doc.by_band[band].rows, m.rows, band);
      for (const k of ['rmse', 'mae', 'bias'] as const) close(doc.by_band[band][k], m[k], `${band} ${k}`);
    }
    assert.deepEqual(doc.segment, { name: 'sap_band', column: 'current_sap' });
    // 1500 rows: one without an id, 5 not numbers, 5 empty, 2 whose inputs the scorer refused; 4 duplicates, 5 unknown
    // ids.
    assert.deepEqual(doc.labels, {
      rows: 1509,
      joined: want.rows,
      unmatched: 7,
      unknown: 5,
      refused: 2,
      duplicates: 4,
      non_numeric: 5,
      missing: 6,
      ambiguous: 0,
      coverage: want.rows / predictions.size,
    });
    assert.equal(typeof doc.test.rmse, 'number');
    close(doc.ratio.rmse, want.rmse / doc.test.rmse, 'ratio');
    assert.equal(doc.estimated.rows, want.rows, 'the estimate covers the same joined rows');
    assert.ok(doc.estimated.rmse_low <= doc.estimated.rmse && doc.estimated.rmse <= doc.estimated.rmse_high);
    assert.ok(
      Math.abs(doc.estimated.rmse / want.rmse - 1) < 0.3,
      `estimated ${doc.estimated.rmse} vs realized ${want.rmse}`,
    );
    const html = await readFile(join(dir, 'q.html'), 'utf8');
    assert.match(html, /Realized vs test/);
    assert.match(html, /Estimated vs realized \(same /);
    assert.doesNotMatch(html, /<script|src=|href=/i);
  },
);

test(
  'JSON-lines labels join the same way; without the input there is no band breakdown, estimate or ' + 'refused count',
  async () => {
    const { csv } = labelsCsv();
    const jsonl = csv
      .trimEnd()
      .split('\n')
      .slice(1)
      .map((l) => {
        const [id, y] = l.split(',');
        return JSON.stringify({
          home_id: id === '' ? null : id,
          sap_change: y === '' ? null : y === 'n/a' ? 'n/a' : Number(y),
        });
      })
      .join('\n');
    await writeFile(join(dir, 'labels.jsonl'), `${jsonl}\n`);
    const withInput = await runMltk([
      '--store',
      storePath,
      '--json',
      'quality',
      '--model',
      'sap_change@1',
      '--predictions',
      join(dir, 'preds.csv'),
      '--labels',
      join(dir, 'labels.jsonl'),
      '--input',
      join(dir, 'input.csv'),
    ]);
    const noInput = await runMltk([
      '--store',
      storePath,
      '--json',
      'quality',
      '--model',
      'sap_change@1',
      '--predictions',
      join(dir, 'preds.csv'),
      '--labels',
      join(dir, 'labels.csv'),
    ]);
    assert.equal(withInput.code, 0, withInput.stderr);
    assert.equal(noInput.code, 0, noInput.stderr);
    const a = JSON.parse(withInput.stdout),
      b = JSON.parse(noInput.stdout);
    assert.deepEqual(a.realized, b.realized);
    assert.equal(a.labels.refused, 2);
    assert.deepEqual({ ...b.labels, coverage: 0 }, { ...a.labels, unknown: null, refused: null, coverage: 0 });
    assert.equal(b.by_band, null);
    assert.equal(b.estimated, null);
    const human = await runMltk([
      '--store',
      storePath,
      'quality',
      '--model',
      'sap_change@1',
      '--predictions',
      join(dir, 'preds.csv'),
      '--labels',
      join(dir, 'labels.csv'),
    ]);
    assert.match(human.stdout, /estimated {2}– \(no input: pass --input/);
  },
);

test(
  'nothing joined, or predictions scored by another version: a clear error and exit code, ' + 'nothing written',
  async () => {
    await writeFile(join(dir, 'strangers.csv'), 'home_id,sap_change\nX1,1\nX2,2\n');
    const none = await runMltk([
      '--store',
      storePath,
      '--json',
      'quality',
      '--model',
      'sap_change@1',
      '--predictions',
      join(dir, 'preds.csv'),
      '--labels',
      join(dir, 'strangers.csv'),
      '--report',
      join(dir, 'none.html'),
    ]);
    assert.equal(none.code, 4);
    assert.match(
      JSON.parse(none.stdout).error.message,
      /strangers\.csv: no label joins a prediction of sap_change v1 \(2 label rows: 2 with ids not in the predictions/,
    );
    await assert.rejects(readFile(join(dir, 'none.html')));

    const preds = (await readFile(join(dir, 'preds.csv'), 'utf8')).split('\n');
    preds[3] = preds[3]!.replace(/,1$/, ',7');
    await writeFile(join(dir, 'other.csv'), preds.join('\n'));
    await writeFile(join(dir, 'labels-ok.csv'), labelsCsv().csv);
    const other = await runMltk([
      '--store',
      storePath,
      'quality',
      '--model',
      'sap_change@1',
      '--predictions',
      join(dir, 'other.csv'),
      '--labels',
      join(dir, 'labels-ok.csv'),
    ]);
    assert.equal(other.code, 4);
    assert.match(
      other.stderr,
      /other\.csv: row 3 was scored by sap_change v7, but --model sap_change@1 is sap_change v1; pass --model sap_change@7/,
    );

    const missing = await runMltk([
      '--store',
      storePath,
      'quality',
      '--model',
      'sap_change@1',
      '--predictions',
      join(dir, 'nope.csv'),
      '--labels',
      join(dir, 'labels-ok.csv'),
    ]);
    assert.equal(missing.code, 5);
    assert.match(missing.stderr, /nope\.csv/);
  },
);

test('labels for an id the batch scored more than once are ambiguous: counted, never joined to a guess', async () => {
  const lines = (await readFile(join(dir, 'homes.csv'), 'utf8')).trimEnd().split('\n');
  const header = lines[0]!.split(',');
  const cells = lines.slice(1).map((l) => l.split(','));
  const id = header.indexOf('home_id'),
    y = header.indexOf('sap_change');
  const perHome = new Map<string, number>();
  for (const c of cells) perHome.set(c[id]!, (perHome.get(c[id]!) ?? 0) + 1);
  const seen = new Set<string>();
  const labels = [
    'home_id,sap_change',
    ...cells.filter((c) => !seen.has(c[id]!) && seen.add(c[id]!)).map((c) => `${c[id]},${c[y]}`),
  ];
  await writeFile(join(dir, 'home-labels.csv'), `${labels.join('\n')}\n`);
  const r = await runMltk([
    '--store',
    storePath,
    '--json',
    'quality',
    '--model',
    'sap_change@1',
    '--predictions',
    join(dir, 'homes-preds.csv'),
    '--labels',
    join(dir, 'home-labels.csv'),
  ]);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  const single = [...perHome.values()].filter((n) => n === 1).length;
  assert.equal(doc.labels.joined, single);
  assert.equal(doc.labels.ambiguous, perHome.size - single);
  assert.deepEqual(doc.predictions, { rows: 600, ambiguous: 600 - single });
});

test(
  "a batch scorer's output folder: the lineage manifest beside predictions.csv names the version " + 'and the input',
  async () => {
    const store = openStore(storePath);
    const data = openStore(join(dir, 'data'));
    const out = openStore(join(dir, 'out'));
    await data.put('incoming/2026/02/b.csv', await readFile(join(dir, 'input.csv')));
    const model = await loadModelVersion(store, await resolveModel(store, 'sap_change@1'));
    try {
      await scoreObject(model, { store: data, key: 'incoming/2026/02/b.csv' }, out);
    } finally {
      model.retire();
    }
    const { csv } = labelsCsv();
    await writeFile(join(dir, 'folder-labels.csv'), csv);
    const predictionsCsv = join(dir, 'out/predictions/2026/02/b.csv/predictions.csv');
    const args = ['--store', storePath, '--json', 'quality', '--predictions', predictionsCsv];
    const r = await runMltk([...args, '--model', 'sap_change@1', '--labels', join(dir, 'folder-labels.csv')]);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.sources.lineage, `${out.url}/predictions/2026/02/b.csv/manifest.json`);
    assert.equal(doc.sources.input, `${data.url}/incoming/2026/02/b.csv`, 'the input the manifest names');
    assert.ok(doc.by_band && doc.estimated, 'segments and the estimate, from that input');
    assert.equal(doc.labels.refused, 2);

    const copied = join(dir, 'out/predictions/2026/02/b.csv/manifest.json');
    const manifest = JSON.parse(await readFile(copied, 'utf8'));
    await writeFile(copied, JSON.stringify({ ...manifest, model: { ...manifest.model, version: 2 } }));
    const other = await runMltk([...args, '--model', 'sap_change@1', '--labels', join(dir, 'folder-labels.csv')]);
    assert.equal(other.code, 4);
    assert.match(JSON.parse(other.stdout).error.message, /manifest\.json: the batch was scored by sap_change v2/);
  },
);

test('models copy carries the loss estimator: the copied version estimates quality as its source does', async () => {
  const prod = join(dir, 'prod-store');
  const copy = await runMltk(['--json', 'models', 'copy', 'sap_change@1', '--from', storePath, '--to', prod]);
  assert.equal(copy.code, 0, copy.stderr);
  const source = await runMltk([
    '--store',
    storePath,
    '--json',
    'monitor',
    '--model',
    'sap_change@1',
    '--input',
    join(dir, 'input.csv'),
  ]);
  const copied = await runMltk([
    '--store',
    prod,
    '--json',
    'monitor',
    '--model',
    'sap_change@1',
    '--input',
    join(dir, 'input.csv'),
  ]);
  assert.equal(copied.code, 0, copied.stderr);
  assert.deepEqual(JSON.parse(copied.stdout).estimated, JSON.parse(source.stdout).estimated);
  assert.ok(JSON.parse(copied.stdout).estimated.rmse > 0);
});
