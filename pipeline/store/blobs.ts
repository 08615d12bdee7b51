// Content-addressed blobs (`blobs/sha256/ab/cdef…`, as DVC's cache): dataset bytes, stored once,
// and every read re-hashes what it got, so corruption is an error, never silent. Model artifacts
// have their own prefix per model (artifacts.ts).
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, unlink, stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { IntegrityError, InvalidInputError, NotFoundError, quoted } from '../errors/index.ts';
import { BLOBS_PREFIX, shardedDigest } from './layout.ts';
import type { ObjectStore } from './types.ts';

export interface BlobRef {
  sha256: string;
  bytes: number;
}

const SHA256 = /^[0-9a-f]{64}$/;

export function blobKey(sha256: string): string {
  if (!SHA256.test(sha256)) throw new InvalidInputError(`${quoted(sha256)} is not a sha256 hex digest`);
  return `${BLOBS_PREFIX}${shardedDigest(sha256)}`;
}

/**
 * Uploads whose hash is known only at their end are staged here first (`tmp/uploads/ID`), then moved
 * to their content address. Nothing else lives under `tmp/`: a leftover there is garbage from a
 * process that died mid-way (see commitStagedBlob), never part of any version.
 */
export const STAGING_PREFIX = 'tmp/uploads/';

export function stagingKey(id: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(id)) throw new InvalidInputError(`invalid staging id ${quoted(id)}`);
  return `${STAGING_PREFIX}${id}`;
}

/**
 * Makes a staged upload the blob `ref`: moved to its content address, or dropped when those bytes are
 * already stored. A crash before the move leaves the staged object (a rerun of the same upload
 * replaces and moves it); after the move, a blob no manifest names yet, which the rerun reuses.
 */
export async function commitStagedBlob(store: ObjectStore, staged: string, ref: BlobRef): Promise<void> {
  const info = await store.head(staged);
  if (info?.size !== ref.bytes) {
    throw new IntegrityError(
      `${store.url}: staged upload "${staged}" holds ${info?.size ?? 'no'} bytes, not the ${
        ref.bytes
      } hashed on the way in`,
    );
  }
  if (await store.head(blobKey(ref.sha256))) await store.delete(staged);
  else await store.move(staged, blobKey(ref.sha256));
}

/**
 * Copies blob `sha256` from one store to another, streaming and re-hashing it on the way: a corrupt
 * or missing source blob fails with the source key named, and nothing is written to `to` (the bytes
 * are checked before the upload completes). An existing blob in `to` is kept as is.
 */
export async function copyBlob(from: ObjectStore, to: ObjectStore, sha256: string, bytes?: number): Promise<BlobRef> {
  const key = blobKey(sha256);
  const have = await to.head(key);
  if (have) return { sha256, bytes: have.size };
  const where = `${from.url}/${key}`;
  const source = await from.head(key);
  if (!source) throw new NotFoundError(`${where}: the source blob is missing; nothing was copied`);
  if (bytes !== undefined && source.size !== bytes) {
    throw new IntegrityError(
      `${where}: the source blob is corrupt (${source.size} bytes, its manifest says ${bytes}); nothing was copied`,
    );
  }
  try {
    await to.putStream(key, getBlobStream(from, sha256));
  } catch (e) {
    if (e instanceof IntegrityError)
      throw new IntegrityError(`${where}: the source blob is corrupt (${e.message}); nothing was copied`, { cause: e });
    throw e;
  }
  return { sha256, bytes: source.size };
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
  if (actual !== sha256)
    throw new IntegrityError(`${store.url}: blob ${sha256} is corrupt (its content hashes to ${actual})`);
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
  if (actual !== sha256)
    throw new IntegrityError(`${store.url}: blob ${sha256} is corrupt (its content hashes to ${actual})`);
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
    await pipeline(
      src,
      async function* (s: AsyncIterable<Buffer>) {
        for await (const chunk of s) {
          hash.update(chunk);
          yield chunk;
        }
      },
      createWriteStream(tmp),
    );
    const actual = hash.digest('hex');
    if (actual !== sha256)
      throw new IntegrityError(
        `${store.url}: blob ${sha256} is corrupt (its content hashes to ${actual}); ${outPath} was not written`,
      );
    await rename(tmp, outPath);
    return { sha256, bytes: (await stat(outPath)).size };
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}
