// Dataset versions (DVC-like): a data file is stored as a content-addressed blob and
// described by an immutable manifest at datasets/NAME/versions/SHA256.json.
import { PassThrough } from 'node:stream';
import { z } from 'zod';
import { ConflictError, InvalidInputError, NotFoundError, quoted } from '../errors/index.ts';
import {
  putBlobFile,
  getBlobToFile,
  parseJson,
  readJson,
  writeJsonIfAbsent,
  openObjectUrl,
  stagingKey,
  commitStagedBlob,
  sha256Hex,
  type ObjectStore,
} from '../store/index.ts';
import { summarizeCsv, summarizeCsvFile, type FileSummary } from './inspect.ts';

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const SHA256_RE = /^[0-9a-f]{64}$/;

export const datasetVersionSchema = z.object({
  kind: z.literal('mltk.dataset_version'),
  dataset: z.string(),
  version: z.string().regex(SHA256_RE),
  bytes: z.number().int().nonnegative(),
  rows: z.number().int().nonnegative(),
  columns: z.array(
    z.object({
      name: z.string(),
      type: z.enum(['numeric', 'boolean', 'categorical', 'text']),
      missing: z.number().int().nonnegative(),
      min: z.number().optional(),
      max: z.number().optional(),
      values: z.array(z.string()).optional(),
    }),
  ),
  source: z.string(),
  created_at: z.string(),
  /** Present when the rows were synthesized by mltk (never real homes): lineage that prod refuses. */
  synthetic: z.object({ generator: z.string(), rows: z.number().int().positive(), seed: z.number().int() }).optional(),
});
export type DatasetVersion = z.infer<typeof datasetVersionSchema>;
export type SyntheticOrigin = NonNullable<DatasetVersion['synthetic']>;

export function checkDatasetName(name: string): string {
  if (!NAME_RE.test(name))
    throw new InvalidInputError(`invalid dataset name ${quoted(name)} (letters, digits, _ . - only)`);
  return name;
}

export function datasetVersionKey(name: string, version: string): string {
  return `datasets/${name}/versions/${version}.json`;
}

/**
 * Versions a CSV file under `name`. Adding identical content again returns the existing
 * version (`created: false`) and writes nothing.
 */
export async function addDatasetVersion(
  store: ObjectStore,
  name: string,
  file: string,
  now = new Date(),
  opts: { synthetic?: SyntheticOrigin; source?: string } = {},
): Promise<{ version: DatasetVersion; created: boolean }> {
  checkDatasetName(name);
  const summary = await summarizeCsvFile(file);
  if (summary.rows === 0) throw new InvalidInputError(`${file}: no data rows (header only); nothing was stored`);
  await putBlobFile(store, file, { sha256: summary.sha256, bytes: summary.bytes });
  return writeVersionManifest(store, name, summary, opts.source ?? file, now, opts.synthetic);
}

/**
 * Versions an object of another store (`s3://bucket/key`) in one pass, with no local copy: its bytes
 * stream once from the source, are hashed and profiled on the way and uploaded at the same time to a
 * staging key of `store`, which then moves to its content address (S3: a server-side copy). What a
 * crash (kill -9) leaves, and what the next run does about it:
 *   - during the upload: no object (S3 keeps the parts of an incomplete multipart upload until the
 *     bucket's lifecycle rule aborts them; a folder store a `.tmp-` file beside the staging key);
 *   - after the upload, before the move: `tmp/uploads/ID`, ID derived from the source URL and ETag, so
 *     the next add of the same object overwrites and moves it (nothing else reads `tmp/`);
 *   - after the move, before the manifest: the blob alone, which the next add finds and keeps.
 */
export async function addDatasetVersionFromObject(
  store: ObjectStore,
  name: string,
  url: string,
  now = new Date(),
): Promise<{ version: DatasetVersion; created: boolean }> {
  checkDatasetName(name);
  const src = openObjectUrl(url);
  const info = await src.store.head(src.key);
  if (!info) throw new NotFoundError(`${url}: no such object`);
  const staged = stagingKey(`add-${sha256Hex(`${url}\n${info.etag}`).slice(0, 40)}`);
  const body = await src.store.getStream(src.key);
  const [toProfile, toUpload] = [new PassThrough(), new PassThrough()];
  // One download feeds both; pipe() pauses the source whenever either consumer is behind.
  body.pipe(toProfile);
  body.pipe(toUpload);
  const stop = (e: unknown) => {
    for (const s of [body, toProfile, toUpload]) s.destroy(e as Error);
  };
  body.once('error', stop);
  const [summary] = await Promise.all([
    summarizeCsv(toProfile, url).catch((e: unknown) => {
      stop(e);
      throw e;
    }),
    store.putStream(staged, toUpload).catch((e: unknown) => {
      stop(e);
      throw e;
    }),
  ]);
  if (summary.rows === 0) {
    await store.delete(staged);
    throw new InvalidInputError(`${url}: no data rows (header only); nothing was stored`);
  }
  const ref = { sha256: summary.sha256, bytes: summary.bytes };
  await commitStagedBlob(store, staged, ref);
  return writeVersionManifest(store, name, summary, url, now);
}

