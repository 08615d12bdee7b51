import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { trainModel, onnxInputSpec, onnxFeeds, OUTPUT_NAME, type TrainedModel } from './index.ts';
import type { Table } from '../data/index.ts';
import { testConfig, toyTable } from './testdata.ts';
import type { ModelConfig } from '../config/index.ts';

const train = toyTable(3000, 11);
// Held-out rows with missing values, a category never seen in training and the derived ratio.
const heldOut = toyTable(800, 12, { missingRate: 0.3, kinds: ['alpha', 'beta', 'unseen', 'delta'] });

async function ortPredict(model: TrainedModel, config: ModelConfig, table: Table): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(model.onnx);
  const out = await session.run(onnxFeeds(config, table));
  assert.deepEqual(out[OUTPUT_NAME]!.dims, [table.rows, 1]);
  return out[OUTPUT_NAME]!.data as Float32Array;
}

function assertParity(ours: Float64Array, onnx: Float32Array): void {
  assert.equal(onnx.length, ours.length);
  for (let i = 0; i < ours.length; i++) {
    const tol = 1e-4 * Math.max(1, Math.abs(ours[i]!));
    assert.ok(Math.abs(ours[i]! - onnx[i]!) <= tol, `row ${i}: trainer ${ours[i]} vs onnxruntime ${onnx[i]}`);
  }
}

test(
  'parity: onnxruntime equals the gbdt trainer on held-out rows with missing values, unseen categories and ' +
    'derived features',
  async () => {
    const config = testConfig({
      type: 'gbdt',
      params: { trees: 80, max_depth: 6, learning_rate: 0.2, min_samples_leaf: 3 },
    });
    const model = await trainModel(config, train);
    assertParity(await model.predict(heldOut), await ortPredict(model, config, heldOut));
  },
);

test('parity: onnxruntime equals the linear trainer', async () => {
  const config = testConfig({ type: 'linear', params: { alpha: 0.5 } });
  const model = await trainModel(config, train);
  assertParity(await model.predict(heldOut), await ortPredict(model, config, heldOut));
});

test('the graph follows the input contract: raw [N,1] inputs named as the features, metadata', async () => {
  const config = testConfig();
  const model = await trainModel(config, train);
  const session = await ort.InferenceSession.create(model.onnx);
  assert.deepEqual(onnxInputSpec(config), [
    { name: 'x1', type: 'float' },
    { name: 'x2', type: 'float' },
    { name: 'flag', type: 'float' },
    { name: 'kind', type: 'string' },
  ]);
  assert.deepEqual(session.inputNames, ['x1', 'x2', 'flag', 'kind']);
  for (const m of session.inputMetadata) {
    assert.ok(m.isTensor);
    assert.equal(m.type, m.name === 'kind' ? 'string' : 'float32');
    assert.deepEqual(m.shape, ['N', 1]);
  }
  assert.deepEqual(session.outputNames, [OUTPUT_NAME]);
});

test('onnx.checker accepts the exported models (python3-onnx)', async (t) => {
  const probe = (() => {
    try {
      execFileSync('/usr/bin/python3', ['-c', 'import onnx'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  if (!probe) {
    t.skip('python3-onnx is not importable by /usr/bin/python3; install python3-onnx to run this check');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'mltk-onnx-'));
  for (const trainer of [
    { type: 'gbdt', params: { trees: 5, max_depth: 3, learning_rate: 0.3 } },
    { type: 'linear' },
  ]) {
    const config = testConfig(trainer);
    const model = await trainModel(config, train);
    const path = join(dir, `${trainer.type}.onnx`);
    writeFileSync(path, model.onnx);
    const out = execFileSync(
      '/usr/bin/python3',
      [
        '-c',
        `
import json, sys, onnx
m = onnx.load(sys.argv[1])
onnx.checker.check_model(m, full_check=True)
opsets = {o.domain: o.version for o in m.opset_import}
print(json.dumps({"opsets": opsets, "meta": {p.key: p.value for p in m.metadata_props}}))
`,
        path,
      ],
      { encoding: 'utf8' },
    );
    const info = JSON.parse(out);
    assert.deepEqual(info.opsets, { '': 17, 'ai.onnx.ml': 3 });
    assert.equal(info.meta['mltk.model'], 'toy');
    assert.equal(info.meta['mltk.target'], 'y');
    assert.equal(info.meta['mltk.unit'], 'points');
    assert.deepEqual(
      JSON.parse(info.meta['mltk.features']),
      config.features.map((f) => ({ name: f.name, type: f.type })),
    );
  }
});
