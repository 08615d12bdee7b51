// Test support: a real AWS protocol server (moto) on a free loopback port, one per test file.
// Where moto is not installed, callers get a `skip` reason to pass to node:test, so the skip is visible.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

export interface MotoServer {
  endpoint: string;
  env: Record<string, string>;
  stop(): Promise<void>;
}

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
  if (spawnSync('python3', ['-c', 'import moto.server'], { stdio: 'ignore' }).status === 0) return ['python3', '-m', 'moto.server'];
  return undefined;
}

let cachedCommand: string[] | undefined | null = null;

/** Why moto tests must skip here, or undefined when moto is available. */
export function motoUnavailable(): string | undefined {
  if (cachedCommand === null) cachedCommand = motoCommand();
  return cachedCommand ? undefined : 'moto_server not found (install it with: pip install "moto[server]")';
}

export async function startMoto(): Promise<MotoServer> {
  if (motoUnavailable()) throw new Error(motoUnavailable());
  const [cmd, ...args] = cachedCommand!;
  const port = await freePort();
  const child: ChildProcess = spawn(cmd!, [...args, '-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d) => { stderr += String(d); });
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto_server exited early: ${stderr.slice(-500)}`);
    try {
      const res = await fetch(`${endpoint}/moto-api/`);
      if (res.status < 500) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) { child.kill('SIGKILL'); throw new Error(`moto_server did not start on ${endpoint}: ${stderr.slice(-500)}`); }
    await new Promise((r) => setTimeout(r, 100));
  }
  const env = {
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_REGION: 'eu-west-2',
  };
  return {
    endpoint,
    env,
    stop: () => new Promise<void>((resolve) => {
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