async function writeVersionManifest(
  store: ObjectStore,
  name: string,
  summary: FileSummary,
  source: string,
  now: Date,
  synthetic?: SyntheticOrigin,
): Promise<{ version: DatasetVersion; created: boolean }> {
  const manifest: DatasetVersion = {
    kind: 'mltk.dataset_version',
    dataset: name,
    version: summary.sha256,
    bytes: summary.bytes,
    rows: summary.rows,
    columns: summary.columns,
    source,
    created_at: now.toISOString(),
    ...(synthetic ? { synthetic } : {}),
  };
  try {
    await writeJsonIfAbsent(store, datasetVersionKey(name, summary.sha256), manifest);
    return { version: manifest, created: true };
  } catch (e) {
    if (!(e instanceof ConflictError)) throw e;
    return {
      version: await readJson(store, datasetVersionKey(name, summary.sha256), datasetVersionSchema),
      created: false,
    };
  }
}

export async function listDatasetNames(store: ObjectStore): Promise<string[]> {
  const keys = await store.list('datasets/');
  return [...new Set(keys.map((k) => k.split('/')[1]!))].sort();
}

/** Versions of one dataset, oldest first. */
export async function listDatasetVersions(store: ObjectStore, name: string): Promise<DatasetVersion[]> {
  checkDatasetName(name);
  const keys = (await store.list(`datasets/${name}/versions/`)).filter((k) => k.endsWith('.json'));
  const versions = await Promise.all(keys.map((k) => readJson(store, k, datasetVersionSchema)));
  return versions.sort((a, b) => a.created_at.localeCompare(b.created_at) || a.version.localeCompare(b.version));
}

/** The sha256s of one dataset's versions (key order), from one listing and without reading a manifest. */
export async function listDatasetVersionIds(store: ObjectStore, name: string): Promise<string[]> {
  checkDatasetName(name);
  const prefix = `datasets/${name}/versions/`;
  const ids = (await store.list(prefix)).map((k) => k.slice(prefix.length).replace(/\.json$/, ''));
  return ids.filter((id) => SHA256_RE.test(id));
}

/** One version's manifest by its full sha256, in one read. */
export async function readDatasetVersion(store: ObjectStore, name: string, version: string): Promise<DatasetVersion> {
  checkDatasetName(name);
  if (!SHA256_RE.test(version))
    throw new InvalidInputError(`dataset version ${quoted(version)} is not a sha256 (64 hex digits)`);
  const key = datasetVersionKey(name, version);
  const body = await store.get(key).catch((e: unknown) => {
    throw e instanceof NotFoundError
      ? new NotFoundError(`dataset "${name}" has no version ${version} in ${store.url}`, { cause: e })
      : e;
  });
  return parseJson(body, datasetVersionSchema, `${store.url}/${key}`);
}

/** `NAME` (latest) or `NAME@VERSION`, where VERSION may be a unique prefix of the sha256 (≥ 6 chars). */
export async function resolveDatasetVersion(store: ObjectStore, ref: string): Promise<DatasetVersion> {
  const at = ref.indexOf('@');
  const name = at < 0 ? ref : ref.slice(0, at);
  const version = at < 0 ? undefined : ref.slice(at + 1);
  const versions = await listDatasetVersions(store, name);
  if (versions.length === 0) throw new NotFoundError(`dataset "${name}" has no versions in ${store.url}`);
  if (version === undefined || version === 'latest') return versions[versions.length - 1]!;
  if (version.length < 6)
    throw new InvalidInputError(
      `dataset version ${quoted(version)} is too short (give at least 6 characters of the sha256)`,
    );
  const hits = versions.filter((v) => v.version.startsWith(version));
  if (hits.length === 0) throw new NotFoundError(`dataset "${name}" has no version ${version} in ${store.url}`);
  if (hits.length > 1)
    throw new InvalidInputError(`dataset version prefix ${quoted(version)} is ambiguous for "${name}"`);
  return hits[0]!;
}

/** Writes a version's bytes to `output`, verifying the hash; a corrupt blob writes nothing. */
export async function getDatasetVersion(store: ObjectStore, ref: string, output: string): Promise<DatasetVersion> {
  const v = await resolveDatasetVersion(store, ref);
  await getBlobToFile(store, v.version, output);
  return v;
}
