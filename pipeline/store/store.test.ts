// The same contract, run against the local backend and against S3 on a real moto_server.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, readFile, access } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { openStore, putBlob, putBlobFile, getBlob, getBlobToFile, blobKey, makeS3Client, type ObjectStore } from './index.ts';
import { ConflictError, IntegrityError, NotFoundError, UnsupportedStoreError } from '../errors/index.ts';
import { startMoto, motoUnavailable, type MotoServer } from '../testing/moto.ts';

async function text(stream: AsyncIterable<Buffer>): Promise<string> {
  let out = '';
  for await (const c of stream) out += String(c);
  return out;
}

function contract(name: string, make: () => Promise<ObjectStore>, skip?: string) {
  describe(`${name} store`, { skip }, () => {
    let store: ObjectStore;
    before(async () => { store = await make(); });

    test('put, get, head and list by prefix', async () => {
      await store.put('a/one.json', '{"n":1}');
      await store.put('a/two.json', '{"n":2}');
      await store.put('b/three.json', '3');
      assert.equal(String(await store.get('a/one.json')), '{"n":1}');
      assert.equal((await store.head('a/two.json'))?.size, 7);
      assert.equal(await store.head('a/none.json'), undefined);
      assert.deepEqual(await store.list('a/'), ['a/one.json', 'a/two.json']);
      await assert.rejects(store.get('a/none.json'), NotFoundError);
    });

    test('put-if-absent refuses to overwrite and keeps the first content', async () => {
      await store.putIfAbsent('c/key', 'first');
      await assert.rejects(store.putIfAbsent('c/key', 'second'), ConflictError);
      assert.equal(String(await store.get('c/key')), 'first');
    });

    test('put-if-match is a compare-and-swap: a stale etag is refused and nothing changes', async () => {
      const { etag } = await store.put('d/alias', 'v1');
      const { etag: etag2 } = await store.putIfMatch('d/alias', 'v2', etag);
      await assert.rejects(store.putIfMatch('d/alias', 'v3', etag), ConflictError);
      assert.equal(String(await store.get('d/alias')), 'v2');
      assert.equal((await store.getWithEtag('d/alias')).etag, etag2);
      await assert.rejects(store.putIfMatch('d/missing', 'x', etag), ConflictError);
    });

    test('streaming put and get of a multi-part body', async () => {
      const big = Buffer.alloc(9 << 20, 7); // over one 8 MiB part
      big.write('head', 0);
      await store.putStream('e/big.bin', Readable.from([big.subarray(0, 3 << 20), big.subarray(3 << 20)]));
      const back = await store.get('e/big.bin');
      assert.equal(back.length, big.length);
      assert.ok(back.equals(big));
      await store.putStream('e/small.txt', Readable.from([Buffer.from('hello '), Buffer.from('world')]));
      assert.equal(await text(await store.getStream('e/small.txt')), 'hello world');
    });

    test('blobs are content-addressed, stored once, and verified on read', async () => {
      const a = await putBlob(store, 'same bytes');
      const b = await putBlob(store, 'same bytes');
      assert.equal(a.sha256, b.sha256);
      assert.equal((await store.list('blobs/')).filter((k) => k === blobKey(a.sha256)).length, 1);
      assert.equal(String(await getBlob(store, a.sha256)), 'same bytes');
      await store.put(blobKey(a.sha256), 'tampered');
      await assert.rejects(getBlob(store, a.sha256), IntegrityError);
      const dir = await mkdtemp(join(tmpdir(), 'mltk-blob-'));
      const out = join(dir, 'out.txt');
      await assert.rejects(getBlobToFile(store, a.sha256, out), /is corrupt.*was not written/);
      await assert.rejects(access(out), /ENOENT/);
      const src = join(dir, 'src.txt');
      await writeFile(src, 'file content');
      const ref = await putBlobFile(store, src);
      await getBlobToFile(store, ref.sha256, out);
      assert.equal(await readFile(out, 'utf8'), 'file content');
      await rm(dir, { recursive: true });
    });
  });
}

let dir: string;
contract('local', async () => {
  dir = await mkdtemp(join(tmpdir(), 'mltk-store-'));
  return openStore(dir);
});
after(async () => { if (dir) await rm(dir, { recursive: true, force: true }); });

let moto: MotoServer | undefined;
contract('s3 (moto_server)', async () => {
  moto = await startMoto();
  Object.assign(process.env, moto.env);
  await (await makeS3Client()).send(new CreateBucketCommand({ Bucket: 'mltk-test', CreateBucketConfiguration: { LocationConstraint: 'eu-west-2' } }));
  return openStore('s3://mltk-test/team/registry');
}, motoUnavailable());
after(async () => { await moto?.stop(); });

test('local conditional writes hold under concurrency: 20 racers, one winner per key', async () => {
  const d = await mkdtemp(join(tmpdir(), 'mltk-race-'));
  const store = openStore(`file://${d}`);
  const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => store.putIfAbsent('k', `writer ${i}`)));
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
  assert.ok(results.filter((r) => r.status === 'rejected').every((r) => (r as PromiseRejectedResult).reason instanceof ConflictError));
  const { etag } = await store.put('alias', 'base');
  const cas = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => store.putIfMatch('alias', `move ${i}`, etag)));
  assert.equal(cas.filter((r) => r.status === 'fulfilled').length, 1);
  await rm(d, { recursive: true });
});

test('store URLs: unknown scheme and bucketless s3 are refused with the URL named', () => {
  assert.throws(() => openStore('gs://bucket/x'), (e: unknown) => e instanceof UnsupportedStoreError && /unknown store scheme "gs:\/\/" in "gs:\/\/bucket\/x"/.test((e as Error).message));
  assert.throws(() => openStore('s3://'), /has no bucket/);
  assert.equal(openStore('s3://b/p/q/').url, 's3://b/p/q');
});

test('local keys cannot escape the store root', async () => {
  const store = openStore(await mkdtemp(join(tmpdir(), 'mltk-keys-')));
  await assert.rejects(store.put('../evil', 'x'), /invalid store key/);
});
