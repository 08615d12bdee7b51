import { test } from 'node:test';
import assert from 'node:assert/strict';
import { numericAccumulator } from './accumulate.ts';
import { profileNumeric } from './profile.ts';
import { countSlots, referenceIndex, slotBins, slotOf } from './positions.ts';
import { binIndex } from './stats.ts';
import { normals, uniform } from './testdata.ts';

/** The slot by definition: 2·(values below x) + (1 if x is a reference value). */
function slotByScan(distinct: Float64Array, x: number): number {
  let below = 0;
  while (below < distinct.length && distinct[below]! < x) below++;
  return 2 * below + (distinct[below] === x ? 1 : 0);
}

const samples: Record<string, Float64Array> = {
  continuous: normals(3000, 1).sort(),
  'ties (rounded)': normals(3000, 2)
    .map((x) => Math.round(x * 4) / 4)
    .sort(),
  'one value': new Float64Array([7, 7, 7]),
  'two values': new Float64Array([-1, 5]),
  'tiny range': Float64Array.from([1e-300, 2e-300, 3e-300, 5e-300]),
  'huge range': Float64Array.from([-1e308, -1, 0, 1, 1e308]),
  'heavy tail': Float64Array.from(normals(2000, 3).map((x) => Math.exp(3 * x))).sort(),
};

test('every value lands in the slot a linear scan gives: inside, on, between and outside the reference values', () => {
  for (const [name, sorted] of Object.entries(samples)) {
    const ix = referenceIndex(sorted);
    const u = ix.values;
    const probes = [
      ...u,
      ...u.map((v) => v + Math.abs(v) * 1e-12 + 1e-320),
      ...u.map((v) => v - Math.abs(v) * 1e-12 - 1e-320),
      -Infinity,
      Infinity,
      0,
      -0,
    ];
    const r = uniform(9);
    for (let i = 0; i < 2000; i++) probes.push(u[0]! + (u[u.length - 1]! - u[0]!) * (r() * 1.2 - 0.1));
    for (const x of probes) assert.equal(slotOf(ix, x), slotByScan(u, x), `${name}: x = ${x}`);
  }
});

test('an empty reference sample puts every value in slot 0', () => {
  const ix = referenceIndex([]);
  assert.equal(slotOf(ix, 3), 0);
  assert.deepEqual(Array.from(countSlots(ix, [1, NaN, 2])), [2]);
});

test('slot bins agree with binIndex for every value in the slot; gaps an edge cuts through are marked −1', () => {
  const sorted = normals(500, 4)
    .map((x) => Math.round(x * 10) / 10)
    .sort();
  const ix = referenceIndex(sorted);
  const u = ix.values;
  // Edges on reference values, strictly inside gaps, below and above everything.
  const edges = [-10, u[3]!, (u[10]! + u[11]!) / 2, u[40]!, (u[41]! + u[42]!) / 2, 10];
  const bins = slotBins(ix, edges);
  const r = uniform(5);
  for (let i = 0; i < 20000; i++) {
    const x = i < u.length ? u[i]! : -12 + 24 * r();
    const s = slotOf(ix, x);
    if (bins[s]! >= 0) assert.equal(bins[s], binIndex(edges, x), `x = ${x} in slot ${s}`);
  }
  const cut = [...bins].flatMap((b, s) => (b < 0 ? [s] : []));
  assert.deepEqual(cut, [0, 22, 84, 2 * u.length]);
});

test('the numeric accumulator bins exactly as binIndex does, cut gaps included', () => {
  const profile = profileNumeric('x', normals(5000, 6, 0, 2));
  const acc = numericAccumulator(profile);
  const current = normals(20000, 7, 0.3, 2.5).map((x, i) => (i % 7 === 0 ? Math.round(x) : x));
  acc.add({ kind: 'numeric', values: current.subarray(0, 12345) }, 't');
  acc.add({ kind: 'numeric', values: current.subarray(12345) }, 't');
  const expected = new Array<number>(profile.edges.length + 1).fill(0);
  for (const x of current) expected[binIndex(profile.edges, x)]! += 1;
  assert.deepEqual(acc.finish().distribution.current, expected);
});
