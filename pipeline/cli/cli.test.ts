// The CLI contract other tools drive: exactly one JSON document on stdout with --json,
// a one-line reason on stderr and a non-zero exit on failure, nothing changed by a bad call.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runMltk } from '../testing/cli.ts';
import { motoUnavailable, startMoto } from '../testing/moto.ts';

function mltk(cwd: string, ...args: string[]) {
  return runMltk(args, { cwd, env: { ...process.env, MLTK_STORE: join(cwd, 'store') } });
}

test('data synth → data add → train → models promote → runs compare, all with --json', async () => {
  const cwd = await mkdtemp(join(tmpdir(), 'mltk-cli-'));
  const synth = await mltk(cwd, 'data', 'synth', '--rows', '800', '--seed', '5', '--output', 'd.csv', '--json');
  assert.equal(synth.code, 0, synth.stderr);
  assert.equal(JSON.parse(synth.stdout).rows, 800);
  const add = await mltk(cwd, 'data', 'add', 'd.csv', '--dataset', 'epc', '--json');
  const added = JSON.parse(add.stdout);
  assert.equal(added.dataset, 'epc');
  assert.match(added.version, /^[0-9a-f]{64}$/);
  assert.equal(added.rows, 800);
  assert.match(add.stderr, /hashing/); // progress goes to stderr in --json mode
  const config = resolve('configs/carbon_change.json');
  const trained = await mltk(cwd, 'train', '--config', config, '--data', `epc@${added.version.slice(0, 10)}`, '--json');
  assert.equal(trained.code, 0, trained.stderr);
  const t = JSON.parse(trained.stdout);
  assert.deepEqual(Object.keys(t).slice(0, 5), ['run_id', 'model', 'version', 'promoted', 'alias']);
  assert.equal(t.model, 'carbon_change');
  assert.equal(t.version, 1);
  assert.equal(t.promoted, false);
  for (const k of ['rmse', 'mae', 'r2']) assert.equal(typeof t.metrics[k], 'number');
  const promoted = await mltk(cwd, 'models', 'promote', 'carbon_change', '1', '--alias', 'prod', '--json');
  assert.equal(JSON.parse(promoted.stdout).version, 1);
  const shown = JSON.parse((await mltk(cwd, 'models', 'show', 'carbon_change@prod', '--json')).stdout);
  assert.equal(shown.artifact.format, 'onnx');
  const cmp = JSON.parse((await mltk(cwd, 'runs', 'compare', t.run_id, t.run_id, '--json')).stdout);
  assert.deepEqual(cmp.runs, [t.run_id, t.run_id]);
});

test('failures: one stderr line, non-zero exit, a JSON error document, and nothing stored', async () => {
  const cwd = await mkdtemp(join(tmpdir(), 'mltk-cli-'));
  const cases: [string[], RegExp, number][] = [
    [['data', 'add', 'nope.csv', '--dataset', 'epc', '--json'], /data file "nope\.csv" does not exist$/, 5],
    [['--store', 'gs://bucket', 'data', 'list', '--json'], /unknown store scheme "gs:\/\/"/, 8],
    [['--store', 'file://', 'data', 'list', '--json'], /"file:\/\/" has no path/, 8],
    [['models', 'promote', 'sap_change', '3', '--alias', 'prod', '--json'], /model sap_change has no version 3/, 5],
    [['train', '--config', 'configs/none.json', '--json'], /model config "configs\/none\.json" does not exist$/, 5],
  ];
  for (const [args, message, code] of cases) {
    const r = await mltk(cwd, ...args);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    const lines = r.stderr
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('mltk:'));
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, message);
    assert.match(JSON.parse(r.stdout).error.message, message);
  }
  await assert.rejects(readdir(join(cwd, 'store')), /ENOENT/);
});

test('`npx mltk --help` prints no npm warning: the project sets only configs npm knows', async () => {
  const { execFile } = await import('node:child_process');
  const { stderr } = await new Promise<{ stderr: string }>((res, rej) => {
    execFile('npx', ['--no-install', 'mltk', '--help'], { cwd: resolve('.') }, (e, _out, err) =>
      e ? rej(e) : res({ stderr: err }),
    );
  });
  assert.equal(stderr, '');
});

