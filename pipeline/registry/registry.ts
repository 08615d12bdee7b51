// Registry semantics: race-free version numbers (put-if-absent), aliases moved by
// compare-and-swap, and rollback as one more recorded move.
import { ConflictError, InvalidInputError, NotFoundError } from '../errors/index.ts';
import { blobKey, readJson, writeJsonIfAbsent, type ObjectStore } from '../store/index.ts';
import { aliasMoveSchema, aliasSchema, keys, modelVersionSchema, type Alias, type AliasMove, type ModelVersion } from './manifest.ts';

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ALIAS_RE = /^[A-Za-z][A-Za-z0-9_-]*$/;
const MAX_ALLOCATION_ATTEMPTS = 200;

function checkName(name: string): void {
  if (!NAME_RE.test(name)) throw new InvalidInputError(`invalid model name "${name}" (letters, digits and _ only)`);
}

function checkAlias(alias: string): void {
  if (!ALIAS_RE.test(alias) || /^\d/.test(alias)) throw new InvalidInputError(`invalid alias "${alias}" (a name such as prod, dev or champion)`);
}

export async function listVersionNumbers(store: ObjectStore, name: string): Promise<number[]> {
  checkName(name);
  const found = await store.list(keys.versions(name));
  return found.map((k) => /\/(\d+)\.json$/.exec(k)?.[1]).filter((v): v is string => v !== undefined).map(Number).sort((a, b) => a - b);
}

export type NewModelVersion = Omit<ModelVersion, 'kind' | 'version' | 'created_at'>;

/**
 * Registers a new version. Every blob the manifest points to must already be stored.
 * The number is claimed with put-if-absent: a racer that loses retries with the next
 * number, so concurrent registrations get distinct versions and nothing is overwritten.
 */
export async function registerModelVersion(store: ObjectStore, entry: NewModelVersion): Promise<ModelVersion> {
  checkName(entry.name);
  for (const ref of [entry.artifact, entry.baseline]) {
    if (ref && !(await store.head(blobKey(ref.sha256)))) {
      throw new NotFoundError(`cannot register ${entry.name}: blob ${ref.sha256} is not in ${store.url} (store blobs before the manifest)`);
    }
  }
  let next = ((await listVersionNumbers(store, entry.name)).at(-1) ?? 0) + 1;
  for (let attempt = 0; attempt < MAX_ALLOCATION_ATTEMPTS; attempt++) {
    const manifest: ModelVersion = { kind: 'mltk.model_version', ...entry, version: next, created_at: new Date().toISOString() };
    try {
      await writeJsonIfAbsent(store, keys.version(entry.name, next), manifest);
      return manifest;
    } catch (e) {
      if (!(e instanceof ConflictError)) throw e;
      next += 1;
    }
  }
  throw new ConflictError(`could not allocate a version number for ${entry.name} after ${MAX_ALLOCATION_ATTEMPTS} attempts`);
}

export async function getModelVersion(store: ObjectStore, name: string, version: number): Promise<ModelVersion> {
  checkName(name);
  const key = keys.version(name, version);
  if (!(await store.head(key))) throw new NotFoundError(`model ${name} has no version ${version} in ${store.url}`);
  return readJson(store, key, modelVersionSchema);
}

export async function listModelVersions(store: ObjectStore, name: string): Promise<ModelVersion[]> {
  const numbers = await listVersionNumbers(store, name);
  return Promise.all(numbers.map((v) => readJson(store, keys.version(name, v), modelVersionSchema)));
}

export async function listModelNames(store: ObjectStore): Promise<string[]> {
  const found = await store.list('models/');
  return [...new Set(found.map((k) => k.split('/')[1]!))].sort();
}

export async function getAlias(store: ObjectStore, name: string, alias: string): Promise<Alias | undefined> {
  checkName(name);
  checkAlias(alias);
  const key = keys.alias(name, alias);
  if (!(await store.head(key))) return undefined;
  return readJson(store, key, aliasSchema);
}

export async function listAliases(store: ObjectStore, name: string): Promise<Alias[]> {
  checkName(name);
  const found = (await store.list(keys.aliases(name))).filter((k) => /^models\/[^/]+\/aliases\/[^/]+\.json$/.test(k));
  return Promise.all(found.map((k) => readJson(store, k, aliasSchema)));
}

