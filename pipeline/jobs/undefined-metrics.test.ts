// A metric that has no value (r2 of a constant target) is recorded as undefined with its reason,
// never written as null; and stores an older mltk already wrote such nulls into stay readable.
// Driven through the real CLI: train, list, show, promote and predict must all work on such a model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { writeSynthCsv } from '../data/index.ts';
import { runMltk } from '../testing/cli.ts';

const CONFIG = resolve('configs/sap_change.json');

async function setup(rows: number) {
  const cwd = await mkdtemp(join(tmpdir(), 'mltk-undef-'));
  const file = join(cwd, 'd.csv');
  const out = createWriteStream(file);
  await writeSynthCsv({ rows, seed: 9 }, out);
  await new Promise<void>((r) => out.end(() => r()));
  const config = JSON.parse(await readFile(CONFIG, 'utf8'));
  config.trainer.params.trees = 10;
  await writeFile(join(cwd, 'config.json'), JSON.stringify(config));
  const mltk = async (...args: string[]) => {
    const r = await runMltk(['--store', join(cwd, 'store'), '--json', ...args], { cwd });
    return { ...r, doc: JSON.parse(r.stdout || 'null') };
  };
  return { cwd, file, mltk };
}

/** The file with every target cell set to `value`. */
async function constantTarget(file: string, value: string): Promise<string> {
  const [header, ...rows] = (await readFile(file, 'utf8')).trimEnd().split('\n');
  const col = header!.split(',').indexOf('sap_change');
  const out = `${file}.const.csv`;
  await writeFile(
    out,
    `${[
      header,
      ...rows.map((r) => {
        const c = r.split(',');
        c[col] = value;
        return c.join(',');
      }),
    ].join('\n')}\n`,
  );
  return out;
}

test(
  'a constant target: r2 is recorded as undefined with its reason, and list, show, runs, promote and ' +
    'predict all work',
  async () => {
    const { cwd, file, mltk } = await setup(400);
    const data = await constantTarget(file, '3');
    const trained = await mltk('train', '--config', 'config.json', '--data-file', data);
    assert.equal(trained.code, 0, trained.stderr);
    assert.equal(trained.doc.metrics.r2, null);
    assert.equal(typeof trained.doc.metrics.rmse, 'number');
    assert.match(trained.doc.undefined_metrics.r2, /held-out target is constant \(all \d+ rows are 3\)/);
    const stored = await readFile(join(cwd, 'store/models/sap_change/versions/1.json'), 'utf8');
    assert.doesNotMatch(stored, /null,?\n\s*"mae"|"r2": null/, 'no null metric is written');
    assert.deepEqual(Object.keys(JSON.parse(stored).metrics).sort(), ['mae', 'rmse']);
    const listed = await mltk('models', 'list', 'sap_change');
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.doc.versions[0].undefined_metrics.r2, /constant/);
    const shown = await runMltk(['--store', join(cwd, 'store'), 'models', 'show', 'sap_change@1'], { cwd });
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /^undefined r2: the held-out target is constant/m);
    const runs = await mltk('runs', 'list');
    assert.equal(runs.code, 0, runs.stderr);
    assert.equal(runs.doc.runs[0].status, 'FINISHED');
    assert.equal((await mltk('models', 'promote', 'sap_change', '1', '--alias', 'prod')).code, 0);
    const predicted = await mltk(
      'predict',
      '--model',
      'sap_change@prod',
      '--input',
      file,
      '--output',
      join(cwd, 'p.csv'),
    );
    assert.equal(predicted.code, 0, predicted.stderr);
  },
);

test('manifests an older mltk wrote with "r2": null read again: the metric shows as undefined, with why', async () => {
  const { cwd, file, mltk } = await setup(300);
  assert.equal((await mltk('train', '--config', 'config.json', '--data-file', file)).code, 0);
  const versionPath = join(cwd, 'store/models/sap_change/versions/1.json');
  const version = JSON.parse(await readFile(versionPath, 'utf8'));
  version.metrics.r2 = null; // what JSON.stringify made of NaN
  await writeFile(versionPath, JSON.stringify(version));
  const runId = version.run_id as string;
  const runPath = join(cwd, `store/runs/${runId}.json`);
  const run = JSON.parse(await readFile(runPath, 'utf8'));
  run.metrics.r2 = null;
  run.metric_history.train_loss[0].value = null;
  await writeFile(runPath, JSON.stringify(run));
  const shown = await mltk('models', 'show', 'sap_change');
  assert.equal(shown.code, 0, shown.stderr);
  assert.equal(shown.doc.metrics.r2, undefined);
  assert.match(shown.doc.undefined_metrics.r2, /not a finite number \(an older mltk recorded it as null\)/);
  const runs = await mltk('runs', 'list');
  assert.equal(runs.code, 0, runs.stderr);
  assert.deepEqual(runs.doc.malformed, []);
  assert.equal((await mltk('runs', 'show', runId)).code, 0);
  assert.equal((await mltk('models', 'promote', 'sap_change', '1', '--alias', 'prod')).code, 0);
  const predicted = await mltk(
    'predict',
    '--model',
    'sap_change@prod',
    '--input',
    file,
    '--output',
    join(cwd, 'p.csv'),
  );
  assert.equal(predicted.code, 0, predicted.stderr);
});

test('one unreadable manifest: runs list and models list report it (stderr and --json) and list the rest', async () => {
  const { cwd, file, mltk } = await setup(300);
  assert.equal((await mltk('train', '--config', 'config.json', '--data-file', file)).code, 0);
  // Other rows: an unchanged rerun would reuse version 1 instead of registering version 2.
  assert.equal(
    (await mltk('train', '--config', 'config.json', '--data-file', await constantTarget(file, '4'))).code,
    0,
  );
  await writeFile(
    join(cwd, 'store/models/sap_change/versions/1.json'),
    '{"kind":"mltk.model_version","version":"one"}',
  );
  await writeFile(join(cwd, 'store/runs/20260101T000000Z-badbad.json'), 'not json');
  const models = await mltk('models', 'list', 'sap_change');
  assert.equal(models.code, 0, models.stderr);
  assert.deepEqual(
    models.doc.versions.map((v: { version: number }) => v.version),
    [2],
  );
  assert.deepEqual(
    models.doc.malformed.map((m: { key: string }) => m.key),
    ['models/sap_change/versions/1.json'],
  );
  assert.match(models.stderr, /^mltk: warning: skipped .*models\/sap_change\/versions\/1\.json: malformed manifest/m);
  const runs = await mltk('runs', 'list');
  assert.equal(runs.code, 0, runs.stderr);
  assert.equal(runs.doc.runs.length, 2);
  assert.deepEqual(
    runs.doc.malformed.map((m: { key: string }) => m.key),
    ['runs/20260101T000000Z-badbad.json'],
  );
  const human = await runMltk(['--store', join(cwd, 'store'), 'runs', 'list'], { cwd });
  assert.equal(human.code, 0);
  assert.equal(human.stdout.trim().split('\n').length, 2, 'the two good runs on stdout');
  assert.match(human.stderr, /warning: skipped .*runs\/20260101T000000Z-badbad\.json: malformed manifest \(not JSON/);
  const latest = await mltk('models', 'show', 'sap_change');
  assert.equal(latest.doc.version, 2, 'resolving the latest reads only the latest');
  const pinned = await mltk('models', 'show', 'sap_change@1');
  assert.equal(pinned.code, 7);
  assert.match(pinned.doc.error.message, /versions\/1\.json: malformed manifest/);
});
