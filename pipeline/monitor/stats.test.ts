import { test } from 'node:test';
import assert from 'node:assert/strict';
import { binIndex, jensenShannon, psi, PSI_EPSILON, quantileEdges } from './stats.ts';
import { runPython, scipyUnavailable, uniform } from './testdata.ts';

test('PSI of identical distributions is 0 and grows with the shift', () => {
  assert.equal(psi([10, 20, 30], [1, 2, 3]), 0);
  const small = psi([25, 25, 25, 25], [30, 25, 25, 20]);
  const large = psi([25, 25, 25, 25], [70, 10, 10, 10]);
  assert.ok(small > 0 && small < 0.1 && large > 0.25, `${small} ${large}`);
});

test('PSI clamps an empty bucket to epsilon instead of going infinite', () => {
  const v = psi([50, 50, 0], [50, 40, 10]);
  const expected =
    (0.5 - 0.5) * 0 + (0.4 - 0.5) * Math.log(0.4 / 0.5) + (0.1 - PSI_EPSILON) * Math.log(0.1 / PSI_EPSILON);
  assert.ok(Math.abs(v - expected) < 1e-12);
});

test('Jensen–Shannon distance matches a value recorded from scipy 1.10.1 (base 2, zero bucket)', () => {
  assert.ok(Math.abs(jensenShannon([10, 20, 30, 0], [5, 25, 25, 10]) - 0.3096768412354542) < 1e-15);
  assert.equal(jensenShannon([1, 0], [0, 1]), 1);
});

test('Jensen–Shannon distance matches scipy.spatial.distance.jensenshannon on random counts', {
  skip: scipyUnavailable(),
}, () => {
  const u = uniform(7);
  const cases = Array.from({ length: 20 }, (_, i) =>
    [0, 1].map(() =>
      Array.from({ length: 2 + (i % 9) }, () => (u() < 0.15 ? 0 : 1 + Math.floor(u() * 1000))).map((c, j) =>
        j === 0 ? c + 1 : c,
      ),
    ),
  );
  const expected = runPython<number[]>(
    'import json,sys\nfrom scipy.spatial.distance import jensenshannon\nprint(json.dumps([float(jensenshannon(p, q, ' +
      'base=2)) for p, q in json.load(sys.stdin)]))',
    cases,
  );
  for (const [i, [p, q]] of cases.entries())
    assert.ok(
      Math.abs(jensenShannon(p!, q!) - expected[i]!) < 1e-12,
      `case ${i}: ${jensenShannon(p!, q!)} vs ${expected[i]}`,
    );
});

test('quantile edges are deduplicated for lumpy data and bins are right-closed', () => {
  const zeros = new Float64Array(100);
  for (let i = 70; i < 100; i++) zeros[i] = i;
  const edges = quantileEdges(zeros, 10);
  assert.equal(edges[0], 0);
  assert.equal(new Set(edges).size, edges.length);
  assert.equal(binIndex(edges, 0), 0);
  assert.equal(binIndex(edges, 1e9), edges.length);
  assert.deepEqual(quantileEdges(new Float64Array([5, 5, 5]), 10), []);
});
