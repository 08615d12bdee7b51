import { test } from 'node:test';
import assert from 'node:assert/strict';
import { trainModel, evaluate } from './index.ts';
import { numericColumn, type Column, type Table } from '../data/index.ts';
import { testConfig, std } from './testdata.ts';
import { mulberry32 } from './random.ts';

/** y = 2 + 1.5·x1 − 0.5·x2 + 3·flag + category offset, x1 missing → treated via its indicator. */
function linearTable(rows: number, seed: number): Table {
  const rnd = mulberry32(seed);
  const x1 = new Float64Array(rows),
    x2 = new Float64Array(rows),
    flag = new Float64Array(rows),
    y = new Float64Array(rows);
  const kind = new Int32Array(rows);
  const offsets = [0, 5, -2, 1];
  for (let i = 0; i < rows; i++) {
    const missing = rnd() < 0.1;
    x1[i] = missing ? NaN : rnd() * 10;
    x2[i] = 1 + rnd() * 20;
    flag[i] = rnd() < 0.3 ? 1 : 0;
    kind[i] = Math.floor(rnd() * 4);
    y[i] = 2 + (missing ? 7 : 1.5 * x1[i]!) - 0.5 * x2[i]! + 3 * flag[i]! + offsets[kind[i]!]! + 0.1 * (rnd() - 0.5);
  }
  const columns = new Map<string, Column>([
    ['x1', { kind: 'numeric', values: x1 }],
    ['x2', { kind: 'numeric', values: x2 }],
    ['flag', { kind: 'numeric', values: flag }],
    ['kind', { kind: 'categorical', codes: kind, categories: ['alpha', 'beta', 'gamma', 'delta'] }],
    ['y', { kind: 'numeric', values: y }],
  ]);
  return { rows, columns };
}

test('linear trainer recovers a linear target with one-hot categoricals and a missing indicator', async () => {
  const config = testConfig({ type: 'linear', params: { alpha: 0.01 } });
  // The derived ratio is a feature too; the true function ignores it, so ridge should give it ~0 weight.
  const model = await trainModel(config, linearTable(2000, 1));
  const test_ = linearTable(500, 2);
  const y = numericColumn(test_, 'y');
  const m = evaluate(y, await model.predict(test_));
  assert.ok(m.rmse < 0.1, `rmse ${m.rmse} (target std ${std(y)})`);
  assert.equal(model.params.alpha, 0.01);
  assert.deepEqual(model.rounds, []);
});

test('linear trainer: a larger alpha shrinks the fit', async () => {
  const data = linearTable(2000, 3);
  const y = numericColumn(data, 'y');
  const loose = evaluate(
    y,
    await (await trainModel(testConfig({ type: 'linear', params: { alpha: 0.01 } }), data)).predict(data),
  );
  const tight = evaluate(
    y,
    await (await trainModel(testConfig({ type: 'linear', params: { alpha: 1e5 } }), data)).predict(data),
  );
  assert.ok(tight.rmse > 3 * loose.rmse);
});