/** Committed moves of an alias, oldest first. */
export async function aliasHistory(store: ObjectStore, name: string, alias: string): Promise<AliasMove[]> {
  const current = await getAlias(store, name, alias);
  if (!current) return [];
  const found = await store.list(keys.history(name, alias));
  const moves = await Promise.all(found.map((k) => readJson(store, k, aliasMoveSchema)));
  // An entry past the alias's seq belongs to a move whose compare-and-swap lost: not committed.
  return moves.filter((m) => m.seq <= current.seq).sort((a, b) => a.seq - b.seq);
}

/**
 * Points `alias` at `version` with compare-and-swap. `expected` (the version the caller
 * believes the alias holds; null = absent) turns a concurrent move into a ConflictError.
 */
export async function moveAlias(store: ObjectStore, name: string, alias: string, version: number, opts: { reason?: string; expected?: number | null } = {}): Promise<Alias> {
  checkAlias(alias);
  await getModelVersion(store, name, version); // promoting a version that does not exist is refused
  const key = keys.alias(name, alias);
  const head = await store.head(key);
  const current = head ? await store.getWithEtag(key) : undefined;
  const currentAlias = current ? aliasSchema.parse(JSON.parse(String(current.body))) : undefined;
  if (opts.expected !== undefined && (currentAlias?.version ?? null) !== opts.expected) {
    throw new ConflictError(`alias ${name}@${alias} points at ${currentAlias ? `version ${currentAlias.version}` : 'nothing'}, not ${opts.expected ?? 'nothing'}; not moved`);
  }
  const seq = (currentAlias?.seq ?? 0) + 1;
  const at = new Date().toISOString();
  const reason = opts.reason ?? 'promote';
  const move: AliasMove = { kind: 'mltk.alias_move', seq, from: currentAlias?.version ?? null, to: version, at, reason };
  const next: Alias = { kind: 'mltk.alias', name, alias, version, previous: currentAlias?.version ?? null, seq, updated_at: at, reason };
  // History first (put-if-absent on the seq): of two racing movers only one can claim it.
  try {
    await writeJsonIfAbsent(store, keys.move(name, alias, seq), move);
  } catch (e) {
    if (e instanceof ConflictError) throw new ConflictError(`alias ${name}@${alias} was moved concurrently; not moved (retry)`);
    throw e;
  }
  const body = `${JSON.stringify(next, null, 2)}\n`;
  try {
    if (current) await store.putIfMatch(key, body, current.etag);
    else await store.putIfAbsent(key, body);
  } catch (e) {
    if (e instanceof ConflictError) throw new ConflictError(`alias ${name}@${alias} was moved concurrently; not moved (retry)`);
    throw e;
  }
  return next;
}

/** Undoes the alias's latest move (itself recorded as a move), or moves it to `to`. */
export async function rollbackAlias(store: ObjectStore, name: string, alias: string, to?: number): Promise<Alias> {
  const current = await getAlias(store, name, alias);
  if (!current) throw new NotFoundError(`model ${name} has no alias "${alias}"`);
  const target = to ?? current.previous;
  if (target === null || target === undefined) throw new InvalidInputError(`alias ${name}@${alias} has no earlier version to roll back to`);
  return moveAlias(store, name, alias, target, { reason: `rollback from ${current.version}`, expected: current.version });
}

/**
 * Resolves `NAME@ALIAS`, `NAME@N` or `NAME` (latest version) to a version manifest.
 */
export async function resolveModel(store: ObjectStore, ref: string): Promise<ModelVersion> {
  const m = /^([^@]+)(?:@(.+))?$/.exec(ref);
  if (!m) throw new InvalidInputError(`invalid model reference "${ref}" (expected NAME, NAME@VERSION or NAME@ALIAS)`);
  const [, name, tag] = m as unknown as [string, string, string | undefined];
  checkName(name);
  if (tag === undefined || tag === 'latest') {
    const latest = (await listVersionNumbers(store, name)).at(-1);
    if (latest === undefined) throw new NotFoundError(`model ${name} has no versions in ${store.url}`);
    return getModelVersion(store, name, latest);
  }
  if (/^\d+$/.test(tag)) return getModelVersion(store, name, Number(tag));
  const alias = await getAlias(store, name, tag);
  if (!alias) throw new NotFoundError(`model ${name} has no alias "${tag}" in ${store.url}`);
  return getModelVersion(store, name, alias.version);
}
