// Ranged reads and composed objects: the parts plan (S3's 5 MiB rule), and both backends on real bytes
// (S3 on moto_server, which enforces the minimum part size as S3 does).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CreateBucketCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { ConflictError, NotFoundError } from '../errors/index.ts';
import { motoUnavailable, startMoto, type MotoServer } from '../testing/moto.ts';
import { planCompose, S3_COMPOSE_LIMITS, type ComposePart } from './compose.ts';
import { makeS3Client, openStore, S3Store, type ObjectStore } from './index.ts';

const MiB = 2 ** 20;
const limits = { minPartBytes: 5, maxCopyPartBytes: 12, maxParts: 100 };
const k = (key: string, size: number) => ({ source: { key }, size });

/** Every part but the last within the limits, and together exactly the sources' bytes in order. */
function assertValid(parts: ComposePart[], sources: { source: { key: string } | { bytes: Buffer }; size: number }[]) {
  const sizes = parts.map((p) => (p.kind === 'copy' ? p.end - p.start : p.bytes));
  for (const s of sizes.slice(0, -1)) assert.ok(s >= limits.minPartBytes, `part of ${s} bytes: ${sizes}`);
  for (const p of parts) if (p.kind === 'copy') assert.ok(p.end - p.start <= limits.maxCopyPartBytes);
  const pieces = parts.flatMap((p) => (p.kind === 'copy' ? [p] : p.slices));
  const spans = pieces.map((s) => ('bytes' in s ? `bytes:${s.bytes.length}` : `${s.key}:${s.start}-${s.end}`));
  const merged: string[] = [];
  for (const span of spans) {
    const [key, range] = span.split(':');
    const prev = merged.at(-1)?.split(':');
    if (prev && prev[0] === key && key !== 'bytes' && prev[1]!.split('-')[1] === range!.split('-')[0])
      merged[merged.length - 1] = `${key}:${prev[1]!.split('-')[0]}-${range!.split('-')[1]}`;
    else merged.push(span);
  }
  const expected = sources
    .filter((s) => s.size > 0)
    .map((s) => ('bytes' in s.source ? `bytes:${s.size}` : `${s.source.key}:0-${s.size}`));
  assert.deepEqual(merged, expected);
}

test('parts: large sources are copied, small ones read and merged, topped up from the next large one', () => {
  const header = { source: { bytes: Buffer.from('h,') }, size: 2 };
  const cases = [
    [header, k('a', 30), k('b', 1), k('c', 2), k('d', 9), k('e', 0), k('f', 3)],
    [k('a', 4), k('b', 4), k('c', 4)],
    [header, k('a', 7)],
    [k('a', 5), k('b', 5), k('c', 25)],
    [header],
    [],
  ];
  for (const sources of cases) assertValid(planCompose(sources, limits), sources);
  const parts = planCompose([header, k('a', 30), k('b', 1)], limits);
  assert.deepEqual(
    parts.map((p) => (p.kind === 'copy' ? `copy ${p.start}-${p.end}` : `upload ${p.bytes}`)),
    ['upload 5', 'copy 3-12', 'copy 12-21', 'copy 21-30', 'upload 1'],
    'the header takes 3 bytes of a, the rest of a is copied in equal parts, b is the small last part',
  );
  assert.deepEqual(planCompose([], limits), []);
  assert.throws(() => planCompose([k('a', 30)], { ...limits, maxParts: 2 }), /needs 3 parts, over S3's 2.*shard_bytes/);
  assert.equal(S3_COMPOSE_LIMITS.minPartBytes, 5 * MiB);
});

function backend(name: string, make: () => Promise<ObjectStore>, skip?: string) {
  describe(`${name}: ranges and compose`, { skip }, () => {
    let store: ObjectStore;
    before(async () => {
      store = await make();
    });

    test('getRange reads [start, end) of the version named, and refuses another version', async () => {
      const { etag } = await store.put('r/obj', '0123456789');
      const read = async (s: number, e: number, ifMatch?: string) => {
        const chunks: Buffer[] = [];
        for await (const c of await store.getRange('r/obj', s, e, { ifMatch })) chunks.push(c as Buffer);
        return String(Buffer.concat(chunks));
      };
      assert.equal(await read(2, 5), '234');
      assert.equal(await read(0, 10, (await store.head('r/obj'))!.etag), '0123456789');
      assert.equal(await read(4, 4), '');
      await store.put('r/obj', 'changed!!!');
      await assert.rejects(read(0, 3, etag), ConflictError);
      await assert.rejects(store.getRange('r/none', 0, 1), NotFoundError);
    });

    test('compose writes the sources in order; a missing source writes nothing', async () => {
      await store.put('c/1', 'one,');
      await store.put('c/2', '');
      await store.put('c/3', 'three');
      await store.compose('c/out', [{ bytes: Buffer.from('head:') }, { key: 'c/1' }, { key: 'c/2' }, { key: 'c/3' }]);
      assert.equal(String(await store.get('c/out')), 'head:one,three');
      await assert.rejects(store.compose('c/never', [{ key: 'c/1' }, { key: 'c/missing' }]), NotFoundError);
      assert.equal(await store.head('c/never'), undefined);
    });
  });
}

let dir: string;
backend('local', async () => {
  dir = await mkdtemp(join(tmpdir(), 'mltk-compose-'));
  return openStore(dir);
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

let moto: MotoServer | undefined;
backend(
  's3 (moto_server)',
  async () => {
    moto = await startMoto();
    Object.assign(process.env, moto.env);
    await (await makeS3Client()).send(
      new CreateBucketCommand({ Bucket: 'compose', CreateBucketConfiguration: { LocationConstraint: 'eu-west-2' } }),
    );
    return openStore('s3://compose/p');
  },
  motoUnavailable(),
);
after(async () => {
  await moto?.stop();
});

test('S3: a multipart compose of copies and merged small parts holds exactly the bytes, in order', {
  skip: motoUnavailable(),
}, async () => {
  const store = new S3Store('compose', 'mp', makeS3Client());
  const body = (n: number, seed: number) => {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
    return b;
  };
  const sources = [body(6 * MiB + 3, 1), body(100, 2), body(11 * MiB, 3), body(1000, 4), body(40, 5)];
  await Promise.all(sources.map((b, i) => store.put(`parts/${i}`, b)));
  const header = Buffer.from('id,prediction\n');
  const keys = sources.map((_, i) => ({ key: `parts/${i}` }));
  const small = { ...S3_COMPOSE_LIMITS, maxCopyPartBytes: 10 * MiB };
  await store.compose('out.csv', [{ bytes: header }, ...keys], small);
  assert.ok((await store.get('out.csv')).equals(Buffer.concat([header, ...sources])));
  // A failed compose leaves neither the object nor an open multipart upload behind.
  await assert.rejects(store.compose('never.csv', [...keys, { key: 'parts/none' }], small), NotFoundError);
  assert.equal(await store.head('never.csv'), undefined);
  const open = await (await makeS3Client()).send(new ListMultipartUploadsCommand({ Bucket: 'compose' }));
  assert.deepEqual(open.Uploads ?? [], []);
});
