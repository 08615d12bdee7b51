// Chooses a backend from a store URL: `--store` flag, else MLTK_STORE, else ./.mltk.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UnsupportedStoreError } from '../errors/index.ts';
import { LocalStore } from './local.ts';
import { S3Store } from './s3.ts';
import type { ObjectStore } from './types.ts';

export const DEFAULT_STORE = './.mltk';

export function storeUrl(flag?: string): string {
  return flag ?? process.env.MLTK_STORE ?? DEFAULT_STORE;
}

export function openStore(url: string = storeUrl()): ObjectStore {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) return new LocalStore(resolve(url), url);
  if (scheme === 'file') return new LocalStore(fileURLToPath(url), url);
  if (scheme === 's3') {
    const m = /^s3:\/\/([^/]+)\/?(.*)$/i.exec(url);
    const bucket = m?.[1];
    if (!bucket) throw new UnsupportedStoreError(`store URL "${url}" has no bucket (expected s3://bucket[/prefix])`);
    return new S3Store(bucket, (m?.[2] ?? '').replace(/\/+$/, ''));
  }
  throw new UnsupportedStoreError(`unknown store scheme "${scheme}://" in "${url}" (expected a local path, file://PATH or s3://bucket[/prefix])`);
}
