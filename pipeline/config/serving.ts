// The online API's two request limits and the rule that makes them agree: a request of the most
// instances allowed, each as wide as the model's signature lets it be, fits under the body limit,
// which itself fits in what Lambda takes. Checked when a config is parsed (schema.ts).
import type { z } from 'zod';
import type { featureSchema } from './schema.ts';

/**
 * The largest body the config may allow. Lambda takes a synchronous invocation of at most 6 MB
 * (6,291,456 bytes) for the whole API Gateway event, in which the body is a JSON string (every `"`
 * of it escaped, about a tenth of an instances body) beside the headers and request context.
 */
export const MAX_BODY_BYTES_LIMIT = 5_500_000;
/** Defaults: 5,000 of the widest shipped instances (699 bytes) take 3.5 MB, pretty-printed about 4.3 MB. */
export const DEFAULT_MAX_BODY_BYTES = 5_000_000;
export const DEFAULT_MAX_INSTANCES = 5_000;

/** The longest a double prints in JSON (`-2.2250738585072014e-308`). */
const NUMBER_CHARS = 24;
/** `{"instances":[` … `]}` */
const ENVELOPE_BYTES = '{"instances":[]}'.length;

/**
 * Bytes of the widest instance the signature allows in compact JSON: every feature present, a
 * number as long as a double prints, a boolean as `false`, a category as its longest allowed value.
 */
export function widestInstanceBytes(features: readonly z.infer<typeof featureSchema>[]): number {
  let bytes = 2 + Math.max(0, features.length - 1); // braces and commas
  for (const f of features) {
    const value =
      f.type === 'numeric'
        ? NUMBER_CHARS
        : f.type === 'boolean'
          ? 'false'.length
          : Math.max(...f.values.map((v) => Buffer.byteLength(JSON.stringify(v))));
    bytes += Buffer.byteLength(JSON.stringify(f.name)) + 1 + value;
  }
  return bytes;
}

/** Bytes of a compact request of `instances` widest instances (comma-separated). */
export function widestRequestBytes(features: readonly z.infer<typeof featureSchema>[], instances: number): number {
  return ENVELOPE_BYTES + instances * (widestInstanceBytes(features) + 1) - 1;
}

/** The most widest instances a body of `bytes` holds. */
export function instancesWithin(features: readonly z.infer<typeof featureSchema>[], bytes: number): number {
  return Math.max(0, Math.floor((bytes - ENVELOPE_BYTES + 1) / (widestInstanceBytes(features) + 1)));
}
