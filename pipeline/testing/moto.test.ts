// The test server must keep the AWS rules the registry relies on: a conditional write (If-None-Match: *,
// If-Match) is atomic with the write. moto checks, then writes; moto-s3/sitecustomize.py locks the two.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { ConflictError } from '../errors/index.ts';
import { makeS3Client, openStore } from '../store/index.ts';
import { motoUnavailable, startMoto, useMotoEnv } from './moto.ts';

test('S3 conditional writes on the test server are atomic: 20 racers, one winner, with the race window widened', {
  skip: motoUnavailable(),
}, async () => {
  // 30 ms between moto's check and its write: without the lock every racer passes the check.
  const moto = await startMoto({ raceDelayMs: 30 });
  try {
    useMotoEnv(moto);
    const s3 = await makeS3Client();
    await s3.send(
      new CreateBucketCommand({
        Bucket: 'race-bucket',
        CreateBucketConfiguration: { LocationConstraint: 'eu-west-2' },
      }),
    );
    s3.destroy();
    const store = openStore('s3://race-bucket');
    const claims = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => store.putIfAbsent('versions/1.json', `writer ${i}`)),
    );
    assert.equal(claims.filter((r) => r.status === 'fulfilled').length, 1);
    assert.ok(claims.every((r) => r.status === 'fulfilled' || r.reason instanceof ConflictError));
    const { etag } = await store.put('alias.json', 'base');
    const swaps = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => store.putIfMatch('alias.json', `move ${i}`, etag)),
    );
    assert.equal(swaps.filter((r) => r.status === 'fulfilled').length, 1);
  } finally {
    await moto.stop();
  }
});
