// Start-up: what a user waits for before any work, as whole processes: `mltk --version`, `mltk --help`,
// and `mltk predict` on a 100-row file (its fixed cost: start, model fetch and load, the fast path's
// proof, workers, a first block), beside bare `node -e 0`. Predict twice: as it runs again on a model
// it has proven (the proof kept in its build, predict/proof-cache.ts), and proving it afresh (the first
// load of a model, or MLTK_PROOF_CACHE=0). Rounds interleave the five commands.
import { join } from 'node:path';
import { median, timed, type Command } from './measure.ts';

export const MLTK = join(import.meta.dirname, '../../pipeline/cli/bin.js');

export function startupLines(storeDir: string, smallCsv: string, outDir: string, rounds: number): string[] {
  const node = (label: string, ...args: string[]): Command => ({ label, cmd: process.execPath, args });
  const predict = (label: string, env: NodeJS.ProcessEnv, out: string): Command => ({
    ...node(
      label,
      MLTK,
      '--store',
      storeDir,
      'predict',
      '--model',
      'sap_change@prod',
      '--input',
      smallCsv,
      '--output',
      join(outDir, out),
    ),
    env: { ...process.env, ...env },
  });
  const commands = [
    node('node -e 0 (bare Node.js, for reference)', '-e', '0'),
    node('mltk --version', MLTK, '--version'),
    node('mltk --help', MLTK, '--help'),
    predict('mltk predict, 100 rows (fixed cost), proof kept', {}, 'small.out.csv'),
    predict('mltk predict, 100 rows, proof made (first load)', { MLTK_PROOF_CACHE: '0' }, 'small-proved.out.csv'),
  ];
  // The first start after a build, and the page cache, are not start-up; the first predict keeps its proof.
  for (const c of commands) timed(c);
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
      (c, k) => `  ${c.label.padEnd(50)} wall ${median(walls[k]!).toFixed(3)} s  cpu ${median(cpus[k]!).toFixed(3)} s`,
    ),
  ];
}
