// Local-folder backend: the embedded default. Writes go to a temp file and are renamed or
// hard-linked into place, so readers never see half an object; conditional writes use
// link(2) (fails if the target exists) and a per-key lock file for compare-and-swap.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, readdir, rename, link, unlink, stat, open, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { ConflictError, InvalidInputError, NotFoundError } from '../errors/index.ts';
import type { ObjectInfo, ObjectStore } from './types.ts';

const LOCK_STALE_MS = 30_000;

function etagOf(body: Buffer): string {
  return createHash('md5').update(body).digest('hex');
}

function isErrno(e: unknown, code: string): boolean {
  return (e as NodeJS.ErrnoException)?.code === code;
}

export class LocalStore implements ObjectStore {
  constructor(readonly root: string, readonly url: string = root) {}

  private path(key: string): string {
    if (key === '' || key.startsWith('/') || key.split('/').some((p) => p === '..' || p === '.' || p === '')) {
      throw new InvalidInputError(`invalid store key "${key}"`);
    }
    return join(this.root, ...key.split('/'));
  }

  private tempPath(path: string): string {
    return `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  }

  async get(key: string): Promise<Buffer> {
    try {
      return await readFile(this.path(key));
    } catch (e) {
      if (isErrno(e, 'ENOENT') || isErrno(e, 'EISDIR')) throw new NotFoundError(`${this.url}: no object at "${key}"`);
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
    await mkdir(dirname(path), { recursive: true });
    const tmp = this.tempPath(path);
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
      if (isErrno(e, 'EEXIST')) throw new ConflictError(`${this.url}: "${key}" already exists`);
      throw e;
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
    return { etag: etagOf(Buffer.from(body)) };
  }

  async putIfMatch(key: string, body: Buffer | string, etag: string): Promise<{ etag: string }> {
    const path = this.path(key);
    const release = await this.lock(path, key);
    try {
      let current: string;
      try {
        current = etagOf(await readFile(path));
      } catch (e) {
        if (isErrno(e, 'ENOENT')) throw new ConflictError(`${this.url}: "${key}" does not exist (expected version ${etag})`);
        throw e;
      }
      if (current !== etag) throw new ConflictError(`${this.url}: "${key}" changed concurrently (expected version ${etag}, found ${current})`);
      const tmp = await this.writeTemp(path, body);
      await rename(tmp, path);
      return { etag: etagOf(Buffer.from(body)) };
    } finally {
      await release();
    }
  }

  /** An exclusive lock file per key; a lock older than LOCK_STALE_MS is from a crashed writer. */
  private async lock(path: string, key: string): Promise<() => Promise<void>> {
    const lockPath = `${path}.lock`;
    await mkdir(dirname(path), { recursive: true });
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        const fh = await open(lockPath, 'wx');
        await fh.close();
        return () => unlink(lockPath).catch(() => undefined);
      } catch (e) {
        if (!isErrno(e, 'EEXIST')) throw e;
        const st = await stat(lockPath).catch(() => undefined);
        if (st && Date.now() - st.mtimeMs > LOCK_STALE_MS) { await unlink(lockPath).catch(() => undefined); continue; }
        if (Date.now() > deadline) throw new ConflictError(`${this.url}: "${key}" is locked by another writer (${lockPath})`);
        await new Promise((r) => setTimeout(r, 5 + Math.random() * 20));
      }
    }
  }

  async list(prefix: string): Promise<string[]> {
    const out: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (e) {
        if (isErrno(e, 'ENOENT') || isErrno(e, 'ENOTDIR')) return;
        throw e;
      }
      for (const ent of entries) {
        const full = join(dir, ent.name);
        if (ent.isDirectory()) await walk(full);
        else if (ent.isFile() && !ent.name.includes('.tmp-') && !ent.name.endsWith('.lock')) {
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
    const path = this.path(key);
    const st = await stat(path).catch(() => undefined);
    if (!st?.isFile()) throw new NotFoundError(`${this.url}: no object at "${key}"`);
    return createReadStream(path, { highWaterMark: 1 << 20 });
  }

  async putStream(key: string, body: Readable | AsyncIterable<Buffer>): Promise<{ etag: string }> {
    const path = this.path(key);
    await mkdir(dirname(path), { recursive: true });
    const tmp = this.tempPath(path);
    const md5 = createHash('md5');
    try {
      await pipeline(body, async function* (src: AsyncIterable<Buffer>) {
        for await (const chunk of src) { md5.update(chunk); yield chunk; }
      }, createWriteStream(tmp));
      await rename(tmp, path);
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
    return { etag: md5.digest('hex') };
  }

  async delete(key: string): Promise<void> {
    await unlink(this.path(key)).catch((e) => { if (!isErrno(e, 'ENOENT')) throw e; });
  }
}
