import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluate, sapBand, sapBandGroups } from './index.ts';

test('evaluate: rmse, mae and r2 on known values', () => {
  const m = evaluate(Float64Array.from([1, 2, 3, 4]), Float64Array.from([1, 2, 3, 6]));
  assert.equal(m.rmse, 1);
  assert.equal(m.mae, 0.5);
  assert.equal(m.r2, 1 - 4 / 5);
  assert.equal(m.by_group, undefined);
});

test('evaluate: error by SAP band of current_sap', () => {
  const sap = Float64Array.from([95, 85, 85, 10, NaN]);
  const m = evaluate(Float64Array.from([0, 0, 0, 0, 0]), Float64Array.from([1, 2, -2, 3, 9]), sapBandGroups(sap));
  assert.deepEqual(m.by_group, { A: { rows: 1, rmse: 1, mae: 1 }, B: { rows: 2, rmse: 2, mae: 2 }, G: { rows: 1, rmse: 3, mae: 3 } });
});

test('sapBand follows the EPC band edges', () => {
  const cases: [number, string][] = [[120, 'A'], [92, 'A'], [91, 'B'], [81, 'B'], [80, 'C'], [69, 'C'], [68, 'D'], [55, 'D'], [54, 'E'], [39, 'E'], [38, 'F'], [21, 'F'], [20, 'G'], [1, 'G']];
  for (const [s, band] of cases) assert.equal(sapBand(s), band, `SAP ${s}`);
});
