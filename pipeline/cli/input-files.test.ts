// Every command that reads a file a person names reports a missing file, a directory and an unreadable
// file the same way: the same words, exit code and JSON error document, nothing stored or written,
// and `monitor --publish` counts the failure (MonitorFailures). Run as the real `mltk` process.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, copyFile, mkdir, mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { ListMetricsCommand } from '@aws-sdk/client-cloudwatch';
import { metricsClient } from '../monitor/index.ts';
import { permissionsEnforcedPrefix, runMltk } from '../testing/cli.ts';
import { motoUnavailable, startMoto, useMotoEnv } from '../testing/moto.ts';

let cwd: string;
const env = () => ({ ...process.env, MLTK_STORE: join(cwd, 'store') });
const mltk = (args: string[], enforcePermissions = false) => runMltk(args, { cwd, env: env(), enforcePermissions });

/** Every file under `dir`, as paths relative to it. */
async function tree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

before(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'mltk-input-files-'));
  assert.equal((await mltk(['data', 'synth', '--rows', '800', '--seed', '4', '--output', 'd.csv'])).code, 0);
  const trained = await mltk(['train', '--config', resolve('configs/sap_change.json'), '--data-file', 'd.csv']);
  assert.equal(trained.code, 0, trained.stderr);
  const scored = await mltk(['predict', '--model', 'sap_change@1', '--input', 'd.csv', '--output', 'p.csv']);
  assert.equal(scored.code, 0, scored.stderr);
  await mkdir(join(cwd, 'folder.csv'));
  await copyFile(join(cwd, 'd.csv'), join(cwd, 'locked.csv'));
  await chmod(join(cwd, 'locked.csv'), 0o000);
});

const config = resolve('configs/sap_change.json');
/** Each command with FILE where the file under test goes, and what it calls that file. */
const commands: [string[], string][] = [
  [['predict', '--model', 'sap_change@1', '--input', 'FILE', '--output', 'out.csv'], 'input file'],
  [['predict', '--model', 'sap_change@1', '--input', 'FILE', '--output', 'out.csv', '--shards', '2'], 'input file'],
  [['monitor', '--model', 'sap_change@1', '--input', 'FILE', '--report', 'r.html'], 'input file'],
  [['monitor', '--model', 'sap_change@1', '--input', 'd.csv', '--baseline', 'FILE'], 'baseline file'],
  [['quality', '--model', 'sap_change@1', '--predictions', 'FILE', '--labels', 'd.csv'], 'predictions file'],
  [['quality', '--model', 'sap_change@1', '--predictions', 'p.csv', '--labels', 'FILE'], 'labels file'],
  [['data', 'add', 'FILE', '--dataset', 'epc'], 'data file'],
  [['data', 'add', 'd.csv', '--dataset', 'epc_retrofit', '--pin', 'FILE'], 'model config'],
  [['train', '--config', 'FILE'], 'model config'],
  [['train', '--config', config, '--data-file', 'FILE'], 'data file'],
  [['run', '--config', config, '--data-file', 'FILE'], 'data file'],
];

const kinds: { file: string; says: string; code: number; error: string; enforce?: boolean }[] = [
  { file: 'nope.csv', says: 'does not exist', code: 5, error: 'NOT_FOUND' },
  { file: 'folder.csv', says: 'is a directory, not a file', code: 4, error: 'INPUT_INVALID' },
  { file: 'locked.csv', says: 'cannot be read: permission denied', code: 10, error: 'ACCESS_DENIED', enforce: true },
];

for (const kind of kinds) {
  test(`${kind.file} (${kind.says}): every command says so the same way, and stores and writes nothing`, {
    skip: kind.enforce && !permissionsEnforcedPrefix() ? 'no way to run a process without root file access' : undefined,
  }, async () => {
    for (const [template, what] of commands) {
      const args = template.map((a) => (a === 'FILE' ? kind.file : a));
      const before = await tree(cwd);
      const r = await mltk([...args, '--json'], kind.enforce);
      const shown = `mltk ${args.join(' ')}`;
      assert.equal(r.code, kind.code, `${shown}: ${r.stderr}`);
      const reasons = r.stderr.split('\n').filter((l) => l.startsWith('mltk: '));
      assert.deepEqual(reasons, [`mltk: ${what} "${kind.file}" ${kind.says}`], shown);
      assert.deepEqual(JSON.parse(r.stdout), {
        error: { code: kind.error, message: `${what} "${kind.file}" ${kind.says}`, details: [] },
      });
      assert.deepEqual(await tree(cwd), before, `${shown} wrote or stored something`);
    }
  });
}

test('monitor --publish with an input it cannot read: the JSON error document and one MonitorFailures datum', {
  skip: motoUnavailable(),
}, async () => {
  const moto = await startMoto();
  try {
    const r = await runMltk(
      [
        'monitor',
        '--model',
        'sap_change@1',
        '--input',
        'nope.csv',
        '--publish',
        '--namespace',
        'mltk-test/missing',
        '--json',
      ],
      { cwd, env: { ...env(), ...moto.env } },
    );
    assert.equal(r.code, 5, r.stderr);
    assert.equal(JSON.parse(r.stdout).error.message, 'input file "nope.csv" does not exist');
    const failed = r.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      failed.map((l) => [l.msg, l.code, l.source]),
      [['monitor_failed', 'NOT_FOUND', 'nope.csv']],
    );
    useMotoEnv(moto);
    const cw = await metricsClient({ endpoint: moto.endpoint });
    const listed = await cw.send(new ListMetricsCommand({ Namespace: 'mltk-test/missing' }));
    assert.deepEqual(
      (listed.Metrics ?? []).map((m) => [m.MetricName, m.Dimensions?.map((d) => `${d.Name}=${d.Value}`)]),
      [['MonitorFailures', ['Model=sap_change']]],
    );
    cw.destroy();
  } finally {
    await moto.stop();
  }
});
