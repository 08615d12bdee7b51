// The deploy's last step, deployment/health-check.sh, run against the real `mltk serve` (the same
// handler as the Lambda): the right model passes; a wrong name, version or sha256 fails; no model
// (503) fails; and it follows an alias move within its retries.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { moveAlias, type ModelVersion } from '../pipeline/registry/index.ts';
import { registerOnnx, storeWithModel, tempStore, trainFixture, type TempStore } from '../pipeline/predict/testdata.ts';
import { REPO_ROOT, startMltk, type RunningMltk } from '../pipeline/testing/cli.ts';

const run = promisify(execFile);
const SCRIPT = join(REPO_ROOT, 'deployment', 'health-check.sh');

let store: TempStore & { mv: ModelVersion };
let v2: ModelVersion;
let serving: RunningMltk;
let url: string;

async function check(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('bash', [SCRIPT, ...args]);
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

before(async () => {
  const [a, b] = await Promise.all([
    trainFixture({ trees: 5, rows: 600 }),
    trainFixture({ trees: 6, rows: 600, seed: 9 }),
  ]);
  store = await storeWithModel(a);
  v2 = await registerOnnx(store.store, b.config, b.trained.onnx);
  // --alias-ttl 0: every request re-reads the alias, so a promotion shows on the next check.
  serving = await startMltk([
    'serve',
    '--store',
    store.dir,
    '--model',
    'sap_change@prod',
    '--port',
    '0',
    '--alias-ttl',
    '0',
  ]);
  url = `${serving.doc.url as string}/sap_change/health`;
});
after(async () => {
  await serving?.stop();
  await store?.cleanup();
});

test('the served model passes on its name, version and sha256', async () => {
  assert.deepEqual(serving.doc.model, { name: 'sap_change', version: 1, alias: 'prod' });
  const ok = await check(
    url,
    'sap_change',
    '--version',
    '1',
    '--sha256',
    store.mv.artifact.sha256,
    '--attempts',
    '1',
    '--delay',
    '0',
  );
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, new RegExp(`healthy: .* serves sap_change v1 sha256:${store.mv.artifact.sha256}`));
  const nameOnly = await check(url, 'sap_change', '--version', '', '--sha256', '', '--attempts', '1');
  assert.equal(nameOnly.code, 0);
  assert.match(nameOnly.stdout, /version not checked.*\n.*sha256 not checked/);
});

test('a wrong name, version or sha256 fails, saying what is served', async () => {
  const cases = [
    ['heat_change', '--version', '1'],
    ['sap_change', '--version', '2'],
    ['sap_change', '--sha256', v2.artifact.sha256],
  ];
  for (const args of cases) {
    const r = await check(url, ...args, '--attempts', '2', '--delay', '0');
    assert.equal(r.code, 1, args.join(' '));
    assert.match(r.stdout, new RegExp(`attempt 2/2: HTTP 200 serves sap_change v1 sha256:${store.mv.artifact.sha256}`));
    assert.match(r.stderr, new RegExp(`did not answer 200 with ${args[0]}.* after 2 attempts`));
  }
});

test('after a promotion the check passes on the new version (the service follows the alias)', async () => {
  await moveAlias(store.store, 'sap_change', 'prod', v2.version);
  const ok = await check(
    url,
    'sap_change',
    '--version',
    '2',
    '--sha256',
    v2.artifact.sha256,
    '--attempts',
    '5',
    '--delay',
    '1',
  );
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  await moveAlias(store.store, 'sap_change', 'prod', 1);
});

test('no model (503) fails after the retries', async () => {
  const empty = await tempStore('mltk-health-');
  const idle = await startMltk([
    'serve',
    '--store',
    empty.dir,
    '--model',
    'sap_change@prod',
    '--port',
    '0',
    '--wait-for-model',
  ]);
  try {
    assert.equal(idle.doc.model, null);
    const r = await check(
      `${idle.doc.url as string}/sap_change/health`,
      'sap_change',
      '--attempts',
      '2',
      '--delay',
      '0',
    );
    assert.equal(r.code, 1);
    assert.match(r.stdout, /attempt 1\/2: HTTP 503 .*MODEL_UNAVAILABLE/);
    assert.match(r.stderr, /did not answer 200 with sap_change after 2 attempts/);
  } finally {
    await idle.stop();
    await empty.cleanup();
  }
});

test('bad arguments are refused before any request', async () => {
  const r = await check('http://127.0.0.1:9/health', 'sap_change', '--sha256', 'abc');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--sha256 "abc" is not a sha256/);
  const u = await check('http://127.0.0.1:9/health', 'sap_change', '--colour', 'red');
  assert.equal(u.code, 2);
  assert.match(u.stderr, /unknown argument "--colour"/);
});
