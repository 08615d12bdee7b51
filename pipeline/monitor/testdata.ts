// Deterministic samples and tables for the monitor's tests and bench (the trainer's seeded generator).
import { spawnSync } from 'node:child_process';
import type { FeatureSpec } from '../config/index.ts';
import type { Table } from '../data/index.ts';
import { mulberry32 } from '../train/index.ts';

const PYTHON = '/usr/bin/python3';

/** A seeded uniform generator (the trainer's mulberry32). */
export const uniform = mulberry32;

/** Box–Muller normals. */
export function normals(n: number, seed: number, mean = 0, sd = 1): Float64Array {
  const u = uniform(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = mean + sd * Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
  return out;
}

/** A table with numeric "x", boolean "flag" and categorical "colour" (red/green/blue), optionally shifted. */
export function sampleTable(
  rows: number,
  seed: number,
  opts: { shift?: number; blueShare?: number; flagShare?: number; missingX?: number; extraColour?: string } = {},
): Table {
  const u = uniform(seed + 1000);
  const x = normals(rows, seed, opts.shift ?? 0, 1);
  const flag = new Float64Array(rows);
  const codes = new Int32Array(rows);
  const blue = opts.blueShare ?? 0.2;
  for (let i = 0; i < rows; i++) {
    if (u() < (opts.missingX ?? 0)) x[i] = NaN;
    flag[i] = u() < (opts.flagShare ?? 0.3) ? 1 : 0;
    const r = u();
    codes[i] = opts.extraColour && r < 0.1 ? 3 : r < blue ? 2 : r < blue + (1 - blue) / 2 ? 1 : 0;
  }
  const categories = ['red', 'green', 'blue', ...(opts.extraColour ? [opts.extraColour] : [])];
  return {
    rows,
    columns: new Map([
      ['x', { kind: 'numeric', values: x }],
      ['flag', { kind: 'numeric', values: flag }],
      ['colour', { kind: 'categorical', codes, categories }],
    ]),
  };
}

export const sampleFeatures: FeatureSpec[] = [
  { name: 'x', type: 'numeric', nullable: true, min: -3, max: 3 },
  { name: 'flag', type: 'boolean', nullable: false },
  { name: 'colour', type: 'categorical', nullable: false, values: ['red', 'green', 'blue'] },
];

/** Why scipy comparisons must skip here, or undefined when /usr/bin/python3 has scipy. */
export function scipyUnavailable(): string | undefined {
  const r = spawnSync(PYTHON, ['-c', 'import scipy, numpy'], { stdio: 'ignore' });
  return r.status === 0 ? undefined : `${PYTHON} with scipy not found (apt-get install python3-scipy)`;
}

/** Runs a Python snippet that reads JSON `input` from stdin and prints JSON. */
export function runPython<T>(script: string, input: unknown): T {
  const r = spawnSync(PYTHON, ['-c', script], { input: JSON.stringify(input), encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}
