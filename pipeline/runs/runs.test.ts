import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../store/index.ts';
import { trackRun, getRun, listRunIds, listRuns, compareRuns } from './index.ts';

test('a finished run records params, stepped metrics, artifacts and times', async () => {
  const store = openStore(await mkdtemp(join(tmpdir(), 'mltk-runs-')));
  const { run } = await trackRun(
    store,
    { model: 'm', configSource: 'c.json', config: { a: 1 }, dataset: { name: 'd', version: 'abc' } },
    async (r) => {
      r.logParams({ trees: 10, lr: 0.1 });
      for (let s = 1; s <= 3; s++) r.logMetric('train_loss', 1 / s, s);
      r.logMetric('rmse', 0.5);
      await r.logArtifact('model.onnx', 'bytes');
    },
  );
  const back = await getRun(store, run.id);
  assert.equal(back.status, 'FINISHED');
  assert.deepEqual(
    back.metric_history.train_loss!.map((p) => p.step),
    [1, 2, 3],
  );
  assert.equal(back.metrics.rmse, 0.5);
  assert.equal(back.params.trees, 10);
  assert.ok(back.artifacts['model.onnx']!.sha256);
  assert.ok(back.ended_at);
  assert.equal(back.dataset?.name, 'd');
});

test('a failing run is recorded FAILED with its error, never left RUNNING', async () => {
  const store = openStore(await mkdtemp(join(tmpdir(), 'mltk-runs-')));
  await assert.rejects(
    trackRun(store, { model: 'm', configSource: 'c.json', config: {} }, async () => {
      throw new Error('boom: column x');
    }),
    /boom/,
  );
  const [run] = (await listRuns(store)).runs;
  assert.equal(run!.status, 'FAILED');
  assert.equal(run!.error, 'boom: column x');
});

test('compare lines up params and metrics per run, null where a run lacks one', async () => {
  const store = openStore(await mkdtemp(join(tmpdir(), 'mltk-runs-')));
  const a = await trackRun(store, { model: 'm', configSource: 'c', config: {} }, async (r) => {
    r.logParams({ trees: 1 });
    r.logMetric('rmse', 2);
  });
  const b = await trackRun(store, { model: 'n', configSource: 'c', config: {} }, async (r) => {
    r.logParams({ depth: 3 });
    r.logMetric('rmse', 1);
  });
  const cmp = compareRuns([a.run, b.run]);
  assert.deepEqual(cmp.params, { depth: [null, 3], trees: [1, null] });
  assert.deepEqual(cmp.metrics, { rmse: [2, 1] });
  assert.equal((await listRuns(store, { model: 'n' })).runs.length, 1);
  await assert.rejects(getRun(store, 'nope'), /no run "nope"/);
});

test('run ids list newest first from one listing; keys that are not a run manifest are left out', async () => {
  const store = openStore(await mkdtemp(join(tmpdir(), 'mltk-runs-')));
  for (const id of ['20260101T000000Z-aaaaaa', '20260301T000000Z-cccccc', '20260201T000000Z-bbbbbb'])
    await store.put(`runs/${id}.json`, '{}');
  await store.put('runs/nested/20260401T000000Z-dddddd.json', '{}');
  await store.put('runs/notes.txt', 'x');
  await store.put('runs/<bad id>.json', '{}');
  assert.deepEqual(await listRunIds(store), [
    '20260301T000000Z-cccccc',
    '20260201T000000Z-bbbbbb',
    '20260101T000000Z-aaaaaa',
  ]);
  await assert.rejects(
    getRun(store, '20260101T000000Z-aaaaaa'),
    /runs\/20260101T000000Z-aaaaaa.json: malformed manifest/,
  );
  await assert.rejects(getRun(store, '<bad id>'), /invalid run id/);
});
