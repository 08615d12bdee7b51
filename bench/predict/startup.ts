// Start-up: what a user waits for before any work, as whole processes: `mltk --version`, `mltk --help`,
// and `mltk predict` on a 100-row file (its fixed cost: start, model fetch and load, the fast path's
// proof, workers, a first block), beside bare `node -e 0`. Rounds interleave the four commands.
import { join } from 'node:path';
import { median, timed, type Command } from './measure.ts';

export const MLTK = join(import.meta.dirname, '../../pipeline/cli/bin.js');

export function startupLines(storeDir: string, smallCsv: string, outDir: string, rounds: number): string[] {
  const node = (label: string, ...args: string[]): Command => ({ label, cmd: process.execPath, args });
  const commands = [
    node('node -e 0 (bare Node.js, for reference)', '-e', '0'),
    node('mltk --version', MLTK, '--version'),
    node('mltk --help', MLTK, '--help'),
    node(
      'mltk predict, 100 rows (fixed cost)',
      MLTK,
      '--store',
      storeDir,
      'predict',
      '--model',
      'sap_change@prod',
      '--input',
      smallCsv,
      '--output',
      join(outDir, 'small.out.csv'),
    ),
  ];
  for (const c of commands) timed(c); // the first start after a build, and the page cache, are not start-up
  const walls = commands.map(() => [] as number[]);
  const cpus = commands.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    commands.forEach((c, k) => {
      const run = timed(c);
      walls[k]!.push(run.wall);
      cpus[k]!.push(run.cpu);
    });
  }
  return [
    `start-up, whole processes, median of ${rounds} interleaved rounds (targets: --version and --help under 0.3 s, ` +
      `predict's fixed cost under 0.5 s):`,
    ...commands.map(
      (c, k) => `  ${c.label.padEnd(46)} wall ${median(walls[k]!).toFixed(3)} s  cpu ${median(cpus[k]!).toFixed(3)} s`,
    ),
  ];
}
