// Registry semantics: race-free version numbers (put-if-absent), aliases moved by
// compare-and-swap, and rollback as one more recorded move.
//
// An alias move is two writes. (1) Claim a history entry with put-if-absent: the first free seq
// past the alias's, recording `after` = the alias's seq (the move it follows). (2) Swap the alias
// to the new version and seq, compare-and-swap on the alias object (S3 If-Match; a lock file
// locally). The swap is the commit: of two racing movers only one swap succeeds, whichever entries
// they claimed. The applied moves are the alias's entry and the chain its `after` links lead back
// along; any other entry was claimed by a move that never applied. What a crash (kill -9, a Lambda
// timeout, a dropped connection) leaves, and how the next move recovers:
//   - before (1): nothing.
//   - between (1) and (2): an orphan entry past the alias's seq, never applied. The next move finds
//     that seq taken, claims the first free one after it with `after` = the alias's seq, and swaps:
//     the orphan is superseded, never on the chain, and `models history` lists it as not applied.
//   - inside (2), locally: a stale lock. Its holder's process is gone, so the next writer breaks it
//     at once (store/local.ts); the alias is the old one or the new one, never half of one.
//   - after (2): the move is complete, its entry is on the chain.
import { userInfo } from 'node:os';
import { isDeepStrictEqual } from 'node:util';
import { ConflictError, IntegrityError, InvalidInputError, NotFoundError, quoted } from '../errors/index.ts';
import {
  findModelArtifact,
  migrateModelArtifacts,
  modelArtifactKey,
  manifestJson,
  type MigrationReport,
  parseJson,
  readJson,
  readJsonEach,
  writeJsonIfAbsent,
  MalformedManifestError,
  type MalformedEntry,
  type ObjectStore,
} from '../store/index.ts';
import {
  aliasMoveSchema,
  aliasSchema,
  keys,
  modelVersionSchema,
  type Alias,
  type AliasMove,
  type ModelVersion,
} from './manifest.ts';
import { ALIAS_RE, MODEL_NAME_RE, parseModelRef } from './ref.ts';

const MAX_ALLOCATION_ATTEMPTS = 200;
const HISTORY_SEQ = /\/history\/(\d+)\.json$/;

function checkName(name: string): void {
  if (!MODEL_NAME_RE.test(name))
    throw new InvalidInputError(`invalid model name ${quoted(name)} (letters, digits and _ only)`);
}

export function checkAlias(alias: string): void {
  if (!ALIAS_RE.test(alias) || /^\d/.test(alias))
    throw new InvalidInputError(`invalid alias ${quoted(alias)} (a name such as prod, dev or champion)`);
}