test('a command against S3 prints nothing the user did not cause (no AWS SDK Node-version warning)', {
  skip: motoUnavailable(),
}, async () => {
  const moto = await startMoto();
  try {
    const env = { ...process.env, ...moto.env };
    delete env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED;
    const { S3Client, CreateBucketCommand } = await import('@aws-sdk/client-s3');
    const s3 = new S3Client({
      endpoint: moto.endpoint,
      region: 'eu-west-2',
      forcePathStyle: true,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
    await s3.send(
      new CreateBucketCommand({ Bucket: 'quiet', CreateBucketConfiguration: { LocationConstraint: 'eu-west-2' } }),
    );
    s3.destroy();
    const r = await runMltk(['--store', 's3://quiet', '--json', 'models', 'list'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { models: [] });
    assert.equal(r.stderr, '');
  } finally {
    await moto.stop();
  }
});

test("installs never download ONNX Runtime's CUDA files: its install script is denied in allowScripts", async () => {
  const { readFile } = await import('node:fs/promises');
  const pkg = JSON.parse(await readFile('package.json', 'utf8'));
  assert.equal(pkg.allowScripts?.['onnxruntime-node'], false);
  // npm 10 (the GitHub runners' Node 22) ignores allowScripts: the workflows set ORT's own switch instead.
  for (const wf of ['.github/workflows/ci.yml', '.github/workflows/deploy.yml']) {
    assert.match(await readFile(wf, 'utf8'), /ONNXRUNTIME_NODE_INSTALL: skip/, wf);
  }
});

test(
  'data add --pin → run --alias dev: steps on stderr, job summary and step outputs; a failed gate exits ' + '11',
  async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'mltk-cli-'));
    const raw = JSON.parse(await readFile(resolve('configs/carbon_change.json'), 'utf8'));
    raw.trainer.params.trees = 10;
    await writeFile(join(cwd, 'cfg.json'), `${JSON.stringify(raw, null, 2)}\n`);
    const [summaryFile, outputFile] = [join(cwd, 'summary.md'), join(cwd, 'output')];
    const gh = { GITHUB_STEP_SUMMARY: summaryFile, GITHUB_OUTPUT: outputFile };
    const env = { ...process.env, MLTK_STORE: join(cwd, 'store'), ...gh };
    assert.equal((await mltk(cwd, 'data', 'synth', '--rows', '700', '--seed', '3', '--output', 'd.csv')).code, 0);
    const add = await runMltk(['data', 'add', 'd.csv', '--dataset', 'epc_retrofit', '--pin', 'cfg.json', '--json'], {
      cwd,
      env,
    });
    assert.equal(add.code, 0, add.stderr);
    const added = JSON.parse(add.stdout);
    assert.deepEqual(added.pinned, { config: 'cfg.json', previous: null, changed: true });
    assert.equal(JSON.parse(await readFile(join(cwd, 'cfg.json'), 'utf8')).dataset.version, added.version);

    const ran = await runMltk(['run', '--config', 'cfg.json', '--alias', 'dev', '--json'], { cwd, env });
    assert.equal(ran.code, 0, ran.stderr);
    const doc = JSON.parse(ran.stdout);
    assert.deepEqual(
      [doc.version, doc.promoted, doc.alias, doc.unchanged, doc.gate.passed],
      [1, true, 'dev', false, true],
    );
    assert.deepEqual([doc.dataset.version, doc.dataset.pinned, doc.dataset.synthetic], [added.version, true, false]);
    assert.deepEqual(
      ran.stderr
        .split('\n')
        .filter((l) => /^\[\d\/5\]/.test(l))
        .map((l) => l.split(' ')[1]),
      ['data:', 'train:', 'evaluate:', 'register:', 'gate'],
    );
    const summary = await readFile(summaryFile, 'utf8');
    assert.match(summary, /^### mltk run: carbon_change@1 ✅ promoted to @dev/);
    assert.match(
      summary,
      new RegExp(`\\| data \\| \`epc_retrofit@${added.version}\` \\(700 rows; pinned, real data\\) \\|`),
    );
    assert.match(summary, /\| rmse \| [\d.]+ \| — \| {2}\|/);
    assert.match(summary, /\| rmse sap_band [A-G] \(\d+ rows\) \|/);
    const outputs = Object.fromEntries(
      (await readFile(outputFile, 'utf8'))
        .trim()
        .split('\n')
        .map((l) => l.split('=', 2)),
    );
    assert.deepEqual(
      [outputs.version, outputs.alias, outputs.alias_version, outputs.alias_sha256],
      ['1', 'dev', '1', doc.artifact.sha256],
    );

    raw.dataset.version = added.version;
    raw.promotion.max_rmse = 0.0001;
    await writeFile(join(cwd, 'cfg.json'), JSON.stringify(raw));
    const gated = await runMltk(['run', '--config', 'cfg.json', '--alias', 'dev', '--json'], { cwd, env });
    assert.equal(gated.code, 11, gated.stderr);
    const err = JSON.parse(gated.stdout).error;
    assert.equal(err.code, 'GATE_FAILED');
    assert.match(
      err.message,
      /^carbon_change@1 \(run \S+\) is registered but not promoted to @dev: rmse [\d.]+ exceeds promotion\.max_rmse 0\.0001$/,
    );
    assert.deepEqual(
      [err.context.version, err.context.unchanged, err.details[0].field],
      [1, true, 'promotion.max_rmse'],
    );
    assert.match(
      await readFile(summaryFile, 'utf8'),
      /### mltk run: carbon_change@1 ❌ gate failed — registered, not promoted to @dev/,
    );
    const bad = await runMltk(['run', '--config', 'cfg.json', '--alias', '9bad', '--json'], { cwd, env });
    assert.equal(bad.code, 4);
    assert.match(JSON.parse(bad.stdout).error.message, /invalid alias "9bad"/);
  },
);

test('mltk train proves the version it registers and keeps it; its first predict reads it', async () => {
  const cwd = await mkdtemp(join(tmpdir(), 'mltk-cli-'));
  const raw = JSON.parse(await readFile(resolve('configs/carbon_change.json'), 'utf8'));
  raw.trainer.params.trees = 8;
  await writeFile(join(cwd, 'cfg.json'), JSON.stringify(raw));
  // Rows of a seed of this run: a model no earlier run of this test trained, so no earlier proof of it is kept.
  const seed = String(Date.now() % 1_000_000_007);
  assert.equal((await mltk(cwd, 'data', 'synth', '--rows', '600', '--seed', seed, '--output', 'd.csv')).code, 0);
  const trained = await mltk(cwd, 'train', '--config', 'cfg.json', '--data-file', 'd.csv', '--json');
  assert.equal(trained.code, 0, trained.stderr);
  const version = JSON.parse(trained.stdout).version as number;
  const proofOff = { env: { ...process.env, MLTK_STORE: join(cwd, 'store'), MLTK_PROOF_CACHE: '0' }, cwd };
  const predict = ['predict', '--model', `carbon_change@${version}`, '--input', 'd.csv', '--output', 'p.csv', '--json'];
  const proved = await runMltk(predict, proofOff);
  assert.equal(proved.code, 0, proved.stderr);
  assert.deepEqual([JSON.parse(proved.stdout).scorer, JSON.parse(proved.stdout).fast_path.kept], ['fast', false]);
  const first = await mltk(cwd, ...predict);
  assert.equal(first.code, 0, first.stderr);
  const doc = JSON.parse(first.stdout);
  assert.deepEqual([doc.scorer, doc.fast_path.kept], ['fast', true]);
  assert.equal(doc.fast_path.probe_rows, JSON.parse(proved.stdout).fast_path.probe_rows);
});
