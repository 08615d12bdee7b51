import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ks2samp, ksPValue } from './ks.ts';
import { kolmogorovSf } from './kolmogorov.ts';
import { normals, runPython, scipyUnavailable } from './testdata.ts';

const close = (actual: number, expected: number, rel = 1e-9) =>
  assert.ok(Math.abs(actual - expected) <= rel * Math.abs(expected) + 1e-300, `${actual} vs scipy ${expected}`);

test('small samples with ties give scipy ks_2samp exact statistic and p-value (recorded from scipy 1.10.1)', () => {
  const a = ks2samp([1, 2, 3, 4, 5], [3, 4, 5, 6, 7, 8]);
  assert.equal(a.statistic, 0.5);
  assert.equal(a.pvalue, 0.35714285714285715);
  assert.equal(a.method, 'exact');
  const b = ks2samp([0.1, 0.5, 0.5, 0.9, 1.2, 1.3, 2.0], [0.5, 0.5, 0.6, 0.7]);
  assert.equal(b.statistic, 0.5714285714285714);
  assert.equal(b.pvalue, 0.30909090909090914);
});

test('identical samples have D = 0 and p = 1', () => {
  const x = normals(500, 1);
  assert.deepEqual(ks2samp(x, x), { statistic: 0, pvalue: 1, method: 'exact' });
});

test('more than 10,000 values switch to the asymptotic p-value, as scipy method="auto"', () => {
  assert.equal(ksPValue(0.01, 20000, 30000).method, 'asymp');
  assert.equal(ksPValue(0.01, 10000, 10000).method, 'exact');
});

test('empty samples are refused', () => {
  assert.throws(() => ks2samp([], [1]), /non-empty/);
});

const grid: [number, number, number, boolean][] = [
  [5, 7, 0.5, false],
  [10, 10, 1, false],
  [30, 45, 0.3, true],
  [200, 333, 0.1, true],
  [1000, 1500, 0.05, false],
  [5000, 10000, 0.03, false],
  [9999, 10000, 0, true],
  [20000, 30000, 0.02, false],
  [20000, 100000, 0.01, true],
  [3, 20000, 0.5, false],
  [50, 15000, 0.2, false],
  [20000, 20000, 0.5, false],
];

test('D and p-value match scipy.stats.ks_2samp over exact and asymptotic regimes', { skip: scipyUnavailable() }, () => {
  const cases = grid.map(([n1, n2, shift, discrete], i) => {
    const r = (v: Float64Array) => (discrete ? v.map((x) => Math.round(x * 3)) : v);
    return [Array.from(r(normals(n1, 10 + i))), Array.from(r(normals(n2, 100 + i, shift)))];
  });
  const expected = runPython<[number, number][]>(
    'import json,sys\nfrom scipy import stats\nprint(json.dumps([list(map(float, stats.ks_2samp(a, b)[:2])) for a, b ' +
      'in json.load(sys.stdin)]))',
    cases,
  );
  cases.forEach(([a, b], i) => {
    const got = ks2samp(a!, b!);
    assert.equal(got.statistic, expected[i]![0], `D for case ${i}`);
    close(got.pvalue, expected[i]![1]);
  });
});

test('kolmogorovSf matches scipy.stats.kstwo.sf across its algorithm branches', { skip: scipyUnavailable() }, () => {
  const cases: [number, number][] = [];
  for (const n of [1, 3, 10, 100, 140, 141, 1012, 1013, 5000, 99999, 100001, 500000]) {
    for (const x of [0.001, 0.01, 0.05, 0.1, 0.3, 0.5, 0.7, 0.6 / n, 1.5 / n, 3 / n]) cases.push([n, x]);
  }
  const expected = runPython<number[]>(
    'import json,sys\nfrom scipy import stats\nprint(json.dumps([float(stats.kstwo.sf(x, n)) for n, x in ' +
      'json.load(sys.stdin)]))',
    cases,
  );
  cases.forEach(([n, x], i) => {
    const got = kolmogorovSf(n, x);
    assert.ok(
      Math.abs(got - expected[i]!) <= 1e-9 * expected[i]! + 1e-15,
      `kstwo.sf(${x}, ${n}): ${got} vs ${expected[i]}`,
    );
  });
});
