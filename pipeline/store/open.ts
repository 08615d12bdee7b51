// Chooses a backend from a store URL: `--store` flag, else MLTK_STORE, else ./.mltk.
import { basename, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidInputError, quoted, UnsupportedStoreError } from '../errors/index.ts';
import { LocalStore } from './local.ts';
import { S3Store } from './s3.ts';
import type { ObjectStore } from './types.ts';

export const DEFAULT_STORE = './.mltk';

export function storeUrl(flag?: string): string {
  return flag ?? process.env.MLTK_STORE ?? DEFAULT_STORE;
}

/**
 * The folder a `file://` URL names. An empty path (`file://`, `file://localhost`) is refused rather
 * than read as the filesystem root, and so is a URL naming another host.
 */
function fileUrlPath(url: string): string {
  const rest = url.replace(/^file:\/\//i, '');
  if (rest === '' || /^localhost\/?$/i.test(rest))
    throw new UnsupportedStoreError(`${quoted(url)} has no path (expected file:///absolute/path, or a folder path)`);
  try {
    return fileURLToPath(url);
  } catch (e) {
    throw new UnsupportedStoreError(`${quoted(url)} is not a local file URL (${(e as Error).message})`);
  }
}

export function openStore(url: string = storeUrl()): ObjectStore {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (url.trim() === '')
    throw new UnsupportedStoreError(
      'the store URL is empty (--store or $MLTK_STORE): give a folder, file://PATH or s3://bucket',
    );
  if (scheme === undefined) return new LocalStore(resolve(url), url);
  if (scheme === 'file') return new LocalStore(fileUrlPath(url), url);
  if (scheme === 's3') {
    const m = /^s3:\/\/([^/]+)\/?(.*)$/i.exec(url);
    const bucket = m?.[1];
    if (!bucket)
      throw new UnsupportedStoreError(`store URL ${quoted(url)} has no bucket (expected s3://bucket[/prefix])`);
    return new S3Store(bucket, (m?.[2] ?? '').replace(/\/+$/, ''));
  }
  throw new UnsupportedStoreError(
    `unknown store scheme ${quoted(`${scheme}://`)} in ${quoted(url)} (expected a local path, file://PATH or ` +
      `s3://bucket[/prefix])`,
  );
}

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;

/** A `scheme://…` URL rather than a plain path. */
export function isUrl(s: string): boolean {
  return SCHEME.test(s);
}

/**
 * One object named by URL — `s3://bucket/key` or `file:///path` — as the store of its bucket (or
 * folder) and its key there, so reading it goes through the store layer (credentials, endpoint, errors).
 */
export function openObjectUrl(url: string): { store: ObjectStore; key: string } {
  const scheme = SCHEME.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'file') {
    const path = fileUrlPath(url);
    return { store: new LocalStore(dirname(path), `file://${dirname(path)}`), key: basename(path) };
  }
  if (scheme !== 's3')
    throw new UnsupportedStoreError(
      `cannot read ${quoted(url)}: expected s3://bucket/key, file:///path or a local path`,
    );
  const m = /^s3:\/\/([^/]+)\/(.+)$/i.exec(url);
  if (!m) throw new InvalidInputError(`${quoted(url)} names no object (expected s3://bucket/key)`);
  return { store: new S3Store(m[1]!, ''), key: m[2]! };
}

/** One object named by a URL (as openObjectUrl) or a plain file path, and the name it was given. */
export interface ObjectLocation {
  /** The store of its folder or bucket: siblings are found by key, files and objects read alike. */
  store: ObjectStore;
  key: string;
  /** As given, for messages. */
  url: string;
}

export function locateObject(ref: string): ObjectLocation {
  if (isUrl(ref)) return { ...openObjectUrl(ref), url: ref };
  const path = resolve(ref);
  return { store: new LocalStore(dirname(path)), key: basename(path), url: ref };
}
