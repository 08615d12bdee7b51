// Which process wrote a lock, a temporary file or a RUNNING run, and whether it can still be
// running: on this host a dead process id proves it is gone; on another host nothing can be
// proved, and callers fall back to an age bound.
import { hostname } from 'node:os';

export interface WriterId {
  host: string;
  pid: number;
}

export function currentWriter(): WriterId {
  return { host: hostname(), pid: process.pid };
}

/**
 * True when the writer is certainly gone (same host, no such process), false when it may still
 * run (alive, or a reused id we cannot tell apart), undefined when it ran on another host.
 */
export function writerGone(w: WriterId): boolean | undefined {
  if (w.host !== hostname()) return undefined;
  if (w.pid === process.pid) return false;
  try {
    process.kill(w.pid, 0);
    return false;
  } catch (e) {
    // EPERM: the process exists but belongs to another user.
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
