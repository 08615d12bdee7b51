// The same contract, run against the local backend and against S3 on a real moto_server.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile, readFile, access, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Readable } from 'node:stream';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import {
  openStore,
  putBlob,
  putBlobFile,
  getBlob,
  getBlobToFile,
  blobKey,
  copyBlob,
  makeS3Client,
  openObjectUrl,
  S3Store,
  type ObjectStore,
} from './index.ts';
import { isTempName, STALE_TEMP_MS } from './temp.ts';
import {
  ConflictError,
  IntegrityError,
  InvalidInputError,
  NotFoundError,
  UnsupportedStoreError,
} from '../errors/index.ts';
import { startMoto, motoUnavailable, type MotoServer } from '../testing/moto.ts';

async function text(stream: AsyncIterable<Buffer>): Promise<string> {
  let out = '';
  for await (const c of stream) out += String(c);
  return out;
}

function contract(name: string, make: () => Promise<ObjectStore>, skip?: string) {
  describe(`${name} store`, { skip }, () => {
    let store: ObjectStore;
    before(async () => {
      store = await make();
    });

    test('put, get, head and list by prefix', async () => {
      await store.put('a/one.json', '{"n":1}');
      await store.put('a/two.json', '{"n":2}');
      await store.put('b/three.json', '3');
      assert.equal(String(await store.get('a/one.json')), '{"n":1}');
      assert.equal((await store.head('a/two.json'))?.size, 7);
      assert.equal(await store.head('a/none.json'), undefined);
      assert.deepEqual(await store.list('a/'), ['a/one.json', 'a/two.json']);
      // The typed error names the key; its cause is the backend's own answer (ENOENT, S3's NoSuchKey).
      await assert.rejects(
        store.get('a/none.json'),
        (e: any) => e instanceof NotFoundError && /a\/none\.json/.test(e.message) && e.cause !== undefined,
      );
      await assert.rejects(
        store.putIfAbsent('a/one.json', 'again'),
        (e: any) => e instanceof ConflictError && !!e.cause,
      );
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

    test('move replaces the target and removes the source; a missing source is not found', async () => {
      await store.put('m/staged', 'new bytes');
      await store.put('m/target', 'old bytes');
      await store.move('m/staged', 'm/target');
      assert.equal(String(await store.get('m/target')), 'new bytes');
      assert.deepEqual(await store.list('m/'), ['m/target']);
      await store.move('m/target', 'm/deeper/moved');
      assert.deepEqual(await store.list('m/'), ['m/deeper/moved']);
      await assert.rejects(store.move('m/none', 'm/x'), NotFoundError);
    });

    test(
      'hostile keys are refused before any request on this backend: `..`, `.`, empty segments, ' + 'control characters',
      async () => {
        await store.put('k/safe.txt', 'safe');
        const before = await store.list('');
        const hostile = [
          '../evil.txt',
          'k/../../evil.txt',
          'k/./evil.txt',
          'k//evil.txt',
          '/evil.txt',
          'k/evil\n.txt',
          '..',
        ];
        const ops: [string, (k: string) => Promise<unknown>][] = [
          ['get', (k) => store.get(k)],
          ['getWithEtag', (k) => store.getWithEtag(k)],
          ['head', (k) => store.head(k)],
          ['getStream', (k) => store.getStream(k)],
          ['put', (k) => store.put(k, 'x')],
          ['putIfAbsent', (k) => store.putIfAbsent(k, 'x')],
          ['putIfMatch', (k) => store.putIfMatch(k, 'x', 'etag')],
          ['putStream', (k) => store.putStream(k, Readable.from([Buffer.from('x')]))],
          ['delete', (k) => store.delete(k)],
          ['move from', (k) => store.move(k, 'k/moved.txt')],
          ['move to', (k) => store.move('k/safe.txt', k)],
          ['list', (k) => store.list(`${k}/`)],
        ];
        for (const key of hostile)
          for (const [name, op] of ops)
            await assert.rejects(op(key), (e: Error) => {
              assert.ok(e instanceof InvalidInputError, `${name} ${JSON.stringify(key)}: ${e.message}`);
              assert.match(e.message, /^invalid store key "[^\n]*": it /);
              return true;
            });
        assert.deepEqual(await store.list(''), before);
        assert.equal(String(await store.get('k/safe.txt')), 'safe');
      },
    );

    test('copyBlob re-hashes on the way: a corrupt or missing source writes nothing in the target', async () => {
      const other = openStore(`${store.url}-copy`);
      const good = await putBlob(store, 'model bytes');
      assert.deepEqual(await copyBlob(store, other, good.sha256, good.bytes), good);
      assert.equal(String(await getBlob(other, good.sha256)), 'model bytes');
      const bad = await putBlob(store, 'data bytes');
      await store.put(blobKey(bad.sha256), 'data bytez');
      await assert.rejects(copyBlob(store, other, bad.sha256), (e: Error) => {
        assert.ok(e instanceof IntegrityError);
        assert.match(e.message, new RegExp(`/${blobKey(bad.sha256)}: the source blob is corrupt .*nothing was copied`));
        return true;
      });
      await assert.rejects(copyBlob(store, other, 'e'.repeat(64)), /the source blob is missing; nothing was copied/);
      assert.deepEqual(await other.list(''), [blobKey(good.sha256)]);
    });
  });
}

let dir: string;
contract('local', async () => {
  dir = await mkdtemp(join(tmpdir(), 'mltk-store-'));
  return openStore(dir);
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

let moto: MotoServer | undefined;
contract(
  's3 (moto_server)',
  async () => {
    moto = await startMoto();
    Object.assign(process.env, moto.env);
    await (await makeS3Client()).send(
      new CreateBucketCommand({ Bucket: 'mltk-test', CreateBucketConfiguration: { LocationConstraint: 'eu-west-2' } }),
    );
    return openStore('s3://mltk-test/team/registry');
  },
  motoUnavailable(),
);
after(async () => {
  await moto?.stop();
});

test('a move over the single-copy limit goes through a multipart server-side copy', {
  skip: motoUnavailable(),
}, async () => {
  const store = new S3Store('mltk-test', 'multipart', makeS3Client(), {
    singleCopyMaxBytes: 6 << 20,
    copyPartBytes: 5 << 20,
  });
  const big = Buffer.alloc(12 << 20);
  for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE(i, i);
  await store.putStream('tmp/uploads/big', Readable.from([big]));
  await store.move('tmp/uploads/big', 'blobs/big');
  assert.ok((await store.get('blobs/big')).equals(big));
  assert.deepEqual(await store.list(''), ['blobs/big']);
});

test('object URLs: s3://bucket/key and file:// name one object through the store layer', async () => {
  const s3 = openObjectUrl('s3://data-bucket/training/epc.csv');
  assert.deepEqual([s3.store.url, s3.key], ['s3://data-bucket', 'training/epc.csv']);
  const file = openObjectUrl('file:///tmp/x/epc.csv');
  assert.deepEqual([file.store.url, file.key], ['file:///tmp/x', 'epc.csv']);
  assert.throws(() => openObjectUrl('s3://data-bucket/'), /"s3:\/\/data-bucket\/" names no object/);
  assert.throws(() => openObjectUrl('gs://b/k'), /cannot read "gs:\/\/b\/k"/);
});

test('local conditional writes hold under concurrency: 20 racers, one winner per key', async () => {
  const d = await mkdtemp(join(tmpdir(), 'mltk-race-'));
  const store = openStore(`file://${d}`);
  const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => store.putIfAbsent('k', `writer ${i}`)));
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
  assert.ok(
    results
      .filter((r) => r.status === 'rejected')
      .every((r) => (r as PromiseRejectedResult).reason instanceof ConflictError),
  );
  const { etag } = await store.put('alias', 'base');
  const cas = await Promise.allSettled(
    Array.from({ length: 20 }, (_, i) => store.putIfMatch('alias', `move ${i}`, etag)),
  );
  assert.equal(cas.filter((r) => r.status === 'fulfilled').length, 1);
  await rm(d, { recursive: true });
});

test('store URLs: unknown scheme and bucketless s3 are refused with the URL named', () => {
  assert.throws(
    () => openStore('gs://bucket/x'),
    (e: unknown) =>
      e instanceof UnsupportedStoreError &&
      /unknown store scheme "gs:\/\/" in "gs:\/\/bucket\/x"/.test((e as Error).message),
  );
  assert.throws(() => openStore('s3://'), /has no bucket/);
  assert.equal(openStore('s3://b/p/q/').url, 's3://b/p/q');
});

test(
  'an empty file:// path is a store-URL error, never the filesystem root; so is another host or ' + 'an empty URL',
  () => {
    const refused: [string, RegExp][] = [
      ['file://', /^"file:\/\/" has no path \(expected file:\/\/\/absolute\/path, or a folder path\)$/],
      ['FILE://', /^"FILE:\/\/" has no path/],
      ['file://localhost', /^"file:\/\/localhost" has no path/],
      ['file://localhost/', /^"file:\/\/localhost\/" has no path/],
      ['file://relative/folder', /^"file:\/\/relative\/folder" is not a local file URL \(File URL host must be/],
      ['', /^the store URL is empty/],
      ['  ', /^the store URL is empty/],
    ];
    for (const [url, message] of refused) {
      assert.throws(
        () => openStore(url),
        (e: unknown) => e instanceof UnsupportedStoreError && message.test((e as Error).message),
        JSON.stringify(url),
      );
    }
    assert.throws(() => openObjectUrl('file://'), /has no path/);
    assert.equal((openStore('file:///tmp/mltk-store') as { root?: string }).root, '/tmp/mltk-store');
    assert.equal((openStore('file://localhost/tmp/mltk-store') as { root?: string }).root, '/tmp/mltk-store');
  },
);

test('local keys cannot escape the store root', async () => {
  const store = openStore(await mkdtemp(join(tmpdir(), 'mltk-keys-')));
  await assert.rejects(store.put('../evil', 'x'), /invalid store key/);
});

const WRITER_CHILD = join(dirname(fileURLToPath(import.meta.url)), '../testing/store-writer-child.ts');

test("a folder store's next write into a folder removes a killed writer's temps, never a live writer's", async () => {
  const d = await mkdtemp(join(tmpdir(), 'mltk-temps-'));
  const folder = join(d, 'x');
  const temps = async () => (await readdir(folder)).filter(isTempName).sort();
  const writer = (name: string, go?: string) => {
    const marker = join(d, `${name}.started`);
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', WRITER_CHILD, d, `x/${name}`, marker, ...(go ? [go] : [])],
      { stdio: 'ignore' },
    );
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    return { child, marker, exited };
  };
  const go = join(d, 'go');
  const killed = writer('killed.bin');
  const live = writer('live.bin', go);
  try {
    for (const w of [killed, live]) {
      let ended = false;
      void w.exited.then(() => {
        ended = true;
      });
      while (!existsSync(w.marker)) {
        assert.ok(!ended, 'a writer ended before it was seen writing');
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    killed.child.kill('SIGKILL');
    await killed.exited;
    const [killedTemp, liveTemp] = await temps();
    assert.match(killedTemp!, /^killed\.bin\.tmp-/);
    assert.match(liveTemp!, /^live\.bin\.tmp-/);
    // Untouched for two hours, the live writer's temp still stays: its process runs on this host.
    const twoHoursAgo = new Date(Date.now() - 2 * STALE_TEMP_MS);
    await utimes(join(folder, liveTemp!), twoHoursAgo, twoHoursAgo);
    // Temps of another host's writers: only the one untouched for over STALE_TEMP_MS goes.
    const ourTag = /\.tmp-\d+-([0-9a-f]{6})-/.exec(liveTemp!)![1];
    const otherTag = ourTag === '000000' ? '111111' : '000000';
    const farFresh = `far.bin.tmp-4242-${otherTag}-0a`;
    const farOld = `old.bin.tmp-4242-${otherTag}-0b`;
    await writeFile(join(folder, farFresh), 'x');
    await writeFile(join(folder, farOld), 'x');
    await utimes(join(folder, farOld), twoHoursAgo, twoHoursAgo);

    const store = openStore(d);
    await store.put('x/next.json', '{}');
    assert.deepEqual(await temps(), [farFresh, liveTemp]);
    assert.deepEqual(await store.list('x/'), ['x/next.json']);
    await writeFile(go, '');
    assert.equal(await live.exited, 0);
    assert.ok(
      (await store.get('x/live.bin')).equals(Buffer.concat([Buffer.alloc(1 << 20, 'a'), Buffer.alloc(1 << 20, 'b')])),
    );
    assert.deepEqual(await temps(), [farFresh]);
  } finally {
    live.child.kill('SIGKILL');
    killed.child.kill('SIGKILL');
    await rm(d, { recursive: true, force: true });
  }
});
