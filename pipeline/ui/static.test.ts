// The static export's multi-step write (build beside DIR, swap in by two renames) and what a crash
// at any point leaves; unreadable manifests; and `mltk ui` serving as a real process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addDatasetVersion } from '../data/index.ts';
import { getModelVersion, moveAlias, registerModelVersion } from '../registry/index.ts';
import { runKey, type RunManifest } from '../runs/index.ts';
import { openStore, putBlob, type ObjectStore } from '../store/index.ts';
import { MLTK_BIN, REPO_ROOT } from '../testing/cli.ts';
import { EXPORT_MARKER, recoverExport, writeStaticSite } from './static.ts';
import { UiSite } from './site.ts';
import { XSS } from './testdata.ts';

function manifest(i: number, over: Partial<RunManifest> = {}): RunManifest {
  const t = new Date(Date.UTC(2026, 2, 1) + i * 60_000).toISOString();
  const id = `${t.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${i.toString(16).padStart(6, '0')}`;
  return {
    kind: 'mltk.run',
    id,
    model: 'sap_change',
    status: 'FINISHED',
    config: { source: 'c.json', sha256: 'c'.repeat(64), copy: { description: XSS.description } },
    dataset: null,
    params: { trees: 10 + (i % 5), note: XSS.param },
    metrics: { rmse: 2 + (i % 7) / 10 },
    metric_history: { train_loss: Array.from({ length: 20 }, (_, s) => ({ step: s + 1, value: 5 / (s + 1) })) },
    artifacts: {},
    started_at: t,
    ended_at: t,
    error: null,
    git: null,
    ...over,
  };
}

/** A store with `runs` runs, a dataset version whose source is hostile text, and an alias moved twice. */
async function smallStore(runs: number): Promise<{ dir: string; store: ObjectStore }> {
  const dir = await mkdtemp(join(tmpdir(), 'mltk-ui-static-'));
  const store = openStore(join(dir, 'store'));
  for (let i = 0; i < runs; i++) {
    const r = manifest(i);
    await store.put(runKey(r.id), JSON.stringify(r));
  }
  await mkdir(join(dir, 'files'));
  const csv = join(dir, 'files', XSS.source);
  await writeFile(csv, 'home_id,x\nh1,1\nh2,2\n');
  const { version } = await addDatasetVersion(store, 'epc', csv);
  const artifact = await putBlob(store, 'onnx');
  for (let v = 0; v < 2; v++) {
    await registerModelVersion(store, {
      name: 'sap_change',
      run_id: manifest(v).id,
      dataset: { name: 'epc', version: version.version },
      trainer: 'gbdt',
      artifact: { ...artifact, format: 'onnx' },
      baseline: null,
      signature: {
        id_column: 'home_id',
        features: [{ name: 'x', type: 'numeric', nullable: false }],
        derived: [],
        target: { column: 'y', unit: 'u' },
        output: { column: 'p', unit: 'u' },
      },
      metrics: { rmse: 2 - v / 10 },
      monitoring: { psi_warn: 0.1, psi_alert: 0.25, drift_share: 0.3 },
      config_sha256: null,
    });
  }
  await moveAlias(store, 'sap_change', 'prod', 1);
  await moveAlias(store, 'sap_change', 'prod', 2, { reason: XSS.reason });
  return { dir, store };
}

const marker = async (out: string) =>
  JSON.parse(await readFile(join(out, EXPORT_MARKER), 'utf8')) as { generated_at: string; pages: number };
const leftovers = async (dir: string) => (await readdir(dir)).filter((f) => /\.(tmp|old)-\d+-/.test(f));

async function allFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile()) out.push(join(e.parentPath, e.name));
  return out;
}

