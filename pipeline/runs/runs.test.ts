import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openStore } from '../store/index.ts';
import { killMltkAt, runMltk } from '../testing/cli.ts';
import { ABANDONED_AFTER_MS, HEARTBEAT_MS, trackRun, getRun, listRunIds, listRuns, compareRuns } from './index.ts';

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

test(
  'a run whose process is killed (kill -9) reads ABANDONED in runs list and runs show, with why; the stored ' +
    'manifest is left as it was',
  async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'mltk-runs-kill-'));
    const env = { ...process.env, MLTK_STORE: join(cwd, 'store') };
    assert.equal((await runMltk(['data', 'synth', '--rows', '800', '--output', 'd.csv'], { cwd, env })).code, 0);
    // Trained, then killed as it registers the version: the run was RUNNING and nothing will ever end it.
    await killMltkAt(
      { backend: 'LocalStore', method: 'putIfAbsent', key: /^models\/sap_change\/versions\// },
      ['train', '--config', resolve('configs/sap_change.json'), '--data-file', 'd.csv'],
      { cwd, env },
    );
    const listed = await runMltk(['runs', 'list', '--json'], { cwd, env });
    assert.equal(listed.code, 0, listed.stderr);
    const [run] = JSON.parse(listed.stdout).runs;
    assert.equal(run.status, 'ABANDONED');
    assert.match(run.abandoned, /^its process \d+ on .+ ended without finishing the run$/);
    const human = await runMltk(['runs', 'list'], { cwd, env });
    assert.match(human.stdout, new RegExp(`^${run.id}\\tsap_change\\tABANDONED\\t`));
    const shown = await runMltk(['runs', 'show', run.id], { cwd, env });
    assert.match(shown.stdout, /ABANDONED {2}\(its process \d+ on .+ ended without finishing the run\)/);
    const stored = JSON.parse(await readFile(join(cwd, 'store', 'runs', `${run.id}.json`), 'utf8'));
    assert.equal(stored.status, 'RUNNING');
  },
);

test(
  'a RUNNING run of another host (or an older mltk) is abandoned only once silent for ' + 'ABANDONED_AFTER_MS',
  async () => {
    const store = openStore(await mkdtemp(join(tmpdir(), 'mltk-runs-')));
    const now = Date.now();
    const ago = (ms: number) => new Date(now - ms).toISOString();
    const { run } = await trackRun(store, { model: 'm', configSource: 'c.json', config: {} }, async () => undefined);
    const running = (id: string, extra: Record<string, unknown>) =>
      store.put(`runs/${id}.json`, JSON.stringify({ ...run, id, status: 'RUNNING', ended_at: null, ...extra }));
    const elsewhere = { host: 'another-runner', pid: process.pid };
    await running('20260101T000000Z-000001', { writer: elsewhere, heartbeat_at: ago(ABANDONED_AFTER_MS + 60_000) });
    await running('20260101T000000Z-000002', { writer: elsewhere, heartbeat_at: ago(HEARTBEAT_MS) });
    await running('20260101T000000Z-000003', {
      writer: undefined,
      heartbeat_at: undefined,
      started_at: ago(2 * ABANDONED_AFTER_MS),
    });
    await running('20260101T000000Z-000004', { writer: undefined, heartbeat_at: undefined, started_at: ago(60_000) });
    await running('20260101T000000Z-000005', {
      writer: { host: hostname(), pid: process.pid },
      heartbeat_at: ago(60_000),
    });
    const seen = Object.fromEntries((await listRuns(store)).runs.map((r) => [r.id.slice(-1), [r.status, r.abandoned]]));
    assert.equal(seen[1]![0], 'ABANDONED');
    assert.match(seen[1]![1]!, /^no sign of life since .* \(31 minutes; a running run writes one every 60 s\)$/);
    assert.deepEqual(seen[2], ['RUNNING', undefined]);
    assert.equal(seen[3]![0], 'ABANDONED');
    assert.deepEqual(seen[4], ['RUNNING', undefined]);
    assert.deepEqual(seen[5], ['RUNNING', undefined]);
    assert.equal((await getRun(store, '20260101T000000Z-000001')).status, 'ABANDONED');
  },
);

test('a running run refreshes its heartbeat, and its last write is FINISHED, never a late heartbeat', async () => {
  const store = openStore(await mkdtemp(join(tmpdir(), 'mltk-runs-')));
  const stored = async (id: string) => JSON.parse(String(await store.get(`runs/${id}.json`)));
  let id = '';
  const { run } = await trackRun(
    store,
    { model: 'm', configSource: 'c.json', config: {}, heartbeatMs: 5 },
    async (r) => {
      id = r.id;
      const first = await stored(id);
      assert.deepEqual(first.writer, { host: hostname(), pid: process.pid });
      while ((await stored(id)).heartbeat_at === first.heartbeat_at) await new Promise((res) => setTimeout(res, 5));
      assert.equal((await stored(id)).status, 'RUNNING');
    },
  );
  assert.equal(run.status, 'FINISHED');
  // Beats had every chance to land after the end: none did.
  for (let i = 0; i < 10; i++) {
    await new Promise((res) => setTimeout(res, 5));
    assert.equal((await stored(id)).status, 'FINISHED');
  }
});
