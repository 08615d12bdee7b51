// What the deploy workflow runs, command by command, on moto with a data bucket and two model buckets
// (dev, prod): data add s3://… → pin → run (pinned, gated, unchanged reruns) → models copy → promote →
// mltk serve from the prod store answers /health with the copied sha256. Plus what prod refuses
// (corrupt or missing source blobs, synthetic or unpinned lineage), folder ↔ S3 copies, and what a
// kill -9 in the middle of `data add s3://` and of `models copy` leaves and how the next run recovers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { synthCsv } from '../predict/testdata.ts';
import { blobKey, makeS3Client, modelArtifactKey, openStore } from '../store/index.ts';

const art = (sha256: string) => modelArtifactKey('sap_change', sha256);
import { REPO_ROOT, killMltkAt, runMltk, startMltk } from '../testing/cli.ts';
import { motoUnavailable, startMoto, type MotoServer } from '../testing/moto.ts';

const skip = motoUnavailable();
const DATA = 's3://mltk-data';
const DEV = 's3://mltk-dev-models';
const PROD = 's3://mltk-prod-models';
const CSV_KEY = 'training/epc-2026-11.csv';
let moto: MotoServer;
let dir: string;
let env: NodeJS.ProcessEnv;
let csv: Buffer;
let pin: string;

async function mltk(...args: string[]): Promise<{ code: number; doc: any; stderr: string }> {
  const r = await runMltk([...args, '--json'], { cwd: dir, env });
  return { code: r.code, doc: JSON.parse(r.stdout || 'null'), stderr: r.stderr };
}

const list = (url: string) => openStore(url).list('');

async function config(name: string, edit: (raw: any) => void = () => {}): Promise<string> {
  const raw = JSON.parse(await readFile(join(REPO_ROOT, 'configs/sap_change.json'), 'utf8'));
  raw.trainer.params.trees = 10;
  raw.dataset.synth_rows = 600;
  edit(raw);
  await writeFile(join(dir, name), `${JSON.stringify(raw, null, 2)}\n`);
  return name;
}

