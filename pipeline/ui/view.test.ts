// The UI reads lazily and keeps immutable manifests: pinned by counting the reads it makes of a
// real local store with thousands of runs (the store wrapped, every call counted).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { moveAlias, registerModelVersion } from '../registry/index.ts';
import { runKey, type RunManifest } from '../runs/index.ts';
import { openStore, putBlob, type ObjectStore } from '../store/index.ts';
import { UiSite } from './site.ts';

const RUNS = 2000;
const NEWEST_OF_A = 150;
const READS = ['get', 'getWithEtag', 'head', 'list', 'getStream'] as const;

interface Counted {
  store: ObjectStore;
  calls: { op: string; key: string }[];
}

function counted(store: ObjectStore): Counted {
  const calls: Counted['calls'] = [];
  const wrapped = new Proxy(store, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target) as unknown;
      if (typeof v !== 'function') return v;
      const fn = v as (...a: unknown[]) => unknown;
      if (!(READS as readonly string[]).includes(String(prop))) return fn.bind(target);
      return (key: string, ...rest: unknown[]) => {
        calls.push({ op: String(prop), key });
        return fn.call(target, key, ...rest);
      };
    },
  });
  return { store: wrapped, calls };
}

function run(i: number, model: string, status: RunManifest['status']): RunManifest {
  const t = new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString();
  const id = `${t.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${i.toString(16).padStart(6, '0')}`;
  return {
    kind: 'mltk.run',
    id,
    model,
    status,
    config: { source: 'c.json', sha256: 'c'.repeat(64), copy: { name: model } },
    dataset: null,
    params: { trees: 10 + (i % 7), learning_rate: 0.1 },
    metrics: { rmse: 1 + (i % 13) / 10 },
    metric_history: { train_loss: Array.from({ length: 50 }, (_, s) => ({ step: s + 1, value: 10 / (s + 1) })) },
    artifacts: {},
    started_at: t,
    ended_at: status === 'RUNNING' ? null : t,
    error: null,
    git: null,
  };
}

async function bigStore(): Promise<{ store: ObjectStore; ids: string[] }> {
  const store = openStore(await mkdtemp(join(tmpdir(), 'mltk-ui-view-')));
  const ids: string[] = [];
  for (let i = 0; i < RUNS; i++) {
    const newest = i === RUNS - 1;
    const r = run(i, i >= RUNS - NEWEST_OF_A ? 'a' : 'b', newest ? 'RUNNING' : 'FINISHED');
    ids.push(r.id);
    await store.put(runKey(r.id), JSON.stringify(r));
  }
  const artifact = await putBlob(store, 'onnx');
  for (let v = 0; v < 3; v++) {
    await registerModelVersion(store, {
      name: 'a',
      run_id: ids[RUNS - 1 - v]!,
      dataset: null,
      trainer: 'gbdt',
      artifact: { ...artifact, format: 'onnx' },
      baseline: null,
      signature: {
        id_column: 'id',
        features: [{ name: 'x', type: 'numeric', nullable: false }],
        derived: [],
        target: { column: 'y', unit: 'u' },
        output: { column: 'p', unit: 'u' },
      },
      metrics: { rmse: 1 },
      monitoring: { psi_warn: 0.1, psi_alert: 0.25, drift_share: 0.3 },
      config_sha256: null,
    });
  }
  for (const v of [1, 2, 3, 2]) await moveAlias(store, 'a', 'prod', v);
  return { store, ids: ids.reverse() };
}

/** One store for every test (building it is most of this file's time); the test that changes it runs last. */
const shared = bigStore();

const runGets = (c: Counted) => c.calls.filter((x) => x.op === 'get' && x.key.startsWith('runs/')).length;
const allReads = (c: Counted) => c.calls.length;

test("a model's runs table scans back only as far as its first page needs", async () => {
  const { store } = await shared;
  const c = counted(store);
  const site = new UiSite({ stores: { store: c.store, predictions: c.store }, mode: 'static' });
  const page = await site.render('models/a/runs.html');
  assert.equal(page.status, 200);
  assert.ok(runGets(c) <= NEWEST_OF_A + 64, `read ${runGets(c)} runs for model a's first page`);
  assert.ok('html' in page && (page.html.match(/<tr>/g) ?? []).length >= 100);
});

test('versions and alias history entries are read once; the alias itself on every view', async () => {
  const { store } = await shared;
  const c = counted(store);
  const site = new UiSite({ stores: { store: c.store, predictions: c.store }, mode: 'server' });
  assert.equal((await site.render('models/a/index.html')).status, 200);
  const first = c.calls.filter((x) => x.op === 'get' && x.key.startsWith('models/'));
  assert.equal(first.filter((x) => x.key.includes('/versions/')).length, 3);
  assert.equal(first.filter((x) => x.key.includes('/history/')).length, 4);
  c.calls.length = 0;
  const again = await site.render('models/a/index.html');
  assert.equal(again.status, 200);
  const gets = c.calls.filter((x) => x.op === 'get' && x.key.startsWith('models/')).map((x) => x.key);
  assert.deepEqual(gets, ['models/a/aliases/prod.json']);
  assert.ok('html' in again && /Moved 4 times/.test(again.html));
});

test(
  `with ${RUNS} runs: the overview reads the newest 10, a runs page its 100, and finished runs ` + `are read once`,
  async () => {
    const { store, ids } = await shared;
    const c = counted(store);
    const site = new UiSite({ stores: { store: c.store, predictions: c.store }, mode: 'server' });

    const home = await site.render('index.html');
    assert.equal(home.status, 200);
    assert.equal(runGets(c), 10);
    assert.ok(allReads(c) < 40, `overview made ${allReads(c)} reads`);

    c.calls.length = 0;
    const page = await site.render('runs/index.html');
    assert.equal(page.status, 200);
    assert.equal(runGets(c), 100 - 9, "of the overview's 10 only the RUNNING one is read again");
    assert.equal(c.calls.filter((x) => x.op === 'list').length, 1);

    c.calls.length = 0;
    assert.equal((await site.render('runs/index.html')).status, 200);
    assert.deepEqual(
      c.calls.filter((x) => x.op === 'get').map((x) => x.key),
      [runKey(ids[0]!)],
      'only the RUNNING run is read again',
    );

    const finished = { ...run(RUNS - 1, 'a', 'FINISHED') };
    await store.put(runKey(finished.id), JSON.stringify(finished));
    const after = await site.render('runs/index.html');
    assert.ok(
      'html' in after &&
        new RegExp(`${finished.id}.*?FINISHED`, 's').test(
          after.html.slice(after.html.indexOf(`run/${finished.id}.html`)),
        ),
      'a run that finished shows FINISHED',
    );
    c.calls.length = 0;
    await site.render('runs/index.html');
    assert.equal(runGets(c), 0, 'now finished, it is kept too');
  },
);
