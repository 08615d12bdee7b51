// Content-addressed blobs (`blobs/sha256/ab/cdef…`, as DVC's cache): identical bytes are
// stored once, and every read re-hashes what it got, so corruption is an error, never silent.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, unlink, stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { IntegrityError, InvalidInputError } from '../errors/index.ts';
import type { ObjectStore } from './types.ts';

export interface BlobRef {
  sha256: string;
  bytes: number;
}

const SHA256 = /^[0-9a-f]{64}$/;

export function blobKey(sha256: string): string {
  if (!SHA256.test(sha256)) throw new InvalidInputError(`"${sha256}" is not a sha256 hex digest`);
  return `blobs/sha256/${sha256.slice(0, 2)}/${sha256.slice(2)}`;
}

export function sha256Hex(body: Buffer | string): string {
  return createHash('sha256').update(body).digest('hex');
}

export async function putBlob(store: ObjectStore, body: Buffer | string): Promise<BlobRef> {
  const buf = Buffer.from(body);
  const sha256 = sha256Hex(buf);
  const key = blobKey(sha256);
  if (!(await store.head(key))) await store.put(key, buf);
  return { sha256, bytes: buf.length };
}

/** Streams a file's sha256 without reading it into memory. */
export async function hashFile(path: string): Promise<BlobRef> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

/** Uploads a file as a blob (streaming); `known` skips re-hashing when the caller already hashed it. */
export async function putBlobFile(store: ObjectStore, path: string, known?: BlobRef): Promise<BlobRef> {
  const ref = known ?? (await hashFile(path));
  const key = blobKey(ref.sha256);
  if (!(await store.head(key))) await store.putStream(key, createReadStream(path, { highWaterMark: 1 << 20 }));
  return ref;
}

export async function getBlob(store: ObjectStore, sha256: string): Promise<Buffer> {
  const body = await store.get(blobKey(sha256));
  const actual = sha256Hex(body);
  if (actual !== sha256) throw new IntegrityError(`${store.url}: blob ${sha256} is corrupt (its content hashes to ${actual})`);
  return body;
}

/**
 * A blob as a stream that hashes as it goes and fails at its end if the bytes do not match:
 * a consumer that reads to the end (a CSV reader) never completes on corrupt data.
 */
export async function* getBlobStream(store: ObjectStore, sha256: string): AsyncGenerator<Buffer> {
  const src = await store.getStream(blobKey(sha256));
  const hash = createHash('sha256');
  for await (const chunk of src) {
    hash.update(chunk as Buffer);
    yield chunk as Buffer;
  }
  const actual = hash.digest('hex');
  if (actual !== sha256) throw new IntegrityError(`${store.url}: blob ${sha256} is corrupt (its content hashes to ${actual})`);
}

/**
 * Streams a blob to `outPath`, hashing as it goes. The file appears only after the hash
 * checks out; a corrupt blob leaves nothing behind at `outPath`.
 */
export async function getBlobToFile(store: ObjectStore, sha256: string, outPath: string): Promise<BlobRef> {
  const src = await store.getStream(blobKey(sha256));
  const hash = createHash('sha256');
  const tmp = `${outPath}.tmp-${randomBytes(6).toString('hex')}`;
  try {
    await pipeline(src, async function* (s: AsyncIterable<Buffer>) {
      for await (const chunk of s) { hash.update(chunk); yield chunk; }
    }, createWriteStream(tmp));
    const actual = hash.digest('hex');
    if (actual !== sha256) throw new IntegrityError(`${store.url}: blob ${sha256} is corrupt (its content hashes to ${actual}); ${outPath} was not written`);
    await rename(tmp, outPath);
    return { sha256, bytes: (await stat(outPath)).size };
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}