before(async () => {
  if (skip) return;
  moto = await startMoto();
  env = { ...process.env, ...moto.env, MLTK_STORE: '' };
  Object.assign(process.env, moto.env);
  dir = await mkdtemp(join(tmpdir(), 'mltk-branch-'));
  const s3 = await makeS3Client();
  for (const Bucket of ['mltk-data', 'mltk-dev-models', 'mltk-prod-models']) {
    await s3.send(new CreateBucketCommand({ Bucket, CreateBucketConfiguration: { LocationConstraint: 'eu-west-2' } }));
  }
  csv = await synthCsv(700, 3);
  await s3.send(new PutObjectCommand({ Bucket: 'mltk-data', Key: CSV_KEY, Body: csv }));
  await s3.send(
    new PutObjectCommand({ Bucket: 'mltk-data', Key: 'training/epc-2026-12.csv', Body: await synthCsv(750, 4) }),
  );
  await config('sap_change.json');
});
after(async () => {
  await moto?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test("data add s3://… streams the object into the dev store: version = the file's sha256, pinned in the config", {
  skip,
}, async () => {
  const before = await readFile(join(dir, 'sap_change.json'), 'utf8');
  const r = await mltk(
    '--store',
    DEV,
    'data',
    'add',
    `${DATA}/${CSV_KEY}`,
    '--dataset',
    'epc_retrofit',
    '--pin',
    'sap_change.json',
  );
  assert.equal(r.code, 0, r.stderr);
  pin = createHash('sha256').update(csv).digest('hex');
  assert.deepEqual([r.doc.version, r.doc.rows, r.doc.bytes, r.doc.created], [pin, 700, csv.length, true]);
  assert.deepEqual(
    await list(DEV),
    [blobKey(pin), `datasets/epc_retrofit/versions/${pin}.json`],
    'no staging object left',
  );
  const after = await readFile(join(dir, 'sap_change.json'), 'utf8');
  assert.equal(
    after,
    before.replace('"name": "epc_retrofit",\n', `"name": "epc_retrofit",\n    "version": "${pin}",\n`),
  );
  const shown = await mltk('--store', DEV, 'data', 'show', `epc_retrofit@${pin}`);
  assert.equal(shown.doc.source, `${DATA}/${CSV_KEY}`);
  const missing = await mltk('--store', DEV, 'data', 'add', `${DATA}/training/none.csv`, '--dataset', 'epc_retrofit');
  assert.equal(missing.code, 5);
  assert.match(missing.doc.error.message, /s3:\/\/mltk-data\/training\/none\.csv: no such object/);
  await (await makeS3Client()).send(
    new PutObjectCommand({
      Bucket: 'mltk-data',
      Key: 'training/empty.csv',
      Body: csv.subarray(0, csv.indexOf(10) + 1),
    }),
  );
  const empty = await mltk('--store', DEV, 'data', 'add', `${DATA}/training/empty.csv`, '--dataset', 'epc_retrofit');
  assert.equal(empty.code, 4);
  assert.match(
    empty.doc.error.message,
    /s3:\/\/mltk-data\/training\/empty\.csv: no data rows \(header only\); nothing was stored/,
  );
  assert.deepEqual(
    await list(DEV),
    [blobKey(pin), `datasets/epc_retrofit/versions/${pin}.json`],
    'the staged upload is gone too',
  );
});

test('a pinned run trains on exactly the pinned version (not the latest) and promotes dev', { skip }, async () => {
  const later = await mltk(
    '--store',
    DEV,
    'data',
    'add',
    `${DATA}/training/epc-2026-12.csv`,
    '--dataset',
    'epc_retrofit',
  );
  assert.equal(later.code, 0, later.stderr);
  const r = await mltk('--store', DEV, 'run', '--config', 'sap_change.json', '--alias', 'dev');
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual([r.doc.version, r.doc.promoted, r.doc.alias], [1, true, 'dev']);
  assert.deepEqual([r.doc.dataset.version, r.doc.dataset.pinned, r.doc.dataset.synthetic], [pin, true, false]);
});

test('a model failing the gate is registered, the dev alias stays, exit 11', { skip }, async () => {
  const later = (await mltk('--store', DEV, 'data', 'show', 'epc_retrofit')).doc.version as string;
  await config('strict.json', (raw) => {
    raw.dataset.version = later;
    raw.promotion.max_rmse = 0.001;
  });
  const r = await mltk('--store', DEV, 'run', '--config', 'strict.json', '--alias', 'dev');
  assert.equal(r.code, 11, r.stderr);
  assert.equal(r.doc.error.context.version, 2);
  const dev = await mltk('--store', DEV, 'models', 'show', 'sap_change@dev');
  assert.equal(dev.doc.version, 1);
});

test('an unchanged rerun registers nothing: the same version is reported unchanged', { skip }, async () => {
  const before = await list(DEV);
  const r = await mltk('--store', DEV, 'run', '--config', 'sap_change.json', '--alias', 'dev');
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual([r.doc.version, r.doc.unchanged, r.doc.promoted], [1, true, false]);
  const added = (await list(DEV)).filter((k) => !before.includes(k));
  assert.deepEqual(
    added.map((k) => k.replace(/runs\/.*\.json$/, 'runs/ID.json')),
    ['runs/ID.json'],
    'only the run record',
  );
});

test('copy dev → prod, promote prod, serve from the prod store: /health answers the copied sha256', {
  skip,
}, async () => {
  assert.deepEqual(await list(PROD), []);
  const dev = (await mltk('--store', DEV, 'models', 'show', 'sap_change@dev')).doc;
  const r = await mltk('models', 'copy', 'sap_change@dev', '--from', DEV, '--to', PROD, '--require-pinned');
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual([r.doc.version, r.doc.created, r.doc.sha256], [1, true, dev.artifact.sha256]);
  assert.deepEqual(
    (await list(PROD)).sort(),
    [
      art(dev.artifact.sha256),
      art(dev.baseline.sha256),
      `datasets/epc_retrofit/versions/${pin}.json`,
      'models/sap_change/versions/1.json',
      `runs/${dev.run_id}.json`,
    ].sort(),
    'the training data bytes only with --with-data',
  );
  const copied = (await mltk('--store', PROD, 'models', 'show', 'sap_change@1')).doc;
  assert.deepEqual(
    { ...copied.source, copied_at: undefined },
    { store: DEV, name: 'sap_change', version: 1, artifact_sha256: dev.artifact.sha256, copied_at: undefined },
  );
  assert.deepEqual(copied.dataset, dev.dataset);
  const promoted = await mltk(
    '--store',
    PROD,
    'models',
    'promote',
    'sap_change',
    '1',
    '--alias',
    'prod',
    '--require-pinned',
  );
  assert.equal(promoted.code, 0, promoted.stderr);

  const serving = await startMltk(['--store', PROD, 'serve', '--model', 'sap_change@prod', '--port', '0'], {
    cwd: dir,
    env,
  });
  try {
    const health = (await (await fetch(`${serving.doc.url as string}/sap_change/health`)).json()) as any;
    assert.deepEqual(
      [health.model.name, health.model.version, health.model.sha256],
      ['sap_change', 1, dev.artifact.sha256],
    );
    assert.deepEqual(health.model.dataset, { name: 'epc_retrofit', version: pin, pinned: true, synthetic: false });
    const check = await promisify(execFile)('bash', [
      join(REPO_ROOT, 'deployment/health-check.sh'),
      `${serving.doc.url as string}/sap_change/health`,
      'sap_change',
      '--version',
      '1',
      '--sha256',
      dev.artifact.sha256,
      '--attempts',
      '1',
    ]);
    assert.match(check.stdout, /healthy/);
  } finally {
    await serving.stop();
  }
});

test('copying the same artifact again reuses the prod version and writes nothing', { skip }, async () => {
  const before = await list(PROD);
  const r = await mltk('models', 'copy', 'sap_change@1', '--from', DEV, '--to', PROD);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual([r.doc.version, r.doc.created, r.doc.written], [1, false, []]);
  assert.deepEqual(await list(PROD), before);
  const again = await mltk('--store', PROD, 'models', 'promote', 'sap_change', '1', '--alias', 'prod');
  assert.equal(again.doc.moved, false);
});

test('a corrupted or missing source blob stops the copy naming its key; the prod store is unchanged', {
  skip,
}, async () => {
  const before = await list(PROD);
  const v2 = (await mltk('--store', DEV, 'models', 'show', 'sap_change@2')).doc;
  const dev = openStore(DEV);
  const baseline = await dev.get(art(v2.baseline.sha256));
  baseline[10] = baseline[10] === 0x20 ? 0x21 : 0x20; // same size, other bytes
  await dev.put(art(v2.baseline.sha256), baseline);
  const corrupt = await mltk('models', 'copy', 'sap_change@2', '--from', DEV, '--to', PROD, '--with-data');
  assert.equal(corrupt.code, 7, corrupt.stderr);
  assert.match(
    corrupt.doc.error.message,
    new RegExp(`^s3://mltk-dev-models/${art(v2.baseline.sha256)}: the source artifact is corrupt .*nothing was copied`),
  );
  await dev.delete(art(v2.artifact.sha256));
  const missing = await mltk('models', 'copy', 'sap_change@2', '--from', DEV, '--to', PROD);
  assert.equal(missing.code, 5, missing.stderr);
  assert.match(
    missing.doc.error.message,
    new RegExp(`^s3://mltk-dev-models/${art(v2.artifact.sha256)}: the source artifact is missing`),
  );
  assert.deepEqual(await list(PROD), before);
});

test('prod refuses synthetic or unpinned lineage, writing nothing', { skip }, async () => {
  const synthStore = `${DEV}/synthetic`;
  await config('unpinned.json', (raw) => {
    raw.dataset.allow_synthetic = true;
  });
  const synth = await mltk('--store', synthStore, 'run', '--config', 'unpinned.json', '--alias', 'dev');
  assert.equal(synth.code, 0, synth.stderr);
  assert.equal(synth.doc.dataset.synthetic, true);
  const before = await list(PROD);
  const refused = await mltk(
    'models',
    'copy',
    'sap_change@dev',
    '--from',
    synthStore,
    '--to',
    PROD,
    '--require-pinned',
  );
  assert.equal(refused.code, 4);
  assert.match(
    refused.doc.error.message,
    /^refused: sap_change@1 in s3:\/\/mltk-dev-models\/synthetic was trained on synthetic rows \(epc_retrofit@[0-9a-f]{12}\); pin a real dataset version/,
  );
  const promote = await mltk(
    '--store',
    synthStore,
    'models',
    'promote',
    'sap_change',
    '1',
    '--alias',
    'prod',
    '--require-pinned',
  );
  assert.equal(promote.code, 4);
  assert.match(promote.doc.error.message, /trained on synthetic rows/);

  const realStore = `${DEV}/unpinned`;
  assert.equal(
    (await mltk('--store', realStore, 'data', 'add', `${DATA}/${CSV_KEY}`, '--dataset', 'epc_retrofit')).code,
    0,
  );
  const unpinned = await mltk('--store', realStore, 'run', '--config', 'unpinned.json', '--alias', 'dev');
  assert.deepEqual([unpinned.code, unpinned.doc.dataset.pinned, unpinned.doc.dataset.synthetic], [0, false, false]);
  const refused2 = await mltk(
    'models',
    'copy',
    'sap_change@dev',
    '--from',
    realStore,
    '--to',
    PROD,
    '--require-pinned',
  );
  assert.equal(refused2.code, 4);
  assert.match(
    refused2.doc.error.message,
    new RegExp(`was trained on epc_retrofit@${pin.slice(0, 12)}, which its config did not pin`),
  );
  assert.deepEqual(await list(PROD), before);
});

test('copies work between a folder and S3 both ways, with the training data on request', { skip }, async () => {
  const laptop = join(dir, 'laptop');
  const down = await mltk('models', 'copy', 'sap_change@prod', '--from', PROD, '--to', laptop);
  assert.equal(down.code, 0, down.stderr);
  assert.deepEqual([down.doc.version, down.doc.created], [1, true]);
  // Prod never received the data bytes: asking for them there fails before anything is written.
  const noData = await mltk(
    'models',
    'copy',
    'sap_change@prod',
    '--from',
    PROD,
    '--to',
    join(dir, 'laptop2'),
    '--with-data',
  );
  assert.equal(noData.code, 5);
  assert.match(
    noData.doc.error.message,
    new RegExp(`^s3://mltk-prod-models/${blobKey(pin)}: the source blob is missing; nothing was copied`),
  );
  assert.deepEqual(await list(join(dir, 'laptop2')), []);

  const withData = join(dir, 'laptop3');
  assert.equal(
    (await mltk('models', 'copy', 'sap_change@dev', '--from', DEV, '--to', withData, '--with-data')).code,
    0,
  );
  const got = await mltk('--store', withData, 'data', 'get', `epc_retrofit@${pin}`, '--output', 'train.csv');
  assert.equal(got.code, 0, got.stderr);
  assert.ok((await readFile(join(dir, 'train.csv'))).equals(csv));
  const up = await mltk('models', 'copy', 'sap_change@1', '--from', withData, '--to', `${PROD}/mirror`, '--with-data');
  assert.equal(up.code, 0, up.stderr);
  assert.deepEqual([up.doc.created, up.doc.sha256], [true, down.doc.sha256]);
  assert.ok((await list(`${PROD}/mirror`)).includes(blobKey(pin)));
  const mirrored = (await mltk('--store', `${PROD}/mirror`, 'models', 'show', 'sap_change@1')).doc;
  assert.equal(mirrored.source.store, withData);
});

test('data add s3://… killed after its upload, before the move: the next add replaces and moves the staged object', {
  skip,
}, async () => {
  const store = `${DEV}/crash-add`;
  await killMltkAt(
    { backend: 'S3Store', method: 'move', key: /^tmp\/uploads\// },
    ['--store', store, 'data', 'add', `${DATA}/${CSV_KEY}`, '--dataset', 'epc_retrofit'],
    { cwd: dir, env },
  );
  const left = await list(store);
  assert.equal(left.length, 1);
  assert.match(left[0]!, /^tmp\/uploads\/add-[0-9a-f]{40}$/, 'only the staged upload: no blob, no manifest');
  const r = await mltk('--store', store, 'data', 'add', `${DATA}/${CSV_KEY}`, '--dataset', 'epc_retrofit');
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual([r.doc.version, r.doc.created], [pin, true]);
  assert.deepEqual(await list(store), [blobKey(pin), `datasets/epc_retrofit/versions/${pin}.json`]);
});

test('models copy killed before registering: the next copy registers exactly one version', { skip }, async () => {
  const target = `${PROD}/crash-copy`;
  await killMltkAt(
    { backend: 'S3Store', method: 'putIfAbsent', key: /^models\/sap_change\/versions\// },
    ['models', 'copy', 'sap_change@dev', '--from', DEV, '--to', target],
    { cwd: dir, env },
  );
  const left = await list(target);
  assert.ok(left.some((k) => k.startsWith('runs/')) && left.some((k) => k.startsWith('datasets/')));
  assert.ok(
    left.some((k) => k.startsWith('models/sap_change/artifacts/')),
    'the artifacts are there',
  );
  assert.ok(!left.some((k) => k.startsWith('models/sap_change/versions/')), 'no version manifest');
  const first = await mltk('models', 'copy', 'sap_change@dev', '--from', DEV, '--to', target);
  assert.deepEqual([first.code, first.doc.version, first.doc.created], [0, 1, true]);
  assert.deepEqual(
    first.doc.written,
    ['models/sap_change/versions/1.json'],
    'the blobs and lineage were already there',
  );
  const second = await mltk('models', 'copy', 'sap_change@dev', '--from', DEV, '--to', target);
  assert.deepEqual([second.doc.version, second.doc.created], [1, false]);
  assert.deepEqual(
    (await list(target)).filter((k) => k.startsWith('models/sap_change/versions/')),
    ['models/sap_change/versions/1.json'],
  );
});
