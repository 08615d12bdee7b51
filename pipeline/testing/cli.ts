// Test support: runs the real `mltk` executable as a process and returns its exit code and output,
// also on failure (execFile rejects on a non-zero exit; the CLI contract is what it printed).
import { execFile } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const MLTK_BIN = join(REPO_ROOT, 'pipeline/cli/bin.js');

export interface CliResult { code: number; stdout: string; stderr: string }

export async function runMltk(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [MLTK_BIN, ...args], { cwd: opts.cwd ?? REPO_ROOT, env: opts.env ?? process.env });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}
