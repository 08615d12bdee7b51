// `mltk predict` and `mltk serve` as a user runs them: separate processes, real files, a real port.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MLTK_BIN, REPO_ROOT as ROOT, runMltk } from '../testing/cli.ts';
import { cliTarget, freshBuild } from '../cli/build.js';
import { proofKey } from './index.ts';
import { instanceOf, storeWithModel, trainFixture, type Fixture } from './testdata.ts';

let fx: Fixture;
let env: Awaited<ReturnType<typeof storeWithModel>>;

before(async () => {
  fx = await trainFixture();
  env = await storeWithModel(fx);
});
after(() => env.cleanup());

function mltk(...args: string[]) {
  return runMltk(['--store', env.dir, ...args]);
}

test(
  'mltk predict --json scores a local file into predictions and errors files and reports counts and ' + 'timings',
  async () => {
    const lines = fx.csv.toString().trimEnd().split('\n');
    lines[5] = lines[5]!.replace(/,(House|Bungalow|Flat|Maisonette),/, ',Castle,');
    const input = join(env.dir, 'in.csv');
    await writeFile(input, `${lines.join('\n')}\n`);
    const output = join(env.dir, 'out.csv');
    const res = await mltk('predict', '--model', 'sap_change@prod', '--input', input, '--output', output, '--json');
    assert.equal(res.code, 0, res.stderr);
    const doc = JSON.parse(res.stdout);
    assert.deepEqual({ rows: doc.rows, scored: doc.scored, errors: doc.errors }, { rows: 500, scored: 499, errors: 1 });
    assert.deepEqual(doc.model, { name: 'sap_change', version: 1, sha256: env.mv.artifact.sha256 });
    assert.equal(doc.output, output);
    assert.equal(doc.errors_output, join(env.dir, 'out.errors.csv'));
    for (const k of ['parse_s', 'score_s', 'write_s']) assert.equal(typeof doc.timings[k], 'number');
    assert.equal((await readFile(output, 'utf8')).trimEnd().split('\n').length, 500);
    assert.match(await readFile(doc.errors_output, 'utf8'), /^5,property_type,/m);
    assert.equal(doc.scorer, 'fast', 'the trained model is proven at load and scored by the fast evaluator');
    assert.equal(doc.fast_path.used, true);

    // The same file on ONNX Runtime alone: the same rows scored, the predictions within the proof's tolerance.
    const viaOrt = join(env.dir, 'out-ort.csv');
    const ort = await mltk(
      'predict',
      '--model',
      'sap_change@prod',
      '--input',
      input,
      '--output',
      viaOrt,
      '--scorer',
      'onnxruntime',
      '--json',
    );
    assert.equal(ort.code, 0, ort.stderr);
    assert.equal(JSON.parse(ort.stdout).scorer, 'onnxruntime');
    assert.doesNotMatch(ort.stderr, /warning/, 'a scorer the user chose is no warning');
    const column = async (file: string) =>
      (await readFile(file, 'utf8'))
        .trimEnd()
        .split('\n')
        .slice(1)
        .map((l) => Number(l.split(',')[1]));
    const [fast, reference] = [await column(output), await column(viaOrt)];
    assert.equal(fast.length, reference.length);
    for (const [i, v] of fast.entries())
      assert.ok(
        Math.abs(v - reference[i]!) <= Math.max(1e-5 * Math.abs(reference[i]!), 1e-6),
        `row ${i}: ${v} vs ${reference[i]}`,
      );
    const bad = await mltk(
      'predict',
      '--model',
      'sap_change@prod',
      '--input',
      input,
      '--output',
      viaOrt,
      '--scorer',
      'turbo',
    );
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--scorer expects auto or onnxruntime, got "turbo"/);
  },
);

test('mltk predict refuses an unknown model and a missing input with one line and a non-zero exit', async () => {
  const missing = await mltk(
    'predict',
    '--model',
    'sap_change@nope',
    '--input',
    join(env.dir, 'in.csv'),
    '--output',
    join(env.dir, 'x.csv'),
  );
  assert.equal(missing.code, 5);
  assert.match(missing.stderr, /^mltk: model sap_change has no alias "nope"/);
  const noInput = await mltk(
    'predict',
    '--model',
    'sap_change@prod',
    '--input',
    join(env.dir, 'absent.csv'),
    '--output',
    join(env.dir, 'x.csv'),
  );
  assert.equal(noInput.code, 5);
  assert.match(noInput.stderr, /input file ".*absent\.csv" does not exist/);
});

