// `mltk models copy`: one registered version from one store to another (dev → prod, S3 → a laptop),
// with what serving, monitoring and audit need: its ONNX and baseline artifacts (written under the
// model's prefix in the target, read from either layout in the source), its run and
// dataset-version manifests, and with `withData` the training data bytes. Every blob is re-hashed on
// the way and all are checked before the first write, so a corrupt or missing source blob stops the
// copy with its key named and nothing written. Manifests go last; the version is registered in the
// target under its next free number with a `source` record. An artifact the target already has is
// not registered twice: that version is reused.
//
// What a crash (kill -9) leaves, and what the next copy does:
//   - while the data blob streams: nothing (S3 keeps the parts of an incomplete multipart upload until
//     the bucket's lifecycle rule aborts them);
//   - after the blobs, before the manifests: blobs no manifest names yet; the next copy keeps them;
//   - after the run and dataset-version manifests, before the version: the next copy finds those
//     manifests (put-if-absent, same content) and registers the version;
//   - after the version: the copy is complete; the next one reuses that version.
import { ConflictError, InvalidInputError, IntegrityError, NotFoundError } from '../errors/index.ts';
import { datasetVersionKey, datasetVersionSchema, type DatasetVersion } from '../data/index.ts';
import { runKey, runManifestSchema } from '../runs/index.ts';
import {
  blobKey,
  copyBlob,
  getModelArtifact,
  modelArtifactKey,
  parseJson,
  putModelArtifact,
  type JsonParser,
  type ObjectStore,
} from '../store/index.ts';
import { keys, type ModelVersion } from './manifest.ts';
import { listModelVersions, registerModelVersion, resolveModel } from './registry.ts';

/**
 * Every key prefix a copy reads in its source store (version and alias manifests, run and dataset-version
 * manifests, blobs) and nothing else: what a read-only grant on a source bucket must cover (the dev
 * model bucket's policy for the prod deploy role is built from it).
 */
export const COPY_SOURCE_PREFIXES = ['models/', 'runs/', 'datasets/', 'blobs/'] as const;

export interface CopyOptions {
  /** Also copy the training data's bytes (the dataset-version manifest is always copied). */
  withData?: boolean;
  /** Refuse, before writing anything, a version trained on synthetic or unpinned data (a release). */
  requirePinned?: boolean;
  now?: Date;
}

export interface CopyResult {
  version: ModelVersion;
  /** False when the target already had this artifact: that version is reused. */
  created: boolean;
  source: { store: string; name: string; version: number };
  /** Keys written to the target by this copy (blobs and manifests), in the order written. */
  written: string[];
}

/**
 * Throws unless `mv` was trained on a pinned, non-synthetic dataset version: what a prod release
 * serves. `dataset` is its dataset-version manifest when at hand (its `synthetic` mark is checked too).
 */
export function checkReleasable(mv: ModelVersion, where: string, dataset?: DatasetVersion): void {
  const what = `${mv.name}@${mv.version} in ${where}`;
  const fix =
    'pin a real dataset version in the config (mltk data add FILE --dataset NAME --pin CONFIG) and let the dev ' +
    'deploy train on it';
  if (!mv.dataset)
    throw new InvalidInputError(`refused: ${what} names no training data, so its lineage cannot be checked; ${fix}`);
  const data = `${mv.dataset.name}@${mv.dataset.version.slice(0, 12)}`;
  if (mv.dataset.synthetic || dataset?.synthetic)
    throw new InvalidInputError(`refused: ${what} was trained on synthetic rows (${data}); ${fix}`);
  if (mv.dataset.pinned !== true)
    throw new InvalidInputError(`refused: ${what} was trained on ${data}, which its config did not pin; ${fix}`);
}

/** A source object's bytes and its parsed manifest, or the error naming its key. */
async function readSource<T>(
  from: ObjectStore,
  key: string,
  schema: JsonParser<T>,
): Promise<{ bytes: Buffer; value: T }> {
  const bytes = await from.get(key).catch((e: unknown) => {
    throw e instanceof NotFoundError
      ? new NotFoundError(`${from.url}/${key}: missing in the source; nothing was copied`, { cause: e })
      : e;
  });
  return { bytes, value: parseJson(bytes, schema, `${from.url}/${key}`) };
}

