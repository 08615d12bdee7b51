// Online latency through `mltk serve` on 127.0.0.1 (the Lambda handler behind a local HTTP server):
// cold start, then p50/p99 of sequential keep-alive requests of 1 and of 100 instances.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import type { ModelConfig } from '../../pipeline/config/index.ts';
import { readCsvTable } from '../../pipeline/data/index.ts';
import { instanceOf, trainingSpecs } from '../../pipeline/predict/testdata.ts';
import { synthCsv } from '../train/data.ts';
import { MLTK } from './startup.ts';

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

export interface OnlineResult {
  coldMs: number;
  loadMs: number;
  one: { p50: number; p99: number; n: number; server50: number; server99: number };
  hundred: { p50: number; p99: number; n: number; server50: number; server99: number };
}

interface Server {
  url: string;
  loadMs: number;
  /** When its process was spawned (performance.now()). */
  startedAt: number;
  /** Spawn to the first 200. */
  coldMs: number;
  /** The handler's own per-request latency (its JSON log on stderr): the server's share of each round trip. */
  serverMs: number[];
  stop(): Promise<void>;
}

async function startServer(storeDir: string, config: ModelConfig, scorer: string, threads: number): Promise<Server> {
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    [
      MLTK,
      '--store',
      storeDir,
      '--json',
      'serve',
      '--model',
      `${config.name}@prod`,
      '--port',
      '0',
      '--threads',
      String(threads),
      '--scorer',
      scorer,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const serverMs: number[] = [];
  let errBuf = '';
  child.stderr.on('data', (d) => {
    errBuf += String(d);
    const lines = errBuf.split('\n');
    errBuf = lines.pop()!;
    for (const l of lines) {
      if (!l.startsWith('{')) continue;
      const j = JSON.parse(l) as { msg?: string; latency_ms?: number };
      if (j.msg === 'request' && j.latency_ms !== undefined) serverMs.push(j.latency_ms);
    }
  });
  const stop = async () => {
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  };
  try {
    let out = '';
    const ready = await new Promise<{ url: string; load_ms: number }>((resolve, reject) => {
      child.stdout.on('data', (d) => {
        out += String(d);
        try {
          resolve(JSON.parse(out));
        } catch {
          /* partial */
        }
      });
      child.once('exit', (c) => reject(new Error(`serve exited ${c}`)));
    });
    return { url: ready.url, loadMs: ready.load_ms, startedAt: t0, coldMs: 0, serverMs, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/**
 * Both scorers served at once (the fast evaluator, and ONNX Runtime as every model was served before
 * it), requests alternating between them one by one, so a busy machine slows both alike: per scorer,
 * cold start, then p50/p99 of sequential keep-alive requests of 1 and of 100 instances.
 */
export async function online(
  storeDir: string,
  config: ModelConfig,
  threads: number,
): Promise<{ fast: OnlineResult; ort: OnlineResult }> {
  const sample = await readCsvTable(createReadStream(await synthCsv(1000, 3)), trainingSpecs(config), {
    source: 'sample',
  });
  const instances = Array.from({ length: 100 }, (_, i) => instanceOf(config, sample, i));
  const post = async (server: Server, n: number) => {
    const res = await fetch(`${server.url}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instances: instances.slice(0, n) }),
    });
    if (res.status !== 200) throw new Error(`status ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
  };
  // Started one after the other: a cold start is measured alone.
  const servers: Server[] = [];
  try {
    for (const scorer of ['auto', 'onnxruntime']) {
      const server = await startServer(storeDir, config, scorer, threads);
      servers.push(server);
      await post(server, 1);
      server.coldMs = performance.now() - server.startedAt;
    }
    const loop = async (n: number, count: number) => {
      for (let i = 0; i < 50; i++) for (const s of servers) await post(s, n);
      for (const s of servers) s.serverMs.length = 0;
      const lat = servers.map(() => [] as number[]);
      for (let i = 0; i < count; i++) {
        for (let k = 0; k < servers.length; k++) {
          const t = performance.now();
          await post(servers[k]!, n);
          lat[k]!.push(performance.now() - t);
        }
      }
      await new Promise((r) => setTimeout(r, 200)); // the last log lines
      return servers.map((s, k) => {
        const sorted = lat[k]!.sort((a, b) => a - b);
        const server = [...s.serverMs].sort((a, b) => a - b);
        return {
          p50: pct(sorted, 50),
          p99: pct(sorted, 99),
          n: count,
          server50: pct(server, 50),
          server99: pct(server, 99),
        };
      });
    };
    const one = await loop(1, 2000);
    const hundred = await loop(100, 500);
    const result = (k: number): OnlineResult => ({
      coldMs: servers[k]!.coldMs,
      loadMs: servers[k]!.loadMs,
      one: one[k]!,
      hundred: hundred[k]!,
    });
    return { fast: result(0), ort: result(1) };
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

export function onlineLines(label: string, o: OnlineResult): string[] {
  const row = (name: string, r: OnlineResult['one']) =>
    `    ${name} p50 ${r.p50.toFixed(2)} ms · p99 ${r.p99.toFixed(2)} ms round trip (${r.n} requests); handler alone ` +
    `p50 ${r.server50.toFixed(2)} · p99 ${r.server99.toFixed(2)} ms`;
  return [
    `  ${label}: cold start (first 200 after process start) ${o.coldMs.toFixed(0)} ms, model load ${o.loadMs} ms`,
    row('1 instance:   ', o.one),
    row('100 instances:', o.hundred),
  ];
}
