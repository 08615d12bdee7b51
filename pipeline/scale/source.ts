// The input a run scores, read whole (the plan) or by byte range (each shard), always the same bytes:
// ranges are read with If-Match on the ETag the plan recorded, so an object replaced mid-run is an
// error, never a mix of two versions.
import { ConflictError, IntegrityError, NotFoundError } from '../errors/index.ts';
import { batchFormat, type BatchFormat } from '../predict/index.ts';
import type { ObjectStore } from '../store/index.ts';

export interface InputSource {
  /** Names the input in messages and manifests (`s3://bucket/key`, or the file's path). */
  readonly source: string;
  /** The store it is in (its URL: `s3://bucket`, or a folder) and its key there. */
  readonly url: string;
  readonly key: string;
  readonly format: BatchFormat;
  /** The version every read is pinned to. */
  readonly etag: string;
  readonly size: number;
  /** Bytes [start, end). */
  range(start: number, end: number): AsyncIterable<Buffer>;
}

/**
 * `key` of `store` at its current version (or `expect`, the ETag an event named: a different current
 * version is refused, since that newer object has its own event).
 */
export async function storedInput(
  store: ObjectStore,
  key: string,
  opts: { source?: string; expectEtag?: string } = {},
): Promise<InputSource> {
  const format = batchFormat(key);
  const source = opts.source ?? `${store.url}/${key}`;
  if (!format) throw new IntegrityError(`${source}: expected a .csv, .jsonl or .ndjson input`);
  const info = await store.head(key);
  if (!info) throw new NotFoundError(`${source}: no such object (deleted since its event?)`);
  const bare = (etag: string) => etag.replace(/^"|"$/g, '');
  if (opts.expectEtag !== undefined && bare(opts.expectEtag) !== bare(info.etag))
    throw new IntegrityError(
      `${source} is no longer the version its event named (ETag ${opts.expectEtag}, now ${info.etag}); ` +
        'the newer object is scored by its own event',
    );
  return pinnedInput(store, key, { source, etag: info.etag, size: info.size, format });
}

/** An input whose version is already known (a shard or finalize reading what the plan recorded). */
export function pinnedInput(
  store: ObjectStore,
  key: string,
  pin: { source: string; etag: string; size: number; format: BatchFormat },
): InputSource {
  return {
    ...pin,
    url: store.url,
    key,
    async *range(start: number, end: number) {
      let body: AsyncIterable<Buffer>;
      try {
        body = await store.getRange(key, start, end, { ifMatch: pin.etag });
      } catch (e) {
        if (!(e instanceof ConflictError)) throw e;
        throw new IntegrityError(
          `${pin.source} changed while it was being scored (planned at ETag ${pin.etag}); ` +
            'nothing final was written: its new version is scored by its own event',
          { cause: e },
        );
      }
      yield* body;
    },
  };
}
