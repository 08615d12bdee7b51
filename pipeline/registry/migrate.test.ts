// Model artifacts live under their model's prefix (models/NAME/artifacts/sha256/…), apart from dataset
// bytes (blobs/sha256/), so IAM can give serving a model's artifacts alone. Stores written before keep
// working (readers fall back to the legacy key), and `mltk store migrate` moves them over, idempotently,
// recovering from a kill -9 in the middle.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { writeSynthCsv } from '../data/index.ts';
import { blobKey, makeS3Client, modelArtifactKey, openStore, putBlob, type ObjectStore } from '../store/index.ts';
import { runMltk } from '../testing/cli.ts';
import { motoUnavailable, startMoto, type MotoServer } from '../testing/moto.ts';
import { migrateRegistryArtifacts, registerModelVersion, resolveModel } from './index.ts';
import { versionEntry } from './testdata.ts';

const CHILD = new URL('../testing/migrate-crash-child.ts', import.meta.url).pathname;
const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function trained(): Promise<{
  cwd: string;
  store: ObjectStore;
  file: string;
  mltk: (...a: string[]) => ReturnType<typeof runMltk>;
}> {
  const cwd = await mkdtemp(join(tmpdir(), 'mltk-layout-'));
  dirs.push(cwd);
  const file = join(cwd, 'd.csv');
  const out = createWriteStream(file);
  await writeSynthCsv({ rows: 300, seed: 4 }, out);
  await new Promise<void>((r) => out.end(() => r()));
  const config = JSON.parse(await readFile('configs/sap_change.json', 'utf8'));
  config.trainer.params.trees = 5;
  await writeFile(join(cwd, 'config.json'), JSON.stringify(config));
  const mltk = (...args: string[]) => runMltk(['--store', join(cwd, 'store'), ...args], { cwd });
  const t = await mltk('train', '--config', 'config.json', '--data-file', file);
  assert.equal(t.code, 0, t.stderr);
  return { cwd, store: openStore(join(cwd, 'store')), file, mltk };
}

/** What a store written before the artifacts prefix looks like: the artifacts at the shared blob key only. */
async function toLegacyLayout(store: ObjectStore): Promise<string[]> {
  const mv = await resolveModel(store, 'sap_change@1');
  const shas = [mv.artifact.sha256, mv.baseline!.sha256];
  for (const sha of shas) {
    await store.put(blobKey(sha), await store.get(modelArtifactKey('sap_change', sha)));
    await store.delete(modelArtifactKey('sap_change', sha));
  }
  return shas;
}

test(
  "training stores the ONNX and the baseline under the model's prefix; blobs/ holds the " + 'dataset bytes only',
  async () => {
    const { store } = await trained();
    const mv = await resolveModel(store, 'sap_change@1');
    const artifacts = await store.list('models/sap_change/artifacts/');
    assert.deepEqual(
      artifacts,
      [mv.artifact.sha256, mv.baseline!.sha256].map((s) => modelArtifactKey('sap_change', s)).sort(),
    );
    assert.deepEqual(await store.list('blobs/'), [blobKey(mv.dataset!.version)]);
  },
);

