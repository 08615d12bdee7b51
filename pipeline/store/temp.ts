// Temporary files, `TARGET.tmp-PID-HOST-RANDOM`: written next to their target and renamed into
// place, so a reader never sees half a file. A writer killed mid-write (kill -9, out of memory)
// leaves its temp behind; the next write into the same folder (a folder store's first write there,
// or writeFileAtomically of the same target) removes the temps whose writer is provably gone (this
// host, a dead process id) or, written on another host, that nobody has touched for STALE_TEMP_MS;
// never the temp of a process of this host that is still running, however long it has been idle.
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readdir, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { currentWriter, writerGone } from './owner.ts';

const TEMP_MARKER = '.tmp-';
/**
 * A live writer streams into its temp, so its modification time keeps moving; one untouched for
 * an hour belongs to a writer that is gone. This bound is for the temps whose writer cannot be
 * checked: written on another host (a shared folder) or by an older mltk without the host tag.
 */
export const STALE_TEMP_MS = 60 * 60 * 1000;

// Six hex digits of the host name's hash: enough to tell hosts sharing a folder apart.
const HOST_TAG = createHash('sha256').update(currentWriter().host).digest('hex').slice(0, 6);
const TEMP_NAME = /\.tmp-(\d+)-([0-9a-f]{6})-[0-9a-f]+$/;

export function tempPathFor(target: string): string {
  return `${target}${TEMP_MARKER}${process.pid}-${HOST_TAG}-${randomBytes(6).toString('hex')}`;
}

export function isTempName(name: string): boolean {
  return name.includes(TEMP_MARKER);
}

/**
 * Whether a temp file can be removed without harming a writer that is still running. A live process
 * id of this host keeps its temp even when idle for hours (a put waiting on a slow source) and even
 * when the id was reused by another process: the temp goes at a later write, once that process ends.
 */
function isStaleTemp(name: string, mtimeMs: number, now = Date.now()): boolean {
  const m = TEMP_NAME.exec(name);
  if (m && m[2] === HOST_TAG) return writerGone({ host: currentWriter().host, pid: Number(m[1]) }) === true;
  return now - mtimeMs > STALE_TEMP_MS;
}

/**
 * Removes stale temps in `dir` (of `target` only, when given): the ones a killed writer left.
 * Returns the paths removed. A temp that vanishes meanwhile was its writer's to rename.
 */
export async function removeStaleTemps(dir: string, target?: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const prefix = target === undefined ? undefined : `${basename(target)}${TEMP_MARKER}`;
  const removed: string[] = [];
  for (const name of names) {
    if (!isTempName(name) || (prefix !== undefined && !name.startsWith(prefix))) continue;
    const path = join(dir, name);
    const st = await stat(path).catch(() => undefined);
    if (!st?.isFile() || !isStaleTemp(name, st.mtimeMs)) continue;
    await unlink(path).then(
      () => removed.push(path),
      () => undefined,
    );
  }
  return removed;
}

/**
 * Writes `path` through a temp renamed into place: the file appears whole or not at all. Stale
 * temps of the same path (from a killed earlier write) are removed first.
 */
export async function writeFileAtomically(path: string, body: AsyncIterable<Buffer> | Buffer | string): Promise<void> {
  await removeStaleTemps(dirname(path), path);
  const tmp = tempPathFor(path);
  const source = typeof body === 'string' || Buffer.isBuffer(body) ? Readable.from([Buffer.from(body)]) : body;
  try {
    await pipeline(source, createWriteStream(tmp, { highWaterMark: 1 << 20 }));
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}
