// Local files a person names (--input, --config, --baseline, `data add FILE`), opened the same way by
// every command: opened and checked before any work starts, so a missing file, a directory and an
// unreadable file fail at once with the words of errors/files.ts, never as an unhandled stream error
// half-way through, and a stream is read from the file descriptor that was checked.
import { type FileHandle, open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { fileError } from '../errors/index.ts';

/** `path` opened for reading; a typed error (files.ts) when it is missing, a directory or unreadable. */
export async function openLocalFile(path: string, what: string): Promise<FileHandle> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw fileError(e, path, what);
  }
  // Opening a directory read-only succeeds on Linux; reading it fails later with EISDIR.
  const st = await fh.stat().catch((e: unknown) => e as Error);
  if (st instanceof Error || st.isDirectory()) {
    await fh.close();
    throw fileError(st instanceof Error ? st : { code: 'EISDIR' }, path, what);
  }
  return fh;
}

/** Fails as openLocalFile does, before a command loads a model or writes anything. */
export async function checkLocalFile(path: string, what: string): Promise<void> {
  await (await openLocalFile(path, what)).close();
}

export async function readLocalFile(path: string, what: string): Promise<Buffer> {
  const fh = await openLocalFile(path, what);
  try {
    return await fh.readFile();
  } catch (e) {
    throw fileError(e, path, what);
  } finally {
    await fh.close();
  }
}

/** A stream of the file's bytes (1 MiB reads); the file is open and checked when this resolves. */
export async function localFileStream(path: string, what: string): Promise<Readable> {
  const fh = await openLocalFile(path, what);
  return fh.createReadStream({ highWaterMark: 1 << 20 });
}
