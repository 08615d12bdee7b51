// Deterministic small tables and configs for the trainer's tests (not part of the public surface).
import { parseModelConfig, type ModelConfig } from '../config/index.ts';
import type { Column, Table } from '../data/index.ts';
import { mulberry32 } from './random.ts';

export const KINDS = ['alpha', 'beta', 'gamma', 'delta'];
const KIND_EFFECT = [0, 4, -3, 8];

export function testConfig(
  trainer: unknown = { type: 'gbdt', params: { trees: 60, max_depth: 4, learning_rate: 0.2, min_samples_leaf: 5 } },
): ModelConfig {
  return parseModelConfig(
    {
      name: 'toy',
      dataset: { name: 'toy' },
      id_column: 'id',
      features: [
        { name: 'x1', type: 'numeric', nullable: true },
        { name: 'x2', type: 'numeric', min: 1 },
        { name: 'flag', type: 'boolean' },
        { name: 'kind', type: 'categorical', values: KINDS },
      ],
      derived: [{ name: 'x1_per_x2', op: 'ratio', inputs: ['x1', 'x2'] }],
      target: { column: 'y', unit: 'points' },
      output: { column: 'y_hat' },
      split: {},
      trainer,
      promotion: {},
    },
    'test config',
  );
}

/**
 * y = 3·sin(x1) + kind effect + 2·flag + 4·[x1/x2 > 1], and +6 when x1 is missing (so a missing
 * x1 must go its own way), plus noise of std `noise`.
 */
export function toyTable(
  rows: number,
  seed: number,
  opts: { missingRate?: number; noise?: number; kinds?: string[] } = {},
): Table {
  const rnd = mulberry32(seed);
  const kinds = opts.kinds ?? KINDS;
  const x1 = new Float64Array(rows),
    x2 = new Float64Array(rows),
    flag = new Float64Array(rows),
    y = new Float64Array(rows);
  const kind = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    x1[i] = rnd() < (opts.missingRate ?? 0.15) ? NaN : rnd() * 6 - 1;
    x2[i] = 1 + rnd() * 4;
    flag[i] = rnd() < 0.5 ? 1 : 0;
    kind[i] = rnd() < 0.05 ? -1 : Math.floor(rnd() * kinds.length);
    const effect = kind[i]! < 0 ? 0 : (KIND_EFFECT[KINDS.indexOf(kinds[kind[i]!]!)] ?? 1);
    const base = Number.isNaN(x1[i]!) ? 6 : 3 * Math.sin(x1[i]!) + (x1[i]! / x2[i]! > 1 ? 4 : 0);
    y[i] = base + effect + 2 * flag[i]! + (opts.noise ?? 0.3) * gaussian(rnd);
  }
  const columns = new Map<string, Column>([
    ['id', { kind: 'text', values: Array.from({ length: rows }, (_, i) => `h${i}`) }],
    ['x1', { kind: 'numeric', values: x1 }],
    ['x2', { kind: 'numeric', values: x2 }],
    ['flag', { kind: 'numeric', values: flag }],
    ['kind', { kind: 'categorical', codes: kind, categories: kinds }],
    ['y', { kind: 'numeric', values: y }],
  ]);
  return { rows, columns };
}

function gaussian(rnd: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
}

export function std(v: Float64Array): number {
  let m = 0;
  for (const x of v) m += x;
  m /= v.length;
  let s = 0;
  for (const x of v) s += (x - m) ** 2;
  return Math.sqrt(s / v.length);
}
