import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { openStore, makeS3Client, type ObjectStore } from '../store/index.ts';
import { ConflictError, NotFoundError } from '../errors/index.ts';
import { startMoto, motoUnavailable, type MotoServer } from '../testing/moto.ts';
import {
  registerModelVersion,
  moveAlias,
  rollbackAlias,
  resolveModel,
  aliasHistory,
  getAliasMove,
  appliedMoves,
  currentActor,
  listVersionNumbers,
  getAlias,
} from './index.ts';
import { versionEntry } from './testdata.ts';

const dirs: string[] = [];
async function localStore(): Promise<ObjectStore> {
  const d = await mkdtemp(join(tmpdir(), 'mltk-reg-'));
  dirs.push(d);
  return openStore(d);
}
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const entry = versionEntry;

test('20 concurrent registrations get 20 distinct versions and none is lost', async () => {
  const store = await localStore();
  const e = await entry(store);
  const got = await Promise.all(
    Array.from({ length: 20 }, (_, i) => registerModelVersion(store, { ...e, run_id: `run-${i}` })),
  );
  assert.deepEqual(
    got.map((v) => v.version).sort((a, b) => a - b),
    Array.from({ length: 20 }, (_, i) => i + 1),
  );
  assert.deepEqual(
    await listVersionNumbers(store, 'sap_change'),
    Array.from({ length: 20 }, (_, i) => i + 1),
  );
  const runIds = new Set(
    await Promise.all(got.map(async (v) => (await resolveModel(store, `sap_change@${v.version}`)).run_id)),
  );
  assert.equal(runIds.size, 20);
});

test('a manifest is refused when its blob is not stored, and nothing is written', async () => {
  const store = await localStore();
  const e = await entry(store);
  await assert.rejects(
    registerModelVersion(store, { ...e, artifact: { ...e.artifact, sha256: 'f'.repeat(64) } }),
    /artifact f{64} is not in/,
  );
  assert.deepEqual(await listVersionNumbers(store, 'sap_change'), []);
});

test('aliases move by compare-and-swap; a stale expectation conflicts and changes nothing', async () => {
  const store = await localStore();
  const e = await entry(store);
  await registerModelVersion(store, e);
  await registerModelVersion(store, e);
  await moveAlias(store, 'sap_change', 'prod', 1, { expected: null });
  await assert.rejects(moveAlias(store, 'sap_change', 'prod', 2, { expected: null }), ConflictError);
  assert.equal((await getAlias(store, 'sap_change', 'prod'))?.version, 1);
  await moveAlias(store, 'sap_change', 'prod', 2, { expected: 1 });
  assert.equal((await resolveModel(store, 'sap_change@prod')).version, 2);
});

test('two racing alias moves: exactly one wins, history records only committed moves', async () => {
  const store = await localStore();
  const e = await entry(store);
  for (let i = 0; i < 3; i++) await registerModelVersion(store, e);
  await moveAlias(store, 'sap_change', 'prod', 1);
  const race = await Promise.allSettled([
    moveAlias(store, 'sap_change', 'prod', 2),
    moveAlias(store, 'sap_change', 'prod', 3),
  ]);
  assert.equal(race.filter((r) => r.status === 'fulfilled').length, 1);
  const history = await aliasHistory(store, 'sap_change', 'prod');
  assert.equal(history.length, 2);
  assert.equal(history.at(-1)!.to, (await getAlias(store, 'sap_change', 'prod'))!.version);
});

test('promoting a version that does not exist is refused and the alias is unchanged', async () => {
  const store = await localStore();
  await registerModelVersion(store, await entry(store));
  await moveAlias(store, 'sap_change', 'prod', 1);
  await assert.rejects(
    moveAlias(store, 'sap_change', 'prod', 9),
    (err: unknown) => err instanceof NotFoundError && /model sap_change has no version 9/.test((err as Error).message),
  );
  assert.equal((await getAlias(store, 'sap_change', 'prod'))?.version, 1);
  assert.equal((await aliasHistory(store, 'sap_change', 'prod')).length, 1);
});

test('rollback moves the alias back in one call and is itself recorded', async () => {
  const store = await localStore();
  const e = await entry(store);
  await registerModelVersion(store, e);
  await registerModelVersion(store, e);
  await moveAlias(store, 'sap_change', 'prod', 1);
  await moveAlias(store, 'sap_change', 'prod', 2);
  const back = await rollbackAlias(store, 'sap_change', 'prod');
  assert.equal(back.version, 1);
  assert.deepEqual(
    (await aliasHistory(store, 'sap_change', 'prod')).map((m) => [m.from, m.to]),
    [
      [null, 1],
      [1, 2],
      [2, 1],
    ],
  );
  await assert.rejects(rollbackAlias(store, 'sap_change', 'staging'), /has no alias "staging"/);
});

