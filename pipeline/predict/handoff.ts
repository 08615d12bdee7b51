// Objects too large for one invocation are handed off instead of scored here: the route (in the
// Lambda, pipeline/scale's trigger of the Step Functions state machine) says which, and starts their run.
import type { Logger } from '../log/index.ts';
import type { ObjectStore } from '../store/index.ts';
import type { S3ObjectRef } from './events.ts';

/** The object version a hand-off names: an S3 event's bucket, key, ETag, version and size. */
export interface ObjectToHandOff {
  bucket: string;
  key: string;
  etag: string;
  versionId?: string;
  size: number;
}

/** A handed-off object: the run that scores it. `duplicate`: the run was started by an earlier event. */
export interface HandedOff {
  status: 'sharded';
  input_key: string;
  run_id: string;
  execution_arn: string;
  duplicate: boolean;
}

export interface LargeObjectRoute {
  /** True for an object of `size` bytes that is not scored here. */
  takes(size: number): boolean;
  start(object: ObjectToHandOff): Promise<HandedOff>;
}

export type Skipped = { status: 'skipped'; input_key: string; reason: string };

/**
 * Hands `ref` to `route` when the route takes its size (from the event; a HEAD when the event has no
 * size or ETag); undefined when the object is to be scored here.
 */
export async function handOffLarge(
  route: LargeObjectRoute,
  ref: S3ObjectRef,
  input: ObjectStore,
  log: Logger,
): Promise<HandedOff | Skipped | undefined> {
  const info =
    ref.size !== undefined && ref.etag !== undefined ? { size: ref.size, etag: ref.etag } : await input.head(ref.key);
  if (!info) {
    // Deleted between the notification and now: retrying (Lambda's default) cannot help.
    const reason = `${input.url}: no object at "${ref.key}"`;
    log.log('warn', 'object skipped', { bucket: ref.bucket, key: ref.key, reason });
    return { status: 'skipped', input_key: ref.key, reason };
  }
  if (!route.takes(info.size)) return undefined;
  const res = await route.start({
    bucket: ref.bucket,
    key: ref.key,
    etag: info.etag,
    ...(ref.versionId ? { versionId: ref.versionId } : {}),
    size: info.size,
  });
  log.log('info', 'batch sharded', {
    bucket: ref.bucket,
    key: ref.key,
    bytes: info.size,
    run_id: res.run_id,
    execution_arn: res.execution_arn,
    duplicate: res.duplicate,
  });
  return res;
}
