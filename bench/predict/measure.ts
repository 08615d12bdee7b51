// Timing for the benches: whole processes under /usr/bin/time (wall, CPU, peak RSS as the OS counts
// them), run as interleaved pairs A B A B … so a ratio compares runs that saw the same machine (a
// shared or throttled machine drifts during a run). Medians, never the best run.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Run {
  wall: number;
  cpu: number;
  rssMb: number;
  stdout: string;
}
export interface Command {
  label: string;
  cmd: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const scratch = mkdtempSync(join(tmpdir(), 'mltk-bench-time-'));
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));

/** One run of `c` under /usr/bin/time; throws with its stderr when it fails. */
export function timed(c: Command): Run {
  const out = join(scratch, 'time.txt');
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', '-o', out, c.cmd, ...c.args], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
    env: c.env ?? process.env,
  });
  if (r.status !== 0) throw new Error(`${c.label} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  const [wall, user, sys, kb] = readFileSync(out, 'utf8').trim().split('\n').pop()!.split(' ').map(Number) as [
    number,
    number,
    number,
    number,
  ];
  return { wall, cpu: user + sys, rssMb: kb / 1024, stdout: r.stdout };
}

export interface Pairs {
  a: Run[];
  b: Run[];
  ratios: number[];
}

/** `pairs` interleaved runs of a and b after one unmeasured run of each; ratios are a/b wall, pair by pair. */
export function interleaved(a: Command, b: Command, pairs: number): Pairs {
  timed(a);
  timed(b);
  const out: Pairs = { a: [], b: [], ratios: [] };
  for (let i = 0; i < pairs; i++) {
    const ra = timed(a);
    const rb = timed(b);
    out.a.push(ra);
    out.b.push(rb);
    out.ratios.push(ra.wall / rb.wall);
  }
  return out;
}

const f2 = (x: number) => x.toFixed(2);

/** One line per side (median wall, its spread, CPU, peak RSS) and the median ratio b/a (how many times faster a is). */
export function pairLines(p: Pairs, a: string, b: string): string[] {
  const side = (label: string, runs: Run[]) => {
    const walls = runs.map((r) => r.wall);
    return (
      `  ${label.padEnd(46)} wall ${f2(median(walls))} s [${f2(Math.min(...walls))}–${f2(Math.max(...walls))}]  ` +
      `cpu ${f2(median(runs.map((r) => r.cpu)))} s  peak RSS ${median(runs.map((r) => r.rssMb)).toFixed(0)} MB`
    );
  };
  const speedups = p.ratios.map((r) => 1 / r);
  return [
    side(a, p.a),
    side(b, p.b),
    `  → ${a.split(' (')[0]} is ${f2(median(speedups))}× as fast (median of ${p.ratios.length} pair ratios, range ` +
      `${f2(Math.min(...speedups))}–${f2(Math.max(...speedups))})`,
  ];
}
