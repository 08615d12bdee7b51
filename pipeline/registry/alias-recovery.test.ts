// An interrupted alias move never wedges the alias: orphan history claims are superseded, stale
// local locks are broken, racing movers still cannot both win, and `models history` stays truthful.
// The crashes are real: a child process moving the alias is killed with SIGKILL at the crash point.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { openStore, makeS3Client, type ObjectStore } from '../store/index.ts';
import { startMoto, motoUnavailable, type MotoServer } from '../testing/moto.ts';
import { runMltk } from '../testing/cli.ts';
import {
  registerModelVersion,
  moveAlias,
  rollbackAlias,
  getAlias,
  readAliasHistory,
  aliasMoveSchema,
} from './index.ts';
import { versionEntry } from './testdata.ts';

const CHILD = new URL('../testing/alias-crash-child.ts', import.meta.url).pathname;
const dirs: string[] = [];
async function tempDir(prefix: string): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** Runs the crash child until it reaches `point`, then kills it with SIGKILL. */
async function killMoveAt(storeUrl: string, version: number, point: 'after-claim' | 'inside-swap'): Promise<void> {
  const marker = join(await tempDir('mltk-crash-'), 'reached');
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', CHILD, storeUrl, 'sap_change', 'prod', String(version), point, marker],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += String(d);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let done = false;
  void exited.then(() => {
    done = true;
  });
  while (!existsSync(marker)) {
    if (done) assert.fail(`the child exited (${await exited}) before reaching ${point}: ${stderr}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  child.kill('SIGKILL');
  await exited;
}

async function cli(
  storeUrl: string,
  ...args: string[]
): Promise<{ code: number; doc: Record<string, unknown>; stderr: string }> {
  const res = await runMltk(['--store', storeUrl, '--json', ...args]);
  return { code: res.code, doc: JSON.parse(res.stdout || '{}') as Record<string, unknown>, stderr: res.stderr };
}

type Move = { seq: number; from: number | null; to: number; after?: number | null };
const pairs = (moves: unknown) => (moves as Move[]).map((m) => [m.seq, m.from, m.to]);

async function threeVersions(store: ObjectStore): Promise<void> {
  const e = await versionEntry(store);
  for (let i = 0; i < 3; i++) await registerModelVersion(store, e);
}

function recovery(backend: string, open: () => Promise<{ url: string; store: ObjectStore }>, skip?: string) {
  describe(`alias move recovery (${backend})`, { skip }, () => {
    test(
      'an orphan history claim (the latest entry copied to SEQ+1) is superseded: promote and rollback succeed, ' +
        'history is truthful',
      async () => {
        const { store } = await open();
        await threeVersions(store);
        await moveAlias(store, 'sap_change', 'prod', 1);
        const first = await store.get('models/sap_change/aliases/prod/history/000001.json');
        await store.putIfAbsent(
          'models/sap_change/aliases/prod/history/000002.json',
          first.toString().replace('"seq": 1', '"seq": 2'),
        );
        const moved = await moveAlias(store, 'sap_change', 'prod', 2);
        assert.deepEqual([moved.version, moved.seq, moved.previous], [2, 3, 1]);
        const back = await rollbackAlias(store, 'sap_change', 'prod');
        assert.equal(back.version, 1);
        const h = await readAliasHistory(store, 'sap_change', 'prod');
        assert.deepEqual(
          h.moves.map((m) => [m.seq, m.from, m.to, m.after]),
          [
            [1, null, 1, null],
            [3, 1, 2, 1],
            [4, 2, 1, 3],
          ],
        );
        assert.deepEqual(
          h.unapplied.map((m) => m.seq),
          [2],
        );
      },
    );

    test(
      'kill -9 between the claim and the swap: the next promote and rollback (real CLI) succeed; history shows ' +
        'the killed move as not applied',
      async () => {
        const { url, store } = await open();
        await threeVersions(store);
        await moveAlias(store, 'sap_change', 'prod', 1);
        await killMoveAt(url, 3, 'after-claim');
        assert.equal((await getAlias(store, 'sap_change', 'prod'))?.version, 1, 'the killed move never swapped');
        const promoted = await cli(url, 'models', 'promote', 'sap_change', '2', '--alias', 'prod');
        assert.equal(promoted.code, 0, promoted.stderr);
        assert.deepEqual([promoted.doc.version, promoted.doc.previous], [2, 1]);
        const rolled = await cli(url, 'models', 'rollback', 'sap_change', '--alias', 'prod');
        assert.equal(rolled.code, 0, rolled.stderr);
        assert.equal(rolled.doc.version, 1);
        const history = await cli(url, 'models', 'history', 'sap_change', '--alias', 'prod');
        assert.equal(history.code, 0, history.stderr);
        assert.deepEqual(pairs(history.doc.moves), [
          [1, null, 1],
          [3, 1, 2],
          [4, 2, 1],
        ]);
        assert.deepEqual(
          pairs(history.doc.unapplied),
          [[2, 1, 3]],
          'the killed move (to version 3) is listed, as not applied',
        );
        const human = await runMltk(['--store', url, 'models', 'history', 'sap_change', '--alias', 'prod']);
        assert.match(
          human.stdout,
          /^not applied: 2\t.*\t1 → 3\tcrash test \(after-claim\)\t\S+$/m,
          'the line ends with who moved it',
        );
      },
    );

    test('two racing movers after an orphan claim: exactly one wins and only its move is applied', async () => {
      const { store } = await open();
      await threeVersions(store);
      await moveAlias(store, 'sap_change', 'prod', 1);
      const orphan = {
        kind: 'mltk.alias_move',
        seq: 2,
        after: 1,
        from: 1,
        to: 3,
        at: new Date().toISOString(),
        reason: 'died',
      };
      await store.putIfAbsent(
        'models/sap_change/aliases/prod/history/000002.json',
        JSON.stringify(aliasMoveSchema.parse(orphan)),
      );
      const race = await Promise.allSettled([
        moveAlias(store, 'sap_change', 'prod', 2),
        moveAlias(store, 'sap_change', 'prod', 3),
      ]);
      assert.equal(race.filter((r) => r.status === 'fulfilled').length, 1, JSON.stringify(race.map((r) => r.status)));
      const loser = race.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      assert.match(String(loser.reason), /moved concurrently; not moved \(retry\)/);
      const winner = (
        race.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<{ version: number; seq: number }>
      ).value;
      const h = await readAliasHistory(store, 'sap_change', 'prod');
      assert.deepEqual(
        h.moves.map((m) => [m.from, m.to]),
        [
          [null, 1],
          [1, winner.version],
        ],
      );
      assert.equal(h.moves.at(-1)!.seq, winner.seq);
      assert.equal(h.unapplied.length, 2, 'the orphan and the loser');
    });
  });
}

let moto: MotoServer | undefined;
recovery('local', async () => {
  const url = await tempDir('mltk-alias-');
  return { url, store: openStore(url) };
});
let bucket = 0;
recovery(
  's3 on moto_server',
  async () => {
    if (!moto) {
      moto = await startMoto();
      Object.assign(process.env, moto.env);
    }
    const name = `alias-${++bucket}`;
    await (await makeS3Client()).send(
      new CreateBucketCommand({ Bucket: name, CreateBucketConfiguration: { LocationConstraint: 'eu-west-2' } }),
    );
    const url = `s3://${name}/registry`;
    return { url, store: openStore(url) };
  },
  motoUnavailable(),
);
after(async () => {
  await moto?.stop();
});

describe('stale local locks', () => {
  let url: string;
  let store: ObjectStore;
  before(async () => {
    url = await tempDir('mltk-lock-');
    store = openStore(url);
    await threeVersions(store);
    await moveAlias(store, 'sap_change', 'prod', 1);
  });

  test(
    'kill -9 inside the swap (lock held): the next promote succeeds at once and leaves no lock and no ' +
      'orphan of its own',
    async () => {
      await killMoveAt(url, 3, 'inside-swap');
      const aliasDir = join(url, 'models/sap_change/aliases');
      assert.ok((await readdir(aliasDir)).includes('prod.json.lock'), 'the killed writer left its lock');
      const promoted = await cli(url, 'models', 'promote', 'sap_change', '2', '--alias', 'prod');
      assert.equal(promoted.code, 0, promoted.stderr);
      assert.equal(promoted.doc.version, 2);
      assert.deepEqual(
        (await readdir(aliasDir)).filter((n) => n.endsWith('.lock')),
        [],
      );
      const rolled = await cli(url, 'models', 'rollback', 'sap_change', '--alias', 'prod');
      assert.equal(rolled.code, 0, rolled.stderr);
      const h = await readAliasHistory(store, 'sap_change', 'prod');
      assert.deepEqual(
        h.moves.map((m) => [m.seq, m.from, m.to]),
        [
          [1, null, 1],
          [3, 1, 2],
          [4, 2, 1],
        ],
      );
      assert.deepEqual(
        h.unapplied.map((m) => [m.seq, m.to]),
        [[2, 3]],
        'only the killed move is unapplied',
      );
    },
  );

  test('a lock left by an older mltk (no holder named) is broken once it is older than the bound', async () => {
    const lock = join(url, 'models/sap_change/aliases/prod.json.lock');
    await writeFile(lock, '');
    const old = new Date(Date.now() - 60_000);
    await utimes(lock, old, old);
    const moved = await moveAlias(store, 'sap_change', 'prod', 3);
    assert.equal(moved.version, 3);
    assert.equal(existsSync(lock), false);
  });
});
