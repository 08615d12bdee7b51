// Test support: a real AWS protocol server (moto) on a free loopback port, one per test file.
// Where moto is not installed, callers get a `skip` reason to pass to node:test, so the skip is visible.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';

export interface MotoServer {
  endpoint: string;
  env: Record<string, string>;
  /**
   * From now on every request must be signed by a known IAM identity and allowed by its policies
   * (moto's INITIAL_NO_AUTH_ACTION_COUNT = 0). Only on a server started with `iam: true`.
   */
  enforceIam(): Promise<void>;
  stop(): Promise<void>;
}

export interface MotoOptions {
  /**
   * Load pipeline/testing/moto-iam/sitecustomize.py into the server: the patches that make moto's
   * IAM simulation follow AWS's rules (see that file), for tests that call `enforceIam()`.
   */
  iam?: boolean;
  /** Widens moto's check-then-write window of S3 conditional writes (for the test of their atomicity). */
  raceDelayMs?: number;
}

/** Always on the server's PYTHONPATH: atomic S3 conditional writes, and the IAM patches when asked. */
const PATCH_DIR = join(import.meta.dirname, 'moto-s3');
const IAM_PATCH_DIR = join(import.meta.dirname, 'moto-iam');
const IAM_PATCH_BANNER = 'mltk-moto-iam: AWS IAM semantics patched';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function motoCommand(): string[] | undefined {
  if (spawnSync('moto_server', ['--help'], { stdio: 'ignore' }).status === 0) return ['moto_server'];
  if (spawnSync('python3', ['-c', 'import moto.server'], { stdio: 'ignore' }).status === 0)
    return ['python3', '-m', 'moto.server'];
  return undefined;
}

let cachedCommand: string[] | undefined | null = null;

/** Why moto tests must skip here, or undefined when moto is available. */
export function motoUnavailable(): string | undefined {
  if (cachedCommand === null) cachedCommand = motoCommand();
  return cachedCommand ? undefined : 'moto_server not found (install it with: pip install "moto[server]")';
}

export async function startMoto(opts: MotoOptions = {}): Promise<MotoServer> {
  if (motoUnavailable()) throw new Error(motoUnavailable());
  const [cmd, ...args] = cachedCommand!;
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PYTHONPATH: [PATCH_DIR, process.env.PYTHONPATH].filter(Boolean).join(delimiter),
    MLTK_MOTO_IAM: opts.iam ? '1' : '0',
    MLTK_MOTO_RACE_DELAY_MS: String(opts.raceDelayMs ?? 0),
  };
  const child: ChildProcess = spawn(cmd!, [...args, '-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env,
  });
  let stderr = '';
  // moto logs every request on stderr: keep the tail, enough for a start-up failure and the patch banner.
  child.stderr?.on('data', (d) => {
    stderr = (stderr + String(d)).slice(-65_536);
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto_server exited early: ${stderr.slice(-500)}`);
    try {
      const res = await fetch(`${endpoint}/moto-api/`);
      if (res.status < 500) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`moto_server did not start on ${endpoint}: ${stderr.slice(-500)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  if (opts.iam && !stderr.includes(IAM_PATCH_BANNER)) {
    child.kill('SIGKILL');
    throw new Error(`moto_server started without the IAM patches of ${IAM_PATCH_DIR}: ${stderr.slice(-500)}`);
  }
  return {
    endpoint,
    env: {
      AWS_ENDPOINT_URL: endpoint,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_REGION: 'eu-west-2',
    },
    enforceIam: async () => {
      if (!opts.iam) throw new Error('enforceIam() needs a server started with { iam: true }');
      const res = await fetch(`${endpoint}/moto-api/reset-auth`, { method: 'POST', body: '0' });
      if (!res.ok) throw new Error(`moto_server refused to enforce IAM: ${res.status} ${await res.text()}`);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Sets the AWS variables of `server` on process.env for the duration of a test file. */
export function useMotoEnv(server: MotoServer): void {
  Object.assign(process.env, server.env);
}