test('mltk serve answers real HTTP requests on 127.0.0.1 through the Lambda handler', async () => {
  const child = spawn(
    process.execPath,
    [MLTK_BIN, '--store', env.dir, 'serve', '--model', 'sap_change@prod', '--port', '0', '--json'],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  try {
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += String(d);
    });
    const ready = await new Promise<{ url: string; model: { version: number } }>((resolve, reject) => {
      child.stdout.on('data', (d) => {
        stdout += String(d);
        try {
          resolve(JSON.parse(stdout));
        } catch {
          /* not the whole document yet */
        }
      });
      child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
    });
    assert.match(ready.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(ready.model.version, 1);
    const res = await fetch(`${ready.url}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instances: [instanceOf(fx.config, fx.table, 0)] }),
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { predictions: number[]; model: { version: number } };
    const expected = await fx.trained.predict(fx.table);
    assert.ok(Math.abs(body.predictions[0]! - expected[0]!) < 1e-4);
    assert.ok(res.headers.get('x-request-id'));
    const health = await fetch(`${ready.url}/sap_change/health`);
    assert.equal(health.status, 200);
    const wrong = await fetch(`${ready.url}/predict`);
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('allow'), 'POST');
    assert.match(stderr, /"msg":"request"/);
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
});

test(
  'mltk predict killed (kill -9) while writing leaves temps beside its outputs; the next predict of the same ' +
    'outputs removes them',
  async () => {
    const [header, ...rows] = fx.csv.toString().trimEnd().split('\n');
    const body = `${rows.join('\n')}\n`;
    const input = join(env.dir, 'large.csv');
    await writeFile(input, `${header}\n${body.repeat(800)}`);
    const output = join(env.dir, 'killed.csv');
    const ours = async () => (await readdir(env.dir)).filter((n) => /^killed(\.errors)?\.csv/.test(n)).sort();
    const child = spawn(
      process.execPath,
      [MLTK_BIN, '--store', env.dir, 'predict', '--model', 'sap_change@prod', '--input', input, '--output', output],
      { cwd: ROOT, stdio: 'ignore' },
    );
    const exited = new Promise((r) => child.once('exit', r));
    let done = false;
    void exited.then(() => {
      done = true;
    });
    while (!(await ours()).some((n) => n.includes('.tmp-'))) {
      assert.ok(!done, 'predict ended before it was seen writing');
      await new Promise((r) => setTimeout(r, 2));
    }
    child.kill('SIGKILL');
    await exited;
    const left = await ours();
    assert.ok(left.length > 0 && left.every((n) => n.includes('.tmp-')), `left behind: ${left.join(', ')}`);

    const again = await mltk('predict', '--model', 'sap_change@prod', '--input', input, '--output', output, '--json');
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(await ours(), ['killed.csv', 'killed.errors.csv']);
    assert.equal(JSON.parse(again.stdout).rows, rows.length * 800);
  },
);

test(
  'mltk predict keeps its proof of the fast path inside its CLI build; a later run reads it and writes the same ' +
    'bytes, MLTK_PROOF_CACHE=0 proves afresh',
  async () => {
    const input = join(env.dir, 'kept.csv');
    await writeFile(input, fx.csv);
    const run = async (output: string, extraEnv: NodeJS.ProcessEnv = {}) => {
      const res = await runMltk(
        ['--store', env.dir, '--json', 'predict', '--model', 'sap_change@prod', '--input', input, '--output', output],
        { env: { ...process.env, ...extraEnv } },
      );
      assert.equal(res.code, 0, res.stderr);
      const doc = JSON.parse(res.stdout);
      assert.equal(doc.scorer, 'fast');
      return { kept: doc.fast_path.kept as boolean, bytes: await readFile(output, 'utf8') };
    };
    const proved = await run(join(env.dir, 'kept-0.csv'), { MLTK_PROOF_CACHE: '0' });
    assert.equal(proved.kept, false);
    await run(join(env.dir, 'kept-1.csv')); // proves, or reads a proof an earlier run of this fixture kept
    const read = await run(join(env.dir, 'kept-2.csv'));
    assert.equal(read.kept, true);
    assert.equal(read.bytes, proved.bytes);

    const build = freshBuild(cliTarget());
    assert.ok(build, 'the CLI ran from its build');
    const key = proofKey({
      model: env.mv.artifact.sha256,
      baseline: env.mv.baseline?.sha256 ?? null,
      signature: env.mv.signature,
      output: 'prediction',
    });
    assert.ok((await readdir(join(build.dir, 'proofs'))).includes(key), `no proof ${key} in ${build.dir}/proofs`);
  },
);