test('every exported page carries only our script, and store text as text', async () => {
  const { dir, store } = await smallStore(5);
  const out = join(dir, 'site');
  const r = await writeStaticSite({ store, predictions: store }, out);
  assert.deepEqual(r.problems, []);
  const pages = (await allFiles(out)).filter((f) => f.endsWith('.html'));
  assert.equal(pages.length, r.pages);
  for (const p of pages) {
    const text = await readFile(p, 'utf8');
    // Escaped text has no '<', so every '<' opens one of our tags: none may be an img or carry a handler.
    // Attribute values are quoted and cannot hold a quote, so dropping them leaves the tags' own names.
    const tags = (text.match(/<[a-z][^>]*>/gi) ?? []).map((t) => t.replace(/"[^"]*"/g, '""'));
    assert.equal(tags.filter((t) => /^<script/i.test(t)).length, 1, p);
    assert.deepEqual(
      tags.filter((t) => /^<img|\son[a-z]+=/i.test(t)),
      [],
      p,
    );
  }
  const model = await readFile(join(out, 'models/sap_change/index.html'), 'utf8');
  assert.ok(model.includes('promote &quot;&#39;&gt;&lt;script&gt;'), 'the alias reason is escaped');
});

test(
  'an export replaces an earlier one whole; a folder that is not an export is refused and ' + 'left as it was',
  async () => {
    const { dir, store } = await smallStore(3);
    const out = join(dir, 'site');
    const first = await writeStaticSite({ store, predictions: store }, out, {
      now: () => new Date('2026-03-01T00:00:00Z'),
    });
    const extra = manifest(50);
    await store.put(runKey(extra.id), JSON.stringify(extra));
    const second = await writeStaticSite({ store, predictions: store }, out, {
      now: () => new Date('2026-03-02T00:00:00Z'),
    });
    assert.equal(second.pages, first.pages + 1 + 1, "the new run's page and its compare with the previous run");
    assert.ok(existsSync(join(out, `run/${extra.id}.html`)));
    assert.equal((await marker(out)).generated_at, '2026-03-02T00:00:00.000Z');
    assert.deepEqual(await leftovers(dir), []);

    const mine = join(dir, 'notes');
    await mkdir(mine);
    await writeFile(join(mine, 'todo.txt'), 'keep me');
    await assert.rejects(
      writeStaticSite({ store, predictions: store }, mine),
      /notes is a folder that is not an mltk ui export .* nothing was written/,
    );
    assert.deepEqual(await readdir(mine), ['todo.txt']);
    await assert.rejects(
      writeStaticSite({ store, predictions: store }, join(mine, 'todo.txt')),
      /is a file, not a folder/,
    );
    assert.deepEqual(await leftovers(dir), []);
  },
);

function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

test(
  'crash leftovers: an unfinished export is removed, a replaced one is put back when DIR is missing, a live ' +
    'export is left alone',
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mltk-ui-recover-'));
    const out = join(dir, 'site');
    const dead = deadPid();
    await mkdir(join(dir, `site.tmp-${dead}-aaaa`));
    await writeFile(join(dir, `site.tmp-${dead}-aaaa`, 'index.html'), 'half');
    await mkdir(join(dir, `site.old-${dead}-aaaa`));
    await writeFile(join(dir, `site.old-${dead}-aaaa`, EXPORT_MARKER), '{"generated_at":"before"}');
    await mkdir(join(dir, `site.tmp-${process.pid}-bbbb`));
    await recoverExport(out);
    assert.equal((await marker(out)).generated_at, 'before', 'the export being replaced when the crash came is back');
    assert.deepEqual(
      await leftovers(dir),
      [`site.tmp-${process.pid}-bbbb`],
      "a running export's folder is not touched",
    );
  },
);

test(
  'kill -9 in the middle of a real export leaves the previous export whole, and the next ' + 'export recovers',
  async () => {
    const { dir, store } = await smallStore(150);
    const out = join(dir, 'site');
    const args = [MLTK_BIN, '--store', join(dir, 'store'), 'ui', '--output', out];
    assert.equal(spawnSync(process.execPath, args, { cwd: REPO_ROOT }).status, 0);
    const before = await marker(out);
    for (let i = 150; i < 170; i++) {
      const r = manifest(i);
      await store.put(runKey(r.id), JSON.stringify(r));
    }
    const expected = (await writeStaticSite({ store, predictions: store }, join(dir, 'expected'))).pages;
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let done = false;
    void exited.then(() => {
      done = true;
    });
    // Wait (on the file system, not a clock) until the new export has pages in its folder, then kill it.
    for (;;) {
      const tmp = (await readdir(dir)).find((f) => f.startsWith(`site.tmp-${child.pid}-`));
      if (tmp && (await readdir(join(dir, tmp, 'run')).catch(() => [])).length >= 10) break;
      if (done) break;
      await new Promise((r) => setImmediate(r));
    }
    child.kill('SIGKILL');
    await exited;
    const now = await marker(out);
    assert.ok(
      now.generated_at === before.generated_at || now.pages === expected,
      'DIR is the previous export or the new one, whole',
    );
    assert.ok(existsSync(join(out, 'index.html')));
    assert.equal(spawnSync(process.execPath, args, { cwd: REPO_ROOT }).status, 0);
    assert.deepEqual(await leftovers(dir), [], 'the next export removed what the killed one left');
    assert.equal((await marker(out)).pages, expected);
  },
);

