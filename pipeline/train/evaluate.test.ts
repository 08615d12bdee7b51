import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluate, segmentGroups } from './index.ts';
import type { ModelConfig } from '../config/index.ts';

type Segment = NonNullable<ModelConfig['evaluation']['segment']>;

// The EPC bands as configs/sap_change.json declares them: A 92+, B 81–91, … G 1–20 on the printed (rounded) rating.
const SAP_BANDS: Segment = {
  name: 'sap_band',
  column: 'current_sap',
  edges: [20.5, 38.5, 54.5, 68.5, 80.5, 91.5],
  labels: ['G', 'F', 'E', 'D', 'C', 'B', 'A'],
};

test('evaluate: rmse, mae and r2 on known values', () => {
  const m = evaluate(Float64Array.from([1, 2, 3, 4]), Float64Array.from([1, 2, 3, 6]));
  assert.equal(m.rmse, 1);
  assert.equal(m.mae, 0.5);
  assert.equal(m.r2, 1 - 4 / 5);
  assert.equal(m.bias, 0.5);
  assert.equal(m.rows, 4);
  assert.equal(m.by_group, undefined);
});

test('evaluate: error by the configured segment (SAP band of current_sap)', () => {
  const sap = Float64Array.from([95, 85, 85, 10, NaN]);
  const groups = segmentGroups(SAP_BANDS, { kind: 'numeric', values: sap });
  const m = evaluate(Float64Array.from([0, 0, 0, 0, 0]), Float64Array.from([1, 2, -2, 3, 9]), groups);
  assert.deepEqual(m.by_group, {
    A: { rows: 1, rmse: 1, mae: 1, bias: 1 },
    B: { rows: 2, rmse: 2, mae: 2, bias: 0 },
    G: { rows: 1, rmse: 3, mae: 3, bias: 3 },
  });
});

test('numeric segments: a value on an edge belongs to the band above (the SAP bands on their printed ratings)', () => {
  const cases: [number, string][] = [
    [120, 'A'],
    [92, 'A'],
    [91.5, 'A'],
    [91.4, 'B'],
    [91, 'B'],
    [81, 'B'],
    [80, 'C'],
    [69, 'C'],
    [68, 'D'],
    [55, 'D'],
    [54, 'E'],
    [39, 'E'],
    [38, 'F'],
    [21, 'F'],
    [20, 'G'],
    [1, 'G'],
    [-5, 'G'],
  ];
  const { labels, codes } = segmentGroups(SAP_BANDS, { kind: 'numeric', values: Float64Array.from(cases, ([s]) => s) });
  for (const [i, [s, band]] of cases.entries()) assert.equal(labels[codes[i]!], band, `SAP ${s}`);
});

test('categorical and boolean segments: one group per listed value, missing and unknown values in none', () => {
  const byForm = segmentGroups(
    { name: 'form', column: 'built_form' },
    { kind: 'categorical', codes: Int32Array.of(1, 0, -1, 1), categories: ['Detached', 'Semi'] },
    { name: 'built_form', type: 'categorical', nullable: false, values: ['Semi', 'Detached'] },
  );
  assert.deepEqual(byForm.labels, ['Semi', 'Detached']);
  assert.deepEqual([...byForm.codes], [0, 1, -1, 0]);
  const byText = segmentGroups(
    { name: 'form', column: 'built_form' },
    { kind: 'text', values: ['Detached', 'Castle', ''] },
    { name: 'built_form', type: 'categorical', nullable: false, values: ['Semi', 'Detached'] },
  );
  assert.deepEqual([...byText.codes], [1, -1, -1]);
  const byFlag = segmentGroups(
    { name: 'pv', column: 'solar_pv' },
    { kind: 'numeric', values: Float64Array.of(1, 0, NaN) },
    { name: 'solar_pv', type: 'boolean', nullable: false },
  );
  assert.deepEqual(byFlag.labels, ['false', 'true']);
  assert.deepEqual([...byFlag.codes], [1, 0, -1]);
});
