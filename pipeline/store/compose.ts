// One object made of others, in order (the parts of a sharded run assembled into one output). On S3 it
// is a multipart upload whose parts are server-side copies (UploadPartCopy: the bytes never leave S3),
// except where S3's rule that every part but the last be at least 5 MiB forbids: small pieces are read
// and uploaded together, topped up from the head of the next large source, so at most about two minimum
// parts' worth of bytes is ever read per part. This module plans the parts; the backends run them.
import { ConfigError } from '../errors/index.ts';

/** A piece of the composed object: a stored object, or bytes given here (a header line). */
export type ComposeSource = { key: string } | { bytes: Buffer };

/** S3's limits: every part but the last at least 5 MiB, a copied part at most 5 GiB, at most 10,000 parts. */
export interface ComposeLimits {
  minPartBytes: number;
  maxCopyPartBytes: number;
  maxParts: number;
}

export const S3_COMPOSE_LIMITS: ComposeLimits = {
  minPartBytes: 5 * 2 ** 20,
  maxCopyPartBytes: 2 * 2 ** 30,
  maxParts: 10_000,
};

/** Bytes [start, end) of a stored object, or given bytes. */
export type Slice = { key: string; start: number; end: number } | { bytes: Buffer };

/** One part of the multipart upload: a server-side copy of a range, or slices read and uploaded as one body. */
export type ComposePart =
  | { kind: 'copy'; key: string; start: number; end: number }
  | { kind: 'upload'; slices: Slice[]; bytes: number };

const sliceBytes = (s: Slice) => ('bytes' in s ? s.bytes.length : s.end - s.start);

/** The parts that write `sources` (with their sizes) in order, each within `limits`. */
export function planCompose(
  sources: { source: ComposeSource; size: number }[],
  limits: ComposeLimits = S3_COMPOSE_LIMITS,
): ComposePart[] {
  const { minPartBytes: min, maxCopyPartBytes: maxCopy } = limits;
  if (maxCopy < 2 * min) throw new Error('internal: a copied part must be allowed at least two minimum parts');
  const parts: ComposePart[] = [];
  let slices: Slice[] = [];
  let buffered = 0;
  const take = (s: Slice) => {
    slices.push(s);
    buffered += sliceBytes(s);
  };
  const flush = () => {
    if (buffered > 0) parts.push({ kind: 'upload', slices, bytes: buffered });
    slices = [];
    buffered = 0;
  };
  for (const { source, size } of sources) {
    if (size === 0) continue;
    if ('bytes' in source) {
      take({ bytes: source.bytes });
      if (buffered >= min) flush();
      continue;
    }
    const { key } = source;
    let pos = 0;
    if (buffered > 0) {
      const need = min - buffered;
      if (size - need < min) {
        // What would be left to copy is under the minimum: read all of it.
        take({ key, start: 0, end: size });
        if (buffered >= min) flush();
        continue;
      }
      take({ key, start: 0, end: need });
      flush();
      pos = need;
    }
    const rest = size - pos;
    if (rest < min) {
      take({ key, start: pos, end: size });
      continue;
    }
    // Equal copies of at most maxCopy; with maxCopy ≥ 2·min none falls under the minimum.
    const count = Math.ceil(rest / maxCopy);
    for (let k = 0; k < count; k++) {
      const start = pos + Math.floor((rest * k) / count);
      const end = pos + Math.floor((rest * (k + 1)) / count);
      parts.push({ kind: 'copy', key, start, end });
    }
  }
  flush();
  if (parts.length > limits.maxParts)
    throw new ConfigError(
      `composing ${sources.length} objects needs ${parts.length} parts, over S3's ${limits.maxParts}: ` +
        'use fewer, larger shards (serving.batch.shard_bytes)',
    );
  return parts;
}