test(
  'the applied moves, read entry by entry along the chain, are the history; an orphan entry ' + 'is not on it',
  async () => {
    const store = await localStore();
    const e = await entry(store);
    await registerModelVersion(store, e);
    await registerModelVersion(store, e);
    await moveAlias(store, 'sap_change', 'prod', 1);
    await moveAlias(store, 'sap_change', 'prod', 2, { reason: 'better rmse', by: 'ana' });
    // A mover that claimed entry 3 and died before its swap: the next move claims 4, after 2.
    await store.put(
      'models/sap_change/aliases/prod/history/000003.json',
      JSON.stringify({
        kind: 'mltk.alias_move',
        seq: 3,
        after: 2,
        from: 2,
        to: 1,
        at: '2026-01-01T00:00:00Z',
        reason: 'died',
      }),
    );
    await rollbackAlias(store, 'sap_change', 'prod', undefined, { by: 'github:ci-bot' });
    const alias = (await getAlias(store, 'sap_change', 'prod'))!;
    assert.equal(alias.by, 'github:ci-bot');
    const reads: number[] = [];
    const moves = await appliedMoves(alias, (seq) => {
      reads.push(seq);
      return getAliasMove(store, 'sap_change', 'prod', seq);
    });
    assert.deepEqual(moves, await aliasHistory(store, 'sap_change', 'prod'));
    assert.deepEqual(
      moves.map((m) => m.seq),
      [1, 2, 4],
    );
    assert.deepEqual(reads, [4, 2, 1], 'no listing: one read per applied move');
    assert.equal(moves[1]!.reason, 'better rmse');
    assert.deepEqual(await appliedMoves(undefined, () => assert.fail('no alias, nothing to read')), []);
    await assert.rejects(
      getAliasMove(store, 'sap_change', 'prod', 9),
      (err: unknown) => err instanceof NotFoundError && /sap_change@prod has no history entry 9/.test(String(err)),
    );
    assert.deepEqual(
      moves.map((m) => m.by),
      [currentActor(), 'ana', 'github:ci-bot'],
    );
    await assert.rejects(getAliasMove(store, 'sap_change', '../x', 1), /invalid alias/);
  },
);

test('a malformed manifest is reported with its key', async () => {
  const store = await localStore();
  await store.put('models/sap_change/versions/1.json', '{"kind":"mltk.model_version","version":"one"}');
  await assert.rejects(
    resolveModel(store, 'sap_change@1'),
    /models\/sap_change\/versions\/1\.json: malformed manifest/,
  );
  await assert.rejects(resolveModel(store, 'nope@prod'), /model nope has no alias "prod"/);
});

let moto: MotoServer | undefined;
test('concurrent registrations on S3 (moto_server) also get distinct versions', {
  skip: motoUnavailable(),
}, async () => {
  moto = await startMoto();
  Object.assign(process.env, moto.env);
  await (await makeS3Client()).send(
    new CreateBucketCommand({ Bucket: 'reg', CreateBucketConfiguration: { LocationConstraint: 'eu-west-2' } }),
  );
  const store = openStore('s3://reg/mltk');
  const e = await entry(store);
  const got = await Promise.all(Array.from({ length: 10 }, () => registerModelVersion(store, e)));
  assert.deepEqual(
    got.map((v) => v.version).sort((a, b) => a - b),
    Array.from({ length: 10 }, (_, i) => i + 1),
  );
  await moveAlias(store, 'sap_change', 'prod', 1);
  await assert.rejects(moveAlias(store, 'sap_change', 'prod', 2, { expected: null }), ConflictError);
});
after(async () => {
  await moto?.stop();
});

test(
  'a version with a metric that is not a number is refused before anything is written (JSON would ' + 'make it null)',
  async () => {
    const store = await localStore();
    const e = await entry(store);
    await assert.rejects(
      registerModelVersion(store, { ...e, metrics: { rmse: 1, r2: NaN } }),
      /versions\/1\.json: not written: "r2" is NaN/,
    );
    assert.deepEqual(await listVersionNumbers(store, 'sap_change'), []);
    const ok = await registerModelVersion(store, {
      ...e,
      metrics: { rmse: 1 },
      undefined_metrics: { r2: 'the held-out target is constant' },
    });
    assert.equal(
      (await resolveModel(store, `sap_change@${ok.version}`)).undefined_metrics?.r2,
      'the held-out target is constant',
    );
  },
);

test('the actor of a move: MLTK_ACTOR, else the GitHub Actions actor, else the OS user', () => {
  assert.equal(currentActor({ MLTK_ACTOR: 'deploy-role', GITHUB_ACTOR: 'octo' }), 'deploy-role');
  assert.equal(currentActor({ GITHUB_ACTOR: 'octo' }), 'github:octo');
  assert.ok((currentActor({}) ?? '').length > 0);
});

test('history entries written before moves recorded an actor still read', async () => {
  const store = await localStore();
  await registerModelVersion(store, await entry(store));
  await store.put(
    'models/sap_change/aliases/prod/history/000001.json',
    JSON.stringify({
      kind: 'mltk.alias_move',
      seq: 1,
      from: null,
      to: 1,
      at: '2026-01-01T00:00:00Z',
      reason: 'promote',
    }),
  );
  await store.put(
    'models/sap_change/aliases/prod.json',
    JSON.stringify({
      kind: 'mltk.alias',
      name: 'sap_change',
      alias: 'prod',
      version: 1,
      previous: null,
      seq: 1,
      updated_at: '2026-01-01T00:00:00Z',
      reason: 'promote',
    }),
  );
  assert.equal((await getAliasMove(store, 'sap_change', 'prod', 1)).by, undefined);
  assert.equal((await moveAlias(store, 'sap_change', 'prod', 1)).seq, 2);
});
