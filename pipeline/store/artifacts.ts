// Model artifacts (ONNX models, baseline profiles, any file a model version is served or monitored
// with): content-addressed under the model's own prefix, `models/NAME/artifacts/sha256/ab/cdef…`, so
// an IAM policy can give a model's serving role its artifacts and nothing of the training data
// (`blobs/sha256/`). These functions are the one way to name, write, find and read them.
//
// Stores written before this layout hold artifacts at the shared `blobs/sha256/` key: readers fall
// back to it, and `mltk store migrate` copies them to their model's prefix (see migrateModelArtifacts).
import { AccessDeniedError, IntegrityError, InvalidInputError, NotFoundError, quoted } from '../errors/index.ts';
import { blobKey, sha256Hex, type BlobRef } from './blobs.ts';
import { checkSegment } from './keys.ts';
import { modelArtifactsPrefix, shardedDigest } from './layout.ts';
import type { ObjectStore } from './types.ts';

const SHA256 = /^[0-9a-f]{64}$/;

export function modelArtifactKey(model: string, sha256: string): string {
  checkSegment(model, 'model name');
  if (!SHA256.test(sha256)) throw new InvalidInputError(`${quoted(sha256)} is not a sha256 hex digest`);
  return `${modelArtifactsPrefix(model)}${shardedDigest(sha256)}`;
}

/** Stores `body` as an artifact of `model` (once: identical bytes are written once). */
export async function putModelArtifact(store: ObjectStore, model: string, body: Buffer | string): Promise<BlobRef> {
  const buf = Buffer.from(body);
  const sha256 = sha256Hex(buf);
  const key = modelArtifactKey(model, sha256);
  if (!(await store.head(key))) await store.put(key, buf);
  return { sha256, bytes: buf.length };
}

/** Where the artifact is stored: its model's key, else the legacy shared blob key; undefined when neither. */
export async function findModelArtifact(
  store: ObjectStore,
  model: string,
  sha256: string,
): Promise<string | undefined> {
  const key = modelArtifactKey(model, sha256);
  if (await store.head(key)) return key;
  const legacy = blobKey(sha256);
  return (await store.head(legacy)) ? legacy : undefined;
}

/**
 * An artifact's bytes, hash-verified (IntegrityError on a mismatch); the legacy key is read if the model's is absent.
 */
export async function getModelArtifact(store: ObjectStore, model: string, sha256: string): Promise<Buffer> {
  const key = modelArtifactKey(model, sha256);
  let body: Buffer;
  try {
    body = await store.get(key);
  } catch (e) {
    if (!(e instanceof NotFoundError)) throw e;
    body = await getLegacy(store, model, sha256, key);
  }
  const actual = sha256Hex(body);
  if (actual !== sha256)
    throw new IntegrityError(
      `${store.url}: artifact ${sha256} of ${model} is corrupt (its content hashes to ${actual})`,
    );
  return body;
}

async function getLegacy(store: ObjectStore, model: string, sha256: string, key: string): Promise<Buffer> {
  const legacy = blobKey(sha256);
  try {
    return await store.get(legacy);
  } catch (e) {
    const hint = `${store.url}: artifact ${sha256} of ${model} is not at "${key}"`;
    if (e instanceof NotFoundError) throw new NotFoundError(`${hint} nor at the older "${legacy}"`);
    // A role scoped to models/NAME/ may not read blobs/: the store predates the layout and was not migrated.
    if (e instanceof AccessDeniedError)
      throw new AccessDeniedError(`${hint}; ${e.message} (run \`mltk store migrate\` on ${store.url})`, { cause: e });
    throw e;
  }
}

export interface MigrationReport {
  /** Artifacts copied from the legacy key to their model's prefix. */
  copied: { model: string; sha256: string; from: string; to: string }[];
  /** Already under their model's prefix. */
  present: number;
  /** Named by a version but stored under neither key. */
  missing: { model: string; sha256: string }[];
}

/**
 * Copies every artifact the given versions name from the legacy shared key to its model's prefix,
 * verifying each hash. Idempotent: a copied artifact is found in place and skipped; a copy killed
 * half-way never shows (a put is atomic), so the next run copies it again. Legacy keys are left in
 * place (readers of older mltk versions may still use them).
 */
export async function migrateModelArtifacts(
  store: ObjectStore,
  refs: readonly { model: string; sha256: string }[],
): Promise<MigrationReport> {
  const report: MigrationReport = { copied: [], present: 0, missing: [] };
  const seen = new Set<string>();
  for (const { model, sha256 } of refs) {
    const to = modelArtifactKey(model, sha256);
    if (seen.has(to)) continue;
    seen.add(to);
    if (await store.head(to)) {
      report.present++;
      continue;
    }
    const from = blobKey(sha256);
    if (!(await store.head(from))) {
      report.missing.push({ model, sha256 });
      continue;
    }
    const body = await store.get(from);
    const actual = sha256Hex(body);
    if (actual !== sha256)
      throw new IntegrityError(
        `${store.url}/${from}: blob ${sha256} is corrupt (its content hashes to ${actual}); not migrated`,
      );
    await store.put(to, body);
    report.copied.push({ model, sha256, from, to });
  }
  return report;
}
