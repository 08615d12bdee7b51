import { test } from 'node:test';
import assert from 'node:assert/strict';
import { trainModel, evaluate } from './index.ts';
import { numericColumn, type Table } from '../data/index.ts';
import { TrainingError } from '../errors/index.ts';
import { testConfig, toyTable, std, KINDS } from './testdata.ts';

const train = toyTable(3000, 1);
const test_ = toyTable(1000, 2);

test('gbdt learns a known function: test RMSE well below the target std', async () => {
  const model = await trainModel(testConfig(), train);
  const y = numericColumn(test_, 'y');
  const m = evaluate(y, await model.predict(test_));
  assert.ok(m.rmse < 0.25 * std(y), `rmse ${m.rmse} vs std ${std(y)}`);
  assert.ok(m.r2 > 0.9);
  assert.equal(model.trees, 60);
  assert.equal(model.rounds.length, 60);
  assert.ok(model.rounds[59]!.train_loss < model.rounds[0]!.train_loss);
});

test('gbdt is deterministic for a seed and independent of the thread count', async () => {
  const cfg = (threads: number) =>
    testConfig({ type: 'gbdt', params: { trees: 30, max_depth: 5, learning_rate: 0.2, min_samples_leaf: 5, threads } });
  const a = await trainModel(cfg(1), train, { seed: 5 });
  const b = await trainModel(cfg(1), train, { seed: 5 });
  const c = await trainModel(cfg(2), train, { seed: 5 });
  assert.deepEqual(a.onnx, b.onnx);
  assert.deepEqual(a.onnx, c.onnx);
  assert.equal(c.params.threads, 2);
});

test('missing values go the learned direction', async () => {
  // Missing x1 means y ≈ 6 + effects; present x1 averages far less. A missing row must score near the missing-x1 rows.
  const model = await trainModel(testConfig(), train);
  const probe = toyTable(400, 9, { missingRate: 1, noise: 0 });
  const m = evaluate(numericColumn(probe, 'y'), await model.predict(probe));
  assert.ok(m.rmse < 0.6, `rmse on all-missing rows ${m.rmse}`);
});

test('categorical features: each category gets its own level, unseen categories score as missing', async () => {
  const model = await trainModel(testConfig(), train);
  const rows = 4;
  const probe: Table = {
    rows,
    columns: new Map([
      ['x1', { kind: 'numeric', values: new Float64Array(rows).fill(0) }],
      ['x2', { kind: 'numeric', values: new Float64Array(rows).fill(2) }],
      ['flag', { kind: 'numeric', values: new Float64Array(rows) }],
      ['kind', { kind: 'categorical', codes: Int32Array.from([0, 3, -1, 0]), categories: ['delta', 'x', 'y', 'zeta'] }],
    ]),
  };
  const p = await model.predict(probe);
  assert.ok(Math.abs(p[0]! - 8) < 1, `delta ≈ 8, got ${p[0]}`);
  // 'zeta' was never seen in training: same score as a missing category.
  assert.equal(p[1], p[2]);
  const probeAlpha: Table = {
    rows: 1,
    columns: new Map(
      [...probe.columns].map(([k, c]) => [
        k,
        c.kind === 'numeric'
          ? { kind: 'numeric', values: c.values.subarray(0, 1) }
          : { kind: 'categorical', codes: Int32Array.from([0]), categories: [KINDS[0]!] },
      ]),
    ),
  };
  assert.ok(Math.abs((await model.predict(probeAlpha))[0]! - 0) < 1);
});

test('early stopping keeps the best validation round', async () => {
  const cfg = testConfig({
    type: 'gbdt',
    params: {
      trees: 400,
      max_depth: 6,
      learning_rate: 0.5,
      min_samples_leaf: 2,
      early_stopping_rounds: 10,
      validation_fraction: 0.2,
    },
  });
  const noisy = toyTable(1500, 3, { noise: 3 });
  const model = await trainModel(cfg, noisy, { seed: 1 });
  const losses = model.rounds.map((r) => r.valid_loss!);
  const best = losses.indexOf(Math.min(...losses)) + 1;
  assert.ok(model.rounds.length < 400, 'stopped early');
  assert.equal(model.rounds.length, best + 10);
  assert.equal(model.trees, best);
});

test('onRound reports every round with train and validation loss', async () => {
  const seen: [number, number, number, number | undefined][] = [];
  await trainModel(
    testConfig({ type: 'gbdt', params: { trees: 5, max_depth: 3, learning_rate: 0.3, early_stopping_rounds: 50 } }),
    train,
    { onRound: (r, t, tl, vl) => seen.push([r, t, tl, vl]) },
  );
  assert.deepEqual(
    seen.map((s) => s[0]),
    [1, 2, 3, 4, 5],
  );
  assert.ok(seen.every((s) => s[1] === 5 && s[2] > 0 && s[3]! > 0));
});

test('bad input: zero rows, a missing feature column, an all-missing target', async () => {
  const cfg = testConfig();
  await assert.rejects(
    trainModel(cfg, { rows: 0, columns: train.columns }),
    (e) => e instanceof TrainingError && /zero rows/.test(e.message),
  );
  const noX2 = new Map(train.columns);
  noX2.delete('x2');
  await assert.rejects(
    trainModel(cfg, { rows: train.rows, columns: noX2 }),
    (e) => e instanceof TrainingError && /"x2"/.test(e.message) && e.details[0]!.field === 'x2',
  );
  const noTarget = new Map(train.columns);
  noTarget.set('y', { kind: 'numeric', values: new Float64Array(train.rows).fill(NaN) });
  await assert.rejects(
    trainModel(cfg, { rows: train.rows, columns: noTarget }),
    (e) => e instanceof TrainingError && /"y" is missing in all 3000 rows/.test(e.message),
  );
  const wrongKind = new Map(train.columns);
  wrongKind.set('kind', { kind: 'numeric', values: new Float64Array(train.rows) });
  await assert.rejects(
    trainModel(cfg, { rows: train.rows, columns: wrongKind }),
    (e) => e instanceof TrainingError && /"kind"/.test(e.message),
  );
});

test('a table too small for a validation slice or any split still trains: the mean of the target', async () => {
  const tiny = toyTable(5, 4);
  const model = await trainModel(
    testConfig({ type: 'gbdt', params: { trees: 3, max_depth: 3, learning_rate: 0.1, early_stopping_rounds: 2 } }),
    tiny,
  );
  const y = numericColumn(tiny, 'y');
  const mean = y.reduce((a, b) => a + b, 0) / y.length;
  const p = await model.predict(tiny);
  assert.ok(p.every((v) => Math.abs(v - mean) < 1e-9));
  assert.equal(model.rounds[0]!.valid_loss, undefined);
});
