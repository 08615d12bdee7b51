import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trainModel } from './index.ts';
import { TrainingError } from '../errors/index.ts';
import { parseModelConfig } from '../config/index.ts';
import { testConfig, toyTable } from './testdata.ts';

const dir = mkdtempSync(join(tmpdir(), 'mltk-cmd-'));
const train = toyTable(1000, 21);
// A stand-in external trainer: checks it got the train CSV and config, then copies a model to {output}.
const copier = join(dir, 'copy-model.mjs');
writeFileSync(
  copier,
  `
import { copyFileSync, readFileSync } from 'node:fs';
const [train, config, output, source] = process.argv.slice(2);
if (!readFileSync(train, 'utf8').startsWith('id,x1,x2,flag,kind,y\\n')) {
  console.error('bad train csv header');
  process.exit(2);
}
JSON.parse(readFileSync(config, 'utf8'));
copyFileSync(source, output);
`,
);

const commandConfig = (args: string[], timeout_s = 30) =>
  testConfig({ type: 'command', params: { command: [process.execPath, ...args], timeout_s } });

test('command trainer: the produced model is checked and scores through onnxruntime', async () => {
  const gbdt = await trainModel(testConfig(), train);
  const source = join(dir, 'pre.onnx');
  writeFileSync(source, gbdt.onnx);
  const model = await trainModel(commandConfig([copier, '{train}', '{config}', '{output}', source]), train);
  assert.deepEqual(model.onnx, new Uint8Array(readFileSync(source)));
  const ours = await gbdt.predict(train);
  const theirs = await model.predict(train);
  for (let i = 0; i < ours.length; i++)
    assert.ok(Math.abs(ours[i]! - theirs[i]!) < 1e-4 * Math.max(1, Math.abs(ours[i]!)));
});

test('command trainer: a non-zero exit is a TrainingError carrying the stderr tail', async () => {
  const script = join(dir, 'fail.mjs');
  writeFileSync(script, `console.error('out of memory in fold 3'); process.exit(3);`);
  await assert.rejects(
    trainModel(commandConfig([script]), train),
    (e) => e instanceof TrainingError && /exit 3/.test(e.message) && /out of memory in fold 3/.test(e.message),
  );
});

test('command trainer: a model whose inputs do not match the config is rejected, naming the inputs', async () => {
  const other = parseModelConfig(
    {
      ...JSON.parse(JSON.stringify(testConfig())),
      features: [
        { name: 'x1', type: 'numeric', nullable: true },
        { name: 'x2', type: 'numeric' },
        { name: 'flag', type: 'boolean' },
        { name: 'kind', type: 'numeric' },
      ],
    },
    'other',
  );
  const otherTrain = toyTable(500, 3);
  otherTrain.columns.set('kind', { kind: 'numeric', values: new Float64Array(500) });
  const wrong = await trainModel(other, otherTrain);
  const source = join(dir, 'wrong.onnx');
  writeFileSync(source, wrong.onnx);
  await assert.rejects(
    trainModel(commandConfig([copier, '{train}', '{config}', '{output}', source]), train),
    (e) => e instanceof TrainingError && /input "kind" is float32, expected string/.test(e.message),
  );
});

test('command trainer: a garbage file at {output} is not a valid ONNX model', async () => {
  const script = join(dir, 'garbage.mjs');
  writeFileSync(script, `import { writeFileSync } from 'node:fs'; writeFileSync(process.argv[2], 'not onnx');`);
  await assert.rejects(
    trainModel(commandConfig([script, '{output}']), train),
    (e) => e instanceof TrainingError && /not a valid ONNX model/.test(e.message),
  );
});

test('command trainer: a command that outlives timeout_s is killed', async () => {
  const script = join(dir, 'sleep.mjs');
  writeFileSync(script, `setTimeout(() => {}, 60000);`);
  await assert.rejects(
    trainModel(commandConfig([script], 1), train),
    (e) => e instanceof TrainingError && /timed out after 1s/.test(e.message),
  );
});