test(
  'a store in the older layout keeps serving; store migrate copies its artifacts once, and the legacy keys are ' +
    'then not needed',
  async () => {
    const { cwd, store, file, mltk } = await trained();
    const shas = await toLegacyLayout(store);
    assert.equal((await mltk('models', 'promote', 'sap_change', '1', '--alias', 'prod')).code, 0);
    const before = await mltk(
      'predict',
      '--model',
      'sap_change@prod',
      '--input',
      file,
      '--output',
      join(cwd, 'p0.csv'),
    );
    assert.equal(before.code, 0, `reads the legacy key: ${before.stderr}`);
    const first = await mltk('--json', 'store', 'migrate');
    assert.equal(first.code, 0, first.stderr);
    const doc = JSON.parse(first.stdout);
    assert.deepEqual(
      doc.copied.map((c: { to: string }) => c.to).sort(),
      shas.map((s) => modelArtifactKey('sap_change', s)).sort(),
    );
    assert.equal(doc.present, 0);
    const again = JSON.parse((await mltk('--json', 'store', 'migrate')).stdout);
    assert.deepEqual([again.copied.length, again.present], [0, 2], 'idempotent');
    for (const sha of shas) await store.delete(blobKey(sha)); // what a role scoped to models/sap_change/ sees
    const afterward = await mltk(
      'predict',
      '--model',
      'sap_change@prod',
      '--input',
      file,
      '--output',
      join(cwd, 'p1.csv'),
    );
    assert.equal(afterward.code, 0, afterward.stderr);
    assert.equal(await readFile(join(cwd, 'p1.csv'), 'utf8'), await readFile(join(cwd, 'p0.csv'), 'utf8'));
    const monitored = await mltk('--json', 'monitor', '--model', 'sap_change@prod', '--input', file);
    assert.equal(monitored.code, 0, `the baseline is read from its new key: ${monitored.stderr}`);
  },
);

test(
  'store migrate killed (kill -9) after its first copy: the next run copies the rest, nothing is ' + 'lost or doubled',
  async () => {
    const { cwd, store, mltk } = await trained();
    const shas = await toLegacyLayout(store);
    const marker = join(cwd, 'reached');
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, join(cwd, 'store'), marker], { stdio: 'ignore' });
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    let done = false;
    void exited.then(() => {
      done = true;
    });
    while (!existsSync(marker)) {
      assert.ok(!done, 'the child exited before its first copy');
      await new Promise((r) => setTimeout(r, 10));
    }
    child.kill('SIGKILL');
    await exited;
    const copiedBefore = (await Promise.all(shas.map((s) => store.head(modelArtifactKey('sap_change', s))))).filter(
      Boolean,
    ).length;
    assert.equal(copiedBefore, 1, 'killed after one copy');
    const next = JSON.parse((await mltk('--json', 'store', 'migrate')).stdout);
    assert.deepEqual([next.copied.length, next.present], [1, 1]);
    for (const sha of shas) assert.ok(await store.head(modelArtifactKey('sap_change', sha)));
  },
);

test('store migrate names an artifact that is stored nowhere, after migrating the rest (exit 7)', async () => {
  const { store, mltk } = await trained();
  const [onnx] = await toLegacyLayout(store);
  await store.delete(blobKey(onnx!));
  const r = await mltk('--json', 'store', 'migrate');
  assert.equal(r.code, 7);
  assert.match(
    JSON.parse(r.stdout).error.message,
    new RegExp(
      `1 copied, 0 already in place; 1 artifact\\(s\\) of registered versions are stored nowhere: sap_change ` +
        `${onnx!.slice(0, 12)}`,
    ),
  );
});

let moto: MotoServer | undefined;
test("on S3 (moto_server): registering finds a legacy artifact, migrate copies it to the model's prefix", {
  skip: motoUnavailable(),
}, async () => {
  moto = await startMoto();
  Object.assign(process.env, moto.env);
  await (await makeS3Client()).send(
    new CreateBucketCommand({ Bucket: 'layout', CreateBucketConfiguration: { LocationConstraint: 'eu-west-2' } }),
  );
  const store = openStore('s3://layout/registry');
  const entry = await versionEntry(store);
  const legacy = await putBlob(store, 'legacy onnx');
  await registerModelVersion(store, { ...entry, artifact: { ...legacy, format: 'onnx' } });
  const report = await migrateRegistryArtifacts(store);
  assert.deepEqual(
    report.copied.map((c) => c.to),
    [modelArtifactKey('sap_change', legacy.sha256)],
  );
  assert.equal(String(await store.get(modelArtifactKey('sap_change', legacy.sha256))), 'legacy onnx');
  assert.deepEqual((await migrateRegistryArtifacts(store)).copied, []);
});
after(async () => {
  await moto?.stop();
});
