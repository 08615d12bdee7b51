import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Table } from '../data/index.ts';
import {
  LOSS_ESTIMATOR_INPUT,
  LOSS_OUTPUTS,
  lossEstimatorConfig,
  onnxFeeds,
  trainLossEstimator,
  trainModel,
  mulberry32,
} from './index.ts';
import { testConfig, toyTable } from './testdata.ts';

const config = testConfig({
  type: 'gbdt',
  params: { trees: 60, max_depth: 4, learning_rate: 0.2, min_samples_leaf: 5 },
});

/** The toy table with noise 4× larger where flag = 1: the model's error depends on a feature. */
function noisy(rows: number, seed: number): Table {
  const t = toyTable(rows, seed, { noise: 0 });
  const rnd = mulberry32(seed + 99);
  const y = (t.columns.get('y') as { values: Float64Array }).values;
  const flag = (t.columns.get('flag') as { values: Float64Array }).values;
  for (let i = 0; i < rows; i++)
    y[i]! += (flag[i] ? 1 : 0.25) * Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
  return t;
}

const setup = (async () => {
  const model = await trainModel(config, noisy(4000, 1));
  const heldOut = noisy(3000, 2);
  const estimator = (await trainLossEstimator(config, heldOut, await model.predict(heldOut), { seed: 7 }))!;
  return { model, estimator };
})();

function rowsWhere(t: Table, keep: (i: number) => boolean): number[] {
  return Array.from({ length: t.rows }, (_, i) => i).filter(keep);
}

test(
  'the estimator is one self-contained ONNX graph: raw features + prediction in, non-negative squared and ' +
    "absolute error out, equal to the trainer's own scoring",
  async () => {
    const { model, estimator } = await setup;
    const batch = toyTable(700, 5, { missingRate: 0.3, kinds: ['alpha', 'beta', 'unseen', 'delta'] });
    const predictions = await model.predict(batch);
    const session = await ort.InferenceSession.create(estimator.onnx);
    assert.deepEqual(session.inputNames, ['x1', 'x2', 'flag', 'kind', LOSS_ESTIMATOR_INPUT]);
    assert.deepEqual(session.outputNames, [LOSS_OUTPUTS.squared, LOSS_OUTPUTS.absolute]);
    const withPred = {
      rows: batch.rows,
      columns: new Map([...batch.columns, [LOSS_ESTIMATOR_INPUT, { kind: 'numeric' as const, values: predictions }]]),
    };
    const out = await session.run(onnxFeeds(lossEstimatorConfig(config), withPred));
    const ours = estimator.predict(batch, predictions);
    for (const [head, values] of [
      [LOSS_OUTPUTS.squared, ours.squared],
      [LOSS_OUTPUTS.absolute, ours.absolute],
    ] as const) {
      const onnx = out[head]!.data as Float32Array;
      assert.deepEqual(out[head]!.dims, [batch.rows, 1]);
      for (let i = 0; i < batch.rows; i++) {
        assert.ok(onnx[i]! >= 0, `${head} row ${i} is ${onnx[i]}`);
        assert.ok(
          Math.abs(onnx[i]! - values[i]!) <= 1e-4 * Math.max(1, values[i]!),
          `${head} row ${i}: trainer ${values[i]} vs onnxruntime ${onnx[i]}`,
        );
      }
    }
  },
);

test(
  'the estimate follows where the model errs: per group of rows it lands near the realized ' + 'RMSE and MAE',
  async () => {
    const { model, estimator } = await setup;
    const fresh = noisy(6000, 3);
    const p = await model.predict(fresh);
    const y = (fresh.columns.get('y') as { values: Float64Array }).values;
    const flag = (fresh.columns.get('flag') as { values: Float64Array }).values;
    const est = estimator.predict(fresh, p);
    for (const [name, rows] of [
      ['flag=0', rowsWhere(fresh, (i) => flag[i] === 0)],
      ['flag=1', rowsWhere(fresh, (i) => flag[i] === 1)],
    ] as const) {
      const realized = Math.sqrt(rows.reduce((s, i) => s + (p[i]! - y[i]!) ** 2, 0) / rows.length);
      const estimated = Math.sqrt(rows.reduce((s, i) => s + est.squared[i]!, 0) / rows.length);
      const mae = rows.reduce((s, i) => s + Math.abs(p[i]! - y[i]!), 0) / rows.length;
      const maeEstimated = rows.reduce((s, i) => s + est.absolute[i]!, 0) / rows.length;
      assert.ok(
        Math.abs(estimated / realized - 1) < 0.15,
        `${name}: estimated RMSE ${estimated} vs realized ${realized}`,
      );
      assert.ok(Math.abs(maeEstimated / mae - 1) < 0.15, `${name}: estimated MAE ${maeEstimated} vs realized ${mae}`);
    }
    const c = estimator.calibration;
    assert.equal(c.rows, 3000);
    assert.equal(c.folds, 5);
    assert.ok(Math.abs(c.held_out.rmse_estimated / c.held_out.rmse - 1) < 0.1, JSON.stringify(c.held_out));
    assert.ok(
      c.rmse_relative_error >= 0 && c.rmse_relative_error < 0.2 && c.mae_relative_error < 0.2,
      JSON.stringify(c),
    );
    assert.ok(Math.abs(c.squared_error.mean - c.held_out.rmse ** 2) < 1e-9);
  },
);

test('too few held-out rows with a target fit no estimator', async () => {
  const { model } = await setup;
  const few = noisy(150, 4);
  assert.equal(await trainLossEstimator(config, few, await model.predict(few)), null);
  const missing = noisy(400, 4);
  (missing.columns.get('y') as { values: Float64Array }).values.fill(NaN, 0, 250);
  assert.equal(await trainLossEstimator(config, missing, await model.predict(missing)), null);
});

test('onnx.checker accepts the estimator graph (python3-onnx)', async (t) => {
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import onnx'], { stdio: 'ignore' });
  } catch {
    t.skip('python3-onnx is not importable by /usr/bin/python3; install python3-onnx to run this check');
    return;
  }
  const { estimator } = await setup;
  const path = join(mkdtempSync(join(tmpdir(), 'mltk-dle-')), 'loss.onnx');
  writeFileSync(path, estimator.onnx);
  const out = execFileSync(
    '/usr/bin/python3',
    [
      '-c',
      `
import json, sys, onnx
m = onnx.load(sys.argv[1])
onnx.checker.check_model(m, full_check=True)
print(json.dumps({"outputs": [o.name for o in m.graph.output], "meta": {p.key: p.value for p in m.metadata_props}}))
`,
      path,
    ],
    { encoding: 'utf8' },
  );
  const info = JSON.parse(out);
  assert.deepEqual(info.outputs, ['squared_error', 'absolute_error']);
  assert.equal(info.meta['mltk.kind'], 'loss_estimator');
});
