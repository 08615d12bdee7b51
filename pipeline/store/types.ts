// The object-store contract every backend meets: keys are '/'-separated paths under the store root.
import type { Readable } from 'node:stream';
import type { ComposeSource } from './compose.ts';

export interface ObjectInfo {
  size: number;
  /** Opaque version tag for compare-and-swap (S3 ETag, or a content hash locally). */
  etag: string;
}

export interface ObjectStore {
  /** The URL the store was opened from, for messages and manifests. */
  readonly url: string;
  /** Whole object; NotFoundError when absent. */
  get(key: string): Promise<Buffer>;
  getWithEtag(key: string): Promise<{ body: Buffer; etag: string }>;
  head(key: string): Promise<ObjectInfo | undefined>;
  put(key: string, body: Buffer | string): Promise<{ etag: string }>;
  /** Creates the key only if absent (S3 If-None-Match: *); ConflictError when it exists. */
  putIfAbsent(key: string, body: Buffer | string): Promise<{ etag: string }>;
  /** Replaces the key only if its current etag is `etag` (S3 If-Match); ConflictError otherwise. */
  putIfMatch(key: string, body: Buffer | string, etag: string): Promise<{ etag: string }>;
  /** Keys under `prefix`, sorted. */
  list(prefix: string): Promise<string[]>;
  getStream(key: string): Promise<Readable>;
  /**
   * Bytes [start, end) of `key`. With `ifMatch` (an etag from head()), ConflictError when the object
   * is no longer that version (S3 If-Match), so ranges read at different times are of the same bytes.
   */
  getRange(key: string, start: number, end: number, opts?: { ifMatch?: string }): Promise<Readable>;
  /**
   * Writes `to` as `sources` concatenated in order; `to` appears whole or not at all. S3: a multipart
   * upload of server-side copies (see compose.ts); a folder: a temp file renamed into place.
   */
  compose(to: string, sources: ComposeSource[]): Promise<{ etag: string }>;
  /** Streams `body` to `key`; the key appears only once the whole body is written. */
  putStream(key: string, body: Readable | AsyncIterable<Buffer>): Promise<{ etag: string }>;
  delete(key: string): Promise<void>;
  /**
   * Moves `from` to `to` inside the store, replacing `to` (S3: a server-side copy, then a delete of
   * `from`; a folder: rename). NotFoundError when `from` is absent.
   */
  move(from: string, to: string): Promise<void>;
}
