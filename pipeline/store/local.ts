// Local-folder backend: the embedded default. Writes go to a temp file and are renamed or
// hard-linked into place, so readers never see half an object; conditional writes use
// link(2) (fails if the target exists) and a per-key lock file for compare-and-swap.
//
// The compare-and-swap lock (`KEY.lock`) names its holder (host, process id, nonce) and is held
// for one read and one rename. A holder that died inside the swap (kill -9) leaves the lock
// behind: on the same host its dead process id proves it stale and the next writer breaks it at
// once; a lock from another host, or an unnamed one from an older mltk, is stale after
// LOCK_STALE_MS. What such a crash leaves is either the old object (died before the rename) or
// the new one (died after it): never half of one, and a temp beside it, hidden from listings, which
// the store's first write into that folder removes (temp.ts says which temps are stale).
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, type Dirent } from 'node:fs';
import { mkdir, readFile, readdir, rename, link, unlink, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { ConflictError, NotFoundError, quoted } from '../errors/index.ts';
import type { ComposeSource } from './compose.ts';
import { localFileStream } from './files.ts';
import { checkKey, checkPrefix } from './keys.ts';
import { currentWriter, writerGone } from './owner.ts';
import { isTempName, removeStaleTemps, tempPathFor } from './temp.ts';
import type { ObjectInfo, ObjectStore } from './types.ts';

/** A lock is held for one read and one rename (milliseconds); one this old belongs to a writer that stopped. */
const LOCK_STALE_MS = 5_000;
/** A waiter outlasts any stale lock, so a crashed writer never makes the next one fail. */
const LOCK_WAIT_MS = LOCK_STALE_MS + 3_000;
const LOCK_SUFFIX = '.lock';

function etagOf(body: Buffer): string {
  return createHash('md5').update(body).digest('hex');
}

function isErrno(e: unknown, code: string): boolean {
  return (e as NodeJS.ErrnoException)?.code === code;
}

/** Internal files of the backend that are never objects: temps, locks and broken locks. */
function isInternalName(name: string): boolean {
  return isTempName(name) || name.endsWith(LOCK_SUFFIX);
}

interface LockHolder {
  host: string;
  pid: number;
  nonce: string;
}

function parseHolder(text: string): LockHolder | undefined {
  try {
    const v = JSON.parse(text) as Partial<LockHolder>;
    const named = typeof v.host === 'string' && typeof v.pid === 'number' && typeof v.nonce === 'string';
    return named ? { host: v.host!, pid: v.pid!, nonce: v.nonce! } : undefined;
  } catch {
    return undefined; // an empty lock file from an older mltk
  }
}

export class LocalStore implements ObjectStore {
  /** Folders this store has written into, their stale temps removed. */
  private readonly prepared = new Set<string>();

  constructor(
    readonly root: string,
    readonly url: string = root,
  ) {}

  /**
   * Creates the folder of a write and, on the store's first write into it, removes the temps that
   * killed writers left there. Once per folder: a listing per write would cost a large folder each time.
   */
  private async prepareFolder(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    if (this.prepared.has(dir)) return;
    this.prepared.add(dir);
    await removeStaleTemps(dir);
  }

  /** The file of `key`; an invalid key (keys.ts) is refused, so no key reaches outside the root. */
  private path(key: string): string {
    return join(this.root, ...checkKey(key).split('/'));
  }

  async get(key: string): Promise<Buffer> {
    try {
      return await readFile(this.path(key));
    } catch (e) {
      if (isErrno(e, 'ENOENT') || isErrno(e, 'EISDIR'))
        throw new NotFoundError(`${this.url}: no object at ${quoted(key)}`, { cause: e });
      throw e;
    }
  }

  async getWithEtag(key: string): Promise<{ body: Buffer; etag: string }> {
    const body = await this.get(key);
    return { body, etag: etagOf(body) };
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const st = await stat(this.path(key));
      if (!st.isFile()) return undefined;
      // The etag of a large blob is never needed for CAS (blobs are immutable): skip hashing them.
      const etag = st.size <= 16 << 20 ? etagOf(await readFile(this.path(key))) : `${st.size}-${st.mtimeMs}`;
      return { size: st.size, etag };
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return undefined;
      throw e;
    }
  }

  private async writeTemp(path: string, body: Buffer | string): Promise<string> {
    await this.prepareFolder(dirname(path));
    const tmp = tempPathFor(path);
    await writeFile(tmp, body);
    return tmp;
  }

  async put(key: string, body: Buffer | string): Promise<{ etag: string }> {
    const path = this.path(key);
    const tmp = await this.writeTemp(path, body);
    await rename(tmp, path);
    return { etag: etagOf(Buffer.from(body)) };
  }

  async putIfAbsent(key: string, body: Buffer | string): Promise<{ etag: string }> {
    const path = this.path(key);
    const tmp = await this.writeTemp(path, body);
    try {
      await link(tmp, path);
    } catch (e) {
      if (isErrno(e, 'EEXIST')) throw new ConflictError(`${this.url}: ${quoted(key)} already exists`, { cause: e });
      throw e;
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
    return { etag: etagOf(Buffer.from(body)) };
  }

  async putIfMatch(key: string, body: Buffer | string, etag: string): Promise<{ etag: string }> {
    const path = this.path(key);
    const lock = await this.lock(path, key);
    try {
      let current: string;
      try {
        current = etagOf(await readFile(path));
      } catch (e) {
        if (isErrno(e, 'ENOENT'))
          throw new ConflictError(`${this.url}: ${quoted(key)} does not exist (expected version ${etag})`, {
            cause: e,
          });
        throw e;
      }
      if (current !== etag)
        throw new ConflictError(
          `${this.url}: ${quoted(key)} changed concurrently (expected version ${etag}, found ${current})`,
        );
      const tmp = await this.writeTemp(path, body);
      // A holder paused past LOCK_STALE_MS may have lost its lock to a breaker: then it must not write.
      if (!(await lock.held())) {
        await unlink(tmp).catch(() => undefined);
        throw new ConflictError(
          `${this.url}: ${quoted(key)}: its lock was taken over while this write was paused; not written`,
        );
      }
      await rename(tmp, path);
      return { etag: etagOf(Buffer.from(body)) };
    } finally {
      await lock.release();
    }
  }

  /** An exclusive lock file per key, naming its holder; see the module comment for stale locks. */
  private async lock(path: string, key: string): Promise<{ held(): Promise<boolean>; release(): Promise<void> }> {
    const lockPath = `${path}${LOCK_SUFFIX}`;
    await this.prepareFolder(dirname(path));
    const me = JSON.stringify({ ...currentWriter(), nonce: randomBytes(8).toString('hex') });
    const mine = tempPathFor(lockPath);
    await writeFile(mine, me);
    const deadline = Date.now() + LOCK_WAIT_MS;
    try {
      for (;;) {
        try {
          await link(mine, lockPath);
          const held = async () => (await readFile(lockPath, 'utf8').catch(() => '')) === me;
          return {
            held,
            // Only our own lock: if it was judged stale and broken meanwhile, the new one is someone else's.
            release: async () => {
              if (await held()) await unlink(lockPath).catch(() => undefined);
            },
          };
        } catch (e) {
          if (!isErrno(e, 'EEXIST')) throw e;
        }
        if (await this.breakIfStale(lockPath)) continue;
        if (Date.now() > deadline)
          throw new ConflictError(`${this.url}: ${quoted(key)} is locked by another writer (${lockPath})`);
        await new Promise((r) => setTimeout(r, 5 + Math.random() * 20));
      }
    } finally {
      await unlink(mine).catch(() => undefined);
    }
  }

  /**
   * Removes `lockPath` if its holder is gone. Two breakers may race: each moves the lock aside
   * (rename is atomic, so only one gets any given lock) and checks that what it moved is the
   * stale lock it judged; a live lock moved by mistake is linked back unless a new one exists.
   */
  private async breakIfStale(lockPath: string): Promise<boolean> {
    const text = await readFile(lockPath, 'utf8').catch(() => undefined);
    const st = await stat(lockPath).catch(() => undefined);
    if (text === undefined || !st) return true; // released meanwhile: try again at once
    const holder = parseHolder(text);
    const gone = holder ? writerGone(holder) : undefined;
    if (gone !== true && Date.now() - st.mtimeMs <= LOCK_STALE_MS) return false;
    const aside = `${lockPath}.broken-${randomBytes(6).toString('hex')}${LOCK_SUFFIX}`;
    try {
      await rename(lockPath, aside);
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return true;
      throw e;
    }
    const moved = await readFile(aside, 'utf8').catch(() => undefined);
    if (moved !== text) await link(aside, lockPath).catch(() => undefined);
    await unlink(aside).catch(() => undefined);
    return true;
  }

  async list(prefix: string): Promise<string[]> {
    checkPrefix(prefix);
    const out: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries: Dirent[];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (e) {
        if (isErrno(e, 'ENOENT') || isErrno(e, 'ENOTDIR')) return;
        throw e;
      }
      for (const ent of entries) {
        const full = join(dir, ent.name);
        if (ent.isDirectory()) await walk(full);
        else if (ent.isFile() && !isInternalName(ent.name)) {
          const key = relative(this.root, full).split(sep).join('/');
          if (key.startsWith(prefix)) out.push(key);
        }
      }
    };
    // Start at the deepest folder the prefix names, not the root: listing stays cheap as the store grows.
    const dirPart = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    await walk(dirPart ? join(this.root, ...dirPart.split('/')) : this.root);
    return out.sort();
  }

  async getStream(key: string): Promise<Readable> {
    try {
      // Opened now, not when first read: an unreadable file fails here, never as an unhandled stream error.
      return await localFileStream(this.path(key), 'object file');
    } catch (e) {
      // A folder where an object would be is no object, as for get().
      const errno = ((e as Error).cause as NodeJS.ErrnoException | undefined)?.code;
      if (errno === 'ENOENT' || errno === 'ENOTDIR' || errno === 'EISDIR')
        throw new NotFoundError(`${this.url}: no object at ${quoted(key)}`);
      throw e;
    }
  }

  async getRange(key: string, start: number, end: number, opts: { ifMatch?: string } = {}): Promise<Readable> {
    if (opts.ifMatch !== undefined) {
      const info = await this.head(key);
      if (!info) throw new NotFoundError(`${this.url}: no object at ${quoted(key)}`);
      if (info.etag !== opts.ifMatch)
        throw new ConflictError(
          `${this.url}: ${quoted(key)} changed (expected version ${opts.ifMatch}, found ${info.etag})`,
        );
    }
    const path = this.path(key);
    const st = await stat(path).catch(() => undefined);
    if (!st?.isFile()) throw new NotFoundError(`${this.url}: no object at ${quoted(key)}`);
    if (end <= start) return Readable.from([]);
    return createReadStream(path, { start, end: end - 1, highWaterMark: 1 << 20 });
  }

  async compose(to: string, sources: ComposeSource[]): Promise<{ etag: string }> {
    const self = this;
    return this.putStream(
      to,
      (async function* () {
        for (const source of sources) {
          if ('bytes' in source) yield source.bytes;
          else yield* await self.getStream(source.key);
        }
      })(),
    );
  }

  async putStream(key: string, body: Readable | AsyncIterable<Buffer>): Promise<{ etag: string }> {
    const path = this.path(key);
    await this.prepareFolder(dirname(path));
    const tmp = tempPathFor(path);
    const md5 = createHash('md5');
    try {
      await pipeline(
        body,
        async function* (src: AsyncIterable<Buffer>) {
          for await (const chunk of src) {
            md5.update(chunk);
            yield chunk;
          }
        },
        createWriteStream(tmp),
      );
      await rename(tmp, path);
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
    return { etag: md5.digest('hex') };
  }

  async move(from: string, to: string): Promise<void> {
    const [src, dst] = [this.path(from), this.path(to)];
    await mkdir(dirname(dst), { recursive: true });
    try {
      await rename(src, dst); // atomic: readers see the old `to` or the whole new one
    } catch (e) {
      if (isErrno(e, 'ENOENT')) throw new NotFoundError(`${this.url}: no object at ${quoted(from)}`, { cause: e });
      throw e;
    }
  }

  async delete(key: string): Promise<void> {
    await unlink(this.path(key)).catch((e) => {
      if (!isErrno(e, 'ENOENT')) throw e;
    });
  }
}