export async function listVersionNumbers(store: ObjectStore, name: string): Promise<number[]> {
  checkName(name);
  const found = await store.list(keys.versions(name));
  return found
    .map((k) => /\/(\d+)\.json$/.exec(k)?.[1])
    .filter((v): v is string => v !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

export type NewModelVersion = Omit<ModelVersion, 'kind' | 'version' | 'created_at'>;

/** A version manifest is immutable: one its own reader would reject must never be written. */
function checkReadable(manifest: ModelVersion, where: string): void {
  const parsed = modelVersionSchema.safeParse(JSON.parse(manifestJson(manifest, where)));
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new InvalidInputError(`${where}: not registered: the manifest would not read back (${issues})`);
  }
}

/**
 * Registers a new version. Every blob the manifest points to must already be stored.
 * The number is claimed with put-if-absent: a racer that loses retries with the next
 * number, so concurrent registrations get distinct versions and nothing is overwritten.
 */
export async function registerModelVersion(store: ObjectStore, entry: NewModelVersion): Promise<ModelVersion> {
  checkName(entry.name);
  for (const ref of [entry.artifact, entry.baseline, entry.loss_estimator?.artifact]) {
    if (ref && !(await findModelArtifact(store, entry.name, ref.sha256))) {
      const key = modelArtifactKey(entry.name, ref.sha256);
      throw new NotFoundError(
        `cannot register ${entry.name}: artifact ${ref.sha256} is not in ${store.url} at ${
          key
        } (store artifacts before the manifest)`,
      );
    }
  }
  let next = ((await listVersionNumbers(store, entry.name)).at(-1) ?? 0) + 1;
  for (let attempt = 0; attempt < MAX_ALLOCATION_ATTEMPTS; attempt++) {
    const manifest: ModelVersion = {
      kind: 'mltk.model_version',
      ...entry,
      version: next,
      created_at: new Date().toISOString(),
    };
    checkReadable(manifest, `${store.url}/${keys.version(entry.name, next)}`);
    try {
      await writeJsonIfAbsent(store, keys.version(entry.name, next), manifest);
      return manifest;
    } catch (e) {
      if (!(e instanceof ConflictError)) throw e;
      next += 1;
    }
  }
  throw new ConflictError(
    `could not allocate a version number for ${entry.name} after ${MAX_ALLOCATION_ATTEMPTS} attempts`,
  );
}

/**
 * The registered version `entry` would duplicate: the same ONNX and baseline bytes, trained on the same
 * data with the same lineage, with the same signature, monitoring thresholds and evaluation segment. Training is
 * bit-reproducible, so an unchanged rerun finds its earlier version here instead of registering a twin.
 */
export async function findEquivalentVersion(
  store: ObjectStore,
  entry: NewModelVersion,
): Promise<ModelVersion | undefined> {
  // As stored: JSON drops undefined keys, and key order is not part of the content.
  const same = (a: unknown, b: unknown) =>
    isDeepStrictEqual(JSON.parse(JSON.stringify(a) ?? 'null'), JSON.parse(JSON.stringify(b) ?? 'null'));
  const { versions } = await listModelVersions(store, entry.name);
  return versions.reverse().find(
    (v) =>
      v.artifact.sha256 === entry.artifact.sha256 &&
      v.baseline?.sha256 === entry.baseline?.sha256 &&
      // A version registered before loss estimators (or with another one) does not carry this one.
      v.loss_estimator?.artifact.sha256 === entry.loss_estimator?.artifact.sha256 &&
      same(v.dataset, entry.dataset) &&
      same(v.signature, entry.signature) &&
      same(v.monitoring, entry.monitoring) &&
      same(v.segment ?? null, entry.segment ?? null),
  );
}

export async function getModelVersion(store: ObjectStore, name: string, version: number): Promise<ModelVersion> {
  checkName(name);
  const key = keys.version(name, version);
  // One read, not head + get: a model page opens every version.
  const body = await store.get(key).catch((e: unknown) => {
    throw e instanceof NotFoundError
      ? new NotFoundError(`model ${name} has no version ${version} in ${store.url}`, { cause: e })
      : e;
  });
  return parseJson(body, modelVersionSchema, `${store.url}/${key}`);
}

/** Versions of a model, oldest first; a manifest that cannot be read is reported in `malformed`, the rest listed. */
export async function listModelVersions(
  store: ObjectStore,
  name: string,
): Promise<{ versions: ModelVersion[]; malformed: MalformedEntry[] }> {
  const numbers = await listVersionNumbers(store, name);
  const { items, malformed } = await readJsonEach(
    store,
    numbers.map((v) => keys.version(name, v)),
    modelVersionSchema,
  );
  return { versions: items.sort((a, b) => a.version - b.version), malformed };
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

/** Aliases of a model; one that cannot be read is reported in `malformed`, the rest listed. */
export async function listAliases(
  store: ObjectStore,
  name: string,
): Promise<{ aliases: Alias[]; malformed: MalformedEntry[] }> {
  checkName(name);
  const found = (await store.list(keys.aliases(name))).filter((k) => /^models\/[^/]+\/aliases\/[^/]+\.json$/.test(k));
  const { items, malformed } = await readJsonEach(store, found, aliasSchema);
  return { aliases: items, malformed };
}

export interface AliasHistory {
  /** Applied moves, oldest first. */
  moves: AliasMove[];
  /** Entries claimed by moves that never applied (lost a race, or their process died before the swap). */
  unapplied: AliasMove[];
}

/** The move an entry follows: its `after`, or seq − 1 for entries written before `after` existed. */
function predecessor(m: AliasMove): number | null {
  if (m.after !== undefined) return m.after;
  return m.seq > 1 ? m.seq - 1 : null;
}

function missingEntry(store: ObjectStore, name: string, alias: string, seq: number): IntegrityError {
  const where = `${store.url}/${keys.move(name, alias, seq)}`;
  return new IntegrityError(
    `${where}: history entry ${seq} of ${name}@${alias} is missing, but the alias's history leads to it`,
  );
}

/**
 * The applied moves of an alias, oldest first: its entry and the chain its `after` links lead back
 * along, each read by `read` (entries never change once written, so `read` may cache them).
 */
export async function appliedMoves(
  current: Alias | undefined,
  read: (seq: number) => Promise<AliasMove>,
): Promise<AliasMove[]> {
  const chain: AliasMove[] = [];
  const seen = new Set<number>();
  for (let s = current?.seq ?? null; s !== null && !seen.has(s); ) {
    seen.add(s);
    const m = await read(s);
    chain.push(m);
    s = predecessor(m);
  }
  return chain.reverse();
}

/** Every history entry of an alias, split into the applied chain and the moves that never applied. */
export async function readAliasHistory(store: ObjectStore, name: string, alias: string): Promise<AliasHistory> {
  const current = await getAlias(store, name, alias);
  const found = await store.list(keys.history(name, alias));
  const entries = await Promise.all(found.map((k) => readJson(store, k, aliasMoveSchema)));
  entries.sort((a, b) => a.seq - b.seq);
  const bySeq = new Map(entries.map((m) => [m.seq, m]));
  const moves = await appliedMoves(current, async (seq) => {
    const m = bySeq.get(seq);
    if (!m) throw missingEntry(store, name, alias, seq);
    return m;
  });
  const applied = new Set(moves.map((m) => m.seq));
  return { moves, unapplied: entries.filter((m) => !applied.has(m.seq)) };
}

/** Applied moves of an alias, oldest first. */
export async function aliasHistory(store: ObjectStore, name: string, alias: string): Promise<AliasMove[]> {
  return (await readAliasHistory(store, name, alias)).moves;
}

async function lastHistorySeq(store: ObjectStore, name: string, alias: string): Promise<number> {
  const seqs = (await store.list(keys.history(name, alias))).map((k) => Number(HISTORY_SEQ.exec(k)?.[1] ?? 0));
  return Math.max(0, ...seqs);
}

/**
 * Claims the first free history entry from `first` on. A taken entry belongs to a mover racing
 * this one (the swap decides between them) or to one that died before its swap (superseded).
 */
async function claimHistoryEntry(
  store: ObjectStore,
  name: string,
  alias: string,
  first: number,
  move: Omit<AliasMove, 'seq'>,
): Promise<number> {
  let seq = first;
  for (let attempt = 0; attempt < MAX_ALLOCATION_ATTEMPTS; attempt++) {
    try {
      await writeJsonIfAbsent(store, keys.move(name, alias, seq), { ...move, seq });
      return seq;
    } catch (e) {
      if (!(e instanceof ConflictError)) throw e;
    }
    // Skip every claimed entry at once, not one by one.
    seq = Math.max(seq, await lastHistorySeq(store, name, alias)) + 1;
  }
  const tries = `${MAX_ALLOCATION_ATTEMPTS} attempts`;
  throw new ConflictError(`could not claim a history entry for ${name}@${alias} after ${tries}; not moved (retry)`);
}

/**
 * History entry `seq` of an alias, in one read. Entries never change once written, so a reader
 * can cache them and walk the applied chain with appliedMoves instead of listing the history.
 */
export async function getAliasMove(store: ObjectStore, name: string, alias: string, seq: number): Promise<AliasMove> {
  checkName(name);
  checkAlias(alias);
  const key = keys.move(name, alias, seq);
  const body = await store.get(key).catch((e: unknown) => {
    throw e instanceof NotFoundError
      ? new NotFoundError(`alias ${name}@${alias} has no history entry ${seq} in ${store.url}`, { cause: e })
      : e;
  });
  return parseJson(body, aliasMoveSchema, `${store.url}/${key}`);
}

/** Who is moving an alias, for its history: MLTK_ACTOR, else the GitHub Actions actor, else the OS user. */
export function currentActor(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.MLTK_ACTOR) return env.MLTK_ACTOR;
  if (env.GITHUB_ACTOR) return `github:${env.GITHUB_ACTOR}`;
  try {
    return userInfo().username || undefined;
  } catch {
    return undefined; // no passwd entry for this uid (some containers)
  }
}

/**
 * Points `alias` at `version` with compare-and-swap. `expected` (the version the caller
 * believes the alias holds; null = absent) turns a concurrent move into a ConflictError.
 * The two writes and what a crash between them leaves: the module comment.
 */
export async function moveAlias(
  store: ObjectStore,
  name: string,
  alias: string,
  version: number,
  opts: { reason?: string; expected?: number | null; by?: string } = {},
): Promise<Alias> {
  checkAlias(alias);
  await getModelVersion(store, name, version); // promoting a version that does not exist is refused
  const key = keys.alias(name, alias);
  const head = await store.head(key);
  const current = head ? await store.getWithEtag(key) : undefined;
  const currentAlias = current ? parseJson(current.body, aliasSchema, `${store.url}/${key}`) : undefined;
  if (opts.expected !== undefined && (currentAlias?.version ?? null) !== opts.expected) {
    throw new ConflictError(
      `alias ${name}@${alias} points at ${currentAlias ? `version ${currentAlias.version}` : 'nothing'}, not ${
        opts.expected ?? 'nothing'
      }; not moved`,
    );
  }
  const after = currentAlias?.seq ?? null;
  const at = new Date().toISOString();
  const reason = opts.reason ?? 'promote';
  const from = currentAlias?.version ?? null;
  const by = opts.by ?? currentActor();
  const move = { kind: 'mltk.alias_move' as const, after, from, to: version, at, reason, ...(by ? { by } : {}) };
  const seq = await claimHistoryEntry(store, name, alias, (after ?? 0) + 1, move);
  const next: Alias = {
    kind: 'mltk.alias',
    name,
    alias,
    version,
    previous: from,
    seq,
    updated_at: at,
    reason,
    ...(by ? { by } : {}),
  };
  const body = `${JSON.stringify(next, null, 2)}\n`;
  try {
    if (current) await store.putIfMatch(key, body, current.etag);
    else await store.putIfAbsent(key, body);
  } catch (e) {
    if (e instanceof ConflictError)
      throw new ConflictError(`alias ${name}@${alias} was moved concurrently; not moved (retry)`, { cause: e });
    throw e;
  }
  return next;
}

/** Undoes the alias's latest move (itself recorded as a move), or moves it to `to`. */
export async function rollbackAlias(
  store: ObjectStore,
  name: string,
  alias: string,
  to?: number,
  opts: { by?: string } = {},
): Promise<Alias> {
  const current = await getAlias(store, name, alias);
  if (!current) throw new NotFoundError(`model ${name} has no alias ${quoted(alias)}`);
  const target = to ?? current.previous;
  if (target === null || target === undefined)
    throw new InvalidInputError(`alias ${name}@${alias} has no earlier version to roll back to`);
  return moveAlias(store, name, alias, target, {
    reason: `rollback from ${current.version}`,
    expected: current.version,
    by: opts.by,
  });
}

/**
 * Resolves `NAME@ALIAS`, `NAME@N` or `NAME` (latest version) to a version manifest.
 */
export async function resolveModel(store: ObjectStore, ref: string): Promise<ModelVersion> {
  const { name, alias, version } = parseModelRef(ref);
  if (version !== undefined) return getModelVersion(store, name, version);
  if (alias === undefined) {
    const latest = (await listVersionNumbers(store, name)).at(-1);
    if (latest === undefined) throw new NotFoundError(`model ${name} has no versions in ${store.url}`);
    try {
      return await getModelVersion(store, name, latest);
    } catch (e) {
      // Never fall back to an older version silently: which model scores must be the one asked for.
      if (e instanceof MalformedManifestError)
        throw new MalformedManifestError(`${e.message}; name another version (${name}@N)`, { cause: e });
      throw e;
    }
  }
  const moved = await getAlias(store, name, alias);
  if (!moved) throw new NotFoundError(`model ${name} has no alias ${quoted(alias)} in ${store.url}`);
  return getModelVersion(store, name, moved.version);
}

export interface StoreMigration extends MigrationReport {
  /** Version manifests that could not be read (their artifacts cannot be named, so were not migrated). */
  malformed: MalformedEntry[];
}

/**
 * Copies the artifacts (ONNX, baselines) of every registered version from the legacy shared
 * `blobs/sha256/` key to its model's prefix, so a role scoped to `models/NAME/*` can serve it.
 * Idempotent; what a crash in the middle leaves: migrateModelArtifacts.
 */
export async function migrateRegistryArtifacts(store: ObjectStore): Promise<StoreMigration> {
  const refs: { model: string; sha256: string }[] = [];
  const malformed: MalformedEntry[] = [];
  for (const name of await listModelNames(store)) {
    const listed = await listModelVersions(store, name);
    malformed.push(...listed.malformed);
    for (const v of listed.versions) {
      refs.push({ model: name, sha256: v.artifact.sha256 });
      if (v.baseline) refs.push({ model: name, sha256: v.baseline.sha256 });
    }
  }
  return { ...(await migrateModelArtifacts(store, refs)), malformed };
}