/** An artifact of the source model in memory, hash-verified; a corrupt or missing one names its key. */
async function readArtifact(from: ObjectStore, model: string, sha256: string): Promise<Buffer> {
  const where = `${from.url}/${modelArtifactKey(model, sha256)}`;
  try {
    return await getModelArtifact(from, model, sha256);
  } catch (e) {
    if (e instanceof IntegrityError)
      throw new IntegrityError(`${where}: the source artifact is corrupt (${e.message}); nothing was copied`, {
        cause: e,
      });
    if (e instanceof NotFoundError)
      throw new NotFoundError(`${where}: the source artifact is missing (${e.message}); nothing was copied`, {
        cause: e,
      });
    throw e;
  }
}

/** Put-if-absent of a manifest that may be there already from an earlier (interrupted) copy. */
async function putManifest(to: ObjectStore, key: string, bytes: Buffer, written: string[]): Promise<void> {
  try {
    await to.putIfAbsent(key, bytes);
    written.push(key);
  } catch (e) {
    if (!(e instanceof ConflictError)) throw e;
  }
}

export async function copyModelVersion(
  from: ObjectStore,
  to: ObjectStore,
  ref: string,
  opts: CopyOptions = {},
): Promise<CopyResult> {
  if (from.url === to.url) throw new InvalidInputError(`--from and --to are the same store (${from.url})`);
  const mv = await resolveModel(from, ref);
  const dataset = mv.dataset
    ? await readSource(from, datasetVersionKey(mv.dataset.name, mv.dataset.version), datasetVersionSchema)
    : undefined;
  if (opts.requirePinned) checkReleasable(mv, from.url, dataset?.value);
  const run = mv.run_id ? await readSource(from, runKey(mv.run_id), runManifestSchema) : undefined;
  // Read and verify every small blob before the first write: a bad one leaves the target untouched.
  const artifact = await readArtifact(from, mv.name, mv.artifact.sha256);
  const baseline = mv.baseline ? await readArtifact(from, mv.name, mv.baseline.sha256) : undefined;
  const lossEstimator = mv.loss_estimator
    ? await readArtifact(from, mv.name, mv.loss_estimator.artifact.sha256)
    : undefined;
  const written: string[] = [];
  if (opts.withData && dataset) {
    const have = await to.head(blobKey(dataset.value.version));
    // Streamed and re-hashed on the way: a corrupt source writes nothing (the check ends the upload).
    await copyBlob(from, to, dataset.value.version, dataset.value.bytes);
    if (!have) written.push(blobKey(dataset.value.version));
  }
  for (const [ref, body] of [
    [mv.artifact, artifact],
    [mv.baseline, baseline],
    [mv.loss_estimator?.artifact, lossEstimator],
  ] as const) {
    // Under the model's prefix in the target, whatever the source's layout (a store not yet migrated).
    if (!ref || !body || (await to.head(modelArtifactKey(mv.name, ref.sha256)))) continue;
    await putModelArtifact(to, mv.name, body);
    written.push(modelArtifactKey(mv.name, ref.sha256));
  }
  if (dataset)
    await putManifest(to, datasetVersionKey(dataset.value.dataset, dataset.value.version), dataset.bytes, written);
  if (run) await putManifest(to, runKey(run.value.id), run.bytes, written);
  const source = { store: from.url, name: mv.name, version: mv.version };
  const existing = (await listModelVersions(to, mv.name)).versions.find(
    (v) => v.artifact.sha256 === mv.artifact.sha256,
  );
  if (existing) return { version: existing, created: false, source, written };
  const { kind: _kind, version: _version, created_at: _created, source: _source, ...entry } = mv;
  const copied_at = (opts.now ?? new Date()).toISOString();
  const version = await registerModelVersion(to, {
    ...entry,
    source: { ...source, artifact_sha256: mv.artifact.sha256, copied_at },
  });
  written.push(keys.version(mv.name, version.version));
  return { version, created: true, source, written };
}