test('unreadable manifests are named where they would show; the rest of each page still renders', async () => {
  const { store } = await smallStore(3);
  const broken = manifest(40);
  await store.put(runKey(broken.id), '{"kind":"mltk.run","id":');
  await store.put('models/sap_change/versions/3.json', '{"kind":"mltk.model_version","version":"three"}');
  await store.put(`datasets/epc/versions/${'e'.repeat(64)}.json`, '{}');
  await store.put('models/sap_change/aliases/staging.json', '{"kind":"mltk.alias"}');
  const site = new UiSite({ stores: { store, predictions: store }, mode: 'static' });
  const runs = await site.render('runs/index.html');
  assert.ok(
    'html' in runs &&
      runs.status === 200 &&
      runs.html.includes(`unreadable: ${store.url}/${runKey(broken.id)}: malformed manifest`),
  );
  const run = await site.render(`run/${broken.id}.html`);
  assert.ok('html' in run && run.status === 500 && run.html.includes('malformed manifest (not JSON'));
  const model = await site.render('models/sap_change/index.html');
  assert.ok('html' in model && model.status === 200);
  assert.match(
    model.html,
    /2 manifests were left out because they could not be read:.*models\/sap_change\/versions\/3\.json: malformed manifest/s,
  );
  assert.match(model.html, /aliases\/staging\.json: malformed manifest/);
  assert.match(model.html, /prod → <a/, 'the readable alias still shows');
  assert.match(model.html, /v2<\/a>/);
  const data = await site.render('data/epc/index.html');
  assert.ok('html' in data && /datasets\/epc\/versions\/e{64}\.json: malformed manifest/.test(data.html));
});

test('mltk ui serves the site on 127.0.0.1 until it is stopped', async () => {
  const { dir } = await smallStore(2);
  const child = spawn(process.execPath, [MLTK_BIN, '--store', join(dir, 'store'), '--json', 'ui', '--port', '0'], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout.on('data', (d) => {
    stdout += String(d);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  while (!stdout.includes('}')) await new Promise((r) => child.stdout.once('data', r));
  const doc = JSON.parse(stdout) as { url: string; store: string };
  assert.match(doc.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  const res = await fetch(`${doc.url}models/sap_change/index.html`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-security-policy') ?? '', /^default-src 'none'; script-src 'sha256-/);
  assert.match(await res.text(), /Model sap_change/);
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
});

test('metrics without a value say why; a pinned dataset and a copied version say so', async () => {
  const { store } = await smallStore(1);
  const run = manifest(7, { metrics: { rmse: 1.5 }, undefined_metrics: { r2: 'the held-out target is constant' } });
  await store.put(runKey(run.id), JSON.stringify(run));
  const v1 = await getModelVersion(store, 'sap_change', 1);
  await registerModelVersion(store, {
    ...v1,
    run_id: run.id,
    metrics: { rmse: 1.5 },
    undefined_metrics: { r2: 'the held-out target is constant' },
    dataset: { ...v1.dataset!, pinned: true },
    source: {
      store: 's3://dev-models/mltk',
      name: 'sap_change',
      version: 4,
      artifact_sha256: v1.artifact.sha256,
      copied_at: '2026-03-01T00:00:00.000Z',
    },
  });
  const site = new UiSite({ stores: { store, predictions: store }, mode: 'static' });
  const runPage = await site.render(`run/${run.id}.html`);
  assert.ok('html' in runPage && runPage.html.includes('– (undefined: the held-out target is constant)'));
  const version = await site.render('models/sap_change/versions/3.html');
  assert.ok('html' in version && version.status === 200);
  assert.match(version.html, /undefined: the held-out target is constant/);
  assert.match(version.html, /\(pinned by the config\)/);
  assert.match(version.html, /Copied from<\/dt><dd>sap_change v4 in <code>s3:\/\/dev-models\/mltk<\/code>/);
});
