// Test support: runs the real `mltk` executable as a process and returns its exit code and output,
// also on failure (execFile rejects on a non-zero exit; the CLI contract is what it printed).
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const MLTK_BIN = join(REPO_ROOT, 'pipeline/cli/bin.js');
const CRASH_CHILD = join(REPO_ROOT, 'pipeline/testing/crash-child.ts');
// Resolved here, not by the child: the child may run in a folder with no node_modules.
const TSX_LOADER = import.meta.resolve('tsx');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * How to start a process that file permissions apply to: as root (tests here run as root), without the
 * two capabilities that bypass them, through util-linux's setpriv. Undefined when that is impossible.
 */
export function permissionsEnforcedPrefix(): string[] | undefined {
  if (process.getuid?.() !== 0) return [];
  const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));
  return setpriv ? [setpriv, '--bounding-set=-dac_override,-dac_read_search'] : undefined;
}

export async function runMltk(
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; enforcePermissions?: boolean } = {},
): Promise<CliResult> {
  const prefix = opts.enforcePermissions ? permissionsEnforcedPrefix() : [];
  if (!prefix) throw new Error('cannot run a process that file permissions apply to (no setpriv)');
  const [file, ...pre] = prefix.length ? prefix : [process.execPath];
  const argv = prefix.length ? [...pre, process.execPath, MLTK_BIN, ...args] : [MLTK_BIN, ...args];
  try {
    const { stdout, stderr } = await run(file!, argv, {
      cwd: opts.cwd ?? REPO_ROOT,
      env: opts.env ?? process.env,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

export interface RunningMltk {
  /** The command's --json result document (printed once it is up, e.g. `mltk serve`'s url). */
  doc: Record<string, unknown>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/** Starts a long-running `mltk … --json` command (e.g. `serve`) and resolves once it printed its document. */
export function startMltk(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RunningMltk> {
  const child = spawn(process.execPath, [MLTK_BIN, ...args, '--json'], {
    cwd: opts.cwd ?? REPO_ROOT,
    env: opts.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += String(d);
  });
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      stdout += String(d);
      try {
        const doc = JSON.parse(stdout) as Record<string, unknown>;
        resolve({
          doc,
          stop: () => {
            child.kill('SIGTERM');
            return exited;
          },
        });
      } catch {
        /* not the whole document yet */
      }
    });
    void exited.then((code) =>
      reject(new Error(`mltk ${args.join(' ')} exited ${code} before printing its document: ${stderr.slice(-500)}`)),
    );
  });
}

export interface CrashPoint {
  backend: 'S3Store' | 'LocalStore';
  /** The store method to stop at, e.g. `move`. */
  method: string;
  /** Stops at the first call whose first key matches. */
  key: RegExp;
}

/**
 * Runs `mltk ARGS` until it reaches `at` (through the real code; see crash-child.ts), then kills it
 * with SIGKILL: what the store holds afterwards is what a kill -9 there leaves behind.
 */
export async function killMltkAt(
  at: CrashPoint,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'mltk-crash-'));
  const marker = join(dir, 'reached');
  const child = spawn(
    process.execPath,
    ['--import', TSX_LOADER, CRASH_CHILD, marker, at.backend, at.method, at.key.source, '--', ...args],
    {
      cwd: opts.cwd ?? REPO_ROOT,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += String(d);
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  let done = false;
  void exited.then(() => {
    done = true;
  });
  try {
    while (!existsSync(marker)) {
      if (done)
        throw new Error(
          `mltk ${args.join(' ')} exited (${await exited}) before reaching ${at.method} ${at.key}: ` +
            stderr.slice(-800),
        );
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill('SIGKILL');
    await exited;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
