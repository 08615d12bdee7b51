// Whether a RUNNING run is still running. Its process writes `heartbeat_at` every HEARTBEAT_MS while it
// runs and FINISHED or FAILED when it ends; a process killed in between (kill -9, a lost runner, out of
// memory) writes neither, and its run would read RUNNING for ever. Readers judge it instead, without
// writing anything: abandoned when its process is provably gone (same host, no such process id) or
// when it has been silent for ABANDONED_AFTER_MS (another host, or a run recorded by an older mltk).
import { writerGone } from '../store/index.ts';
import type { RunManifest } from './manifest.ts';

/** How often a running run rewrites its manifest with a fresh `heartbeat_at`. */
export const HEARTBEAT_MS = 60_000;
/**
 * Silence after which a RUNNING run is abandoned. Training blocks the event loop between heartbeats
 * (the kernels run on the main thread too): 1M rows train in about 15 s, so this leaves a wide margin.
 */
export const ABANDONED_AFTER_MS = 30 * 60_000;

/** Why `run` is abandoned, or undefined when it is not RUNNING or may still be running. */
export function abandonedBecause(run: RunManifest, now = Date.now()): string | undefined {
  if (run.status !== 'RUNNING') return undefined;
  if (run.writer && writerGone(run.writer))
    return `its process ${run.writer.pid} on ${run.writer.host} ended without finishing the run`;
  const last = run.heartbeat_at ?? run.started_at;
  const silentMs = now - Date.parse(last);
  if (silentMs > ABANDONED_AFTER_MS)
    return `no sign of life since ${last} (${Math.floor(silentMs / 60_000)} minutes; a running run writes one every ${
      HEARTBEAT_MS / 1000
    } s)`;
  return undefined;
}

/** The run as a reader should show it: ABANDONED, with the reason, when its process is gone or silent. */
export function seenStatus(run: RunManifest, now = Date.now()): RunManifest {
  const why = abandonedBecause(run, now);
  return why ? { ...run, status: 'ABANDONED', abandoned: why } : run;
}
