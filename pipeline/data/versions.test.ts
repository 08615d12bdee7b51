import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, readFile, access } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { openStore, blobKey } from '../store/index.ts';
import {
  addDatasetVersion,
  listDatasetVersions,
  listDatasetVersionIds,
  readDatasetVersion,
  resolveDatasetVersion,
  getDatasetVersion,
} from './index.ts';

const CSV = 'home_id,area,fuel,flag,note\nh1,50.5,gas,1,\nh2,,oil,0,x\nh3,80,gas,1,y\n';

async function setup() {
  const dir = await mkdtemp(join(tmpdir(), 'mltk-data-'));
  const file = join(dir, 'd.csv');
  await writeFile(file, CSV);
  return { dir, file, store: openStore(join(dir, 'store')) };
}

test('add stores content-addressed, infers columns, and is idempotent for identical content', async () => {
  const { file, store } = await setup();
  const first = await addDatasetVersion(store, 'epc', file);
  assert.equal(first.created, true);
  assert.equal(first.version.version, createHash('sha256').update(CSV).digest('hex'));
  assert.equal(first.version.rows, 3);
  assert.deepEqual(
    first.version.columns.map((c) => [c.name, c.type, c.missing]),
    [
      ['home_id', 'categorical', 0],
      ['area', 'numeric', 1],
      ['fuel', 'categorical', 0],
      ['flag', 'boolean', 0],
      ['note', 'categorical', 1],
    ],
  );
  const again = await addDatasetVersion(store, 'epc', file);
  assert.equal(again.created, false);
  assert.equal((await store.list('blobs/')).length, 1);
  assert.equal((await listDatasetVersions(store, 'epc')).length, 1);
});

test('show resolves latest and sha prefixes; get verifies the hash and writes nothing when corrupt', async () => {
  const { dir, file, store } = await setup();
  const v1 = (await addDatasetVersion(store, 'epc', file, new Date('2026-01-01'))).version;
  await writeFile(file, `${CSV}h4,90,gas,0,z\n`);
  const v2 = (await addDatasetVersion(store, 'epc', file, new Date('2026-02-01'))).version;
  assert.equal((await resolveDatasetVersion(store, 'epc')).version, v2.version);
  assert.equal((await resolveDatasetVersion(store, `epc@${v1.version.slice(0, 8)}`)).version, v1.version);
  await assert.rejects(resolveDatasetVersion(store, 'epc@deadbeef'), /dataset "epc" has no version deadbeef/);
  await assert.rejects(resolveDatasetVersion(store, 'other'), /dataset "other" has no versions/);
  const out = join(dir, 'out.csv');
  await getDatasetVersion(store, `epc@${v1.version}`, out);
  assert.equal(await readFile(out, 'utf8'), CSV);
  await store.put(blobKey(v1.version), 'corrupted');
  const out2 = join(dir, 'out2.csv');
  await assert.rejects(getDatasetVersion(store, `epc@${v1.version}`, out2), /is corrupt/);
  await assert.rejects(access(out2));
});

test('bad input: missing file, header-only file and a bad name store nothing', async () => {
  const { dir, store } = await setup();
  await assert.rejects(
    addDatasetVersion(store, 'epc', join(dir, 'missing.csv')),
    /data file ".*missing\.csv" does not exist/,
  );
  const empty = join(dir, 'empty.csv');
  await writeFile(empty, 'a,b\n');
  await assert.rejects(addDatasetVersion(store, 'epc', empty), /empty\.csv: no data rows/);
  await assert.rejects(addDatasetVersion(store, '../x', empty), /invalid dataset name/);
  assert.deepEqual(await store.list(''), []);
});

test(
  'a cell beyond the range of a number (1e400) does not make a numeric column: the manifest stays ' + 'readable',
  async () => {
    const { dir, store } = await setup();
    const file = join(dir, 'inf.csv');
    await writeFile(file, 'home_id,area,target\nh1,50,1e400\nh2,60,2\n');
    const { version } = await addDatasetVersion(store, 'inf', file);
    assert.deepEqual(
      version.columns.map((c) => [c.name, c.type]),
      [
        ['home_id', 'categorical'],
        ['area', 'numeric'],
        ['target', 'categorical'],
      ],
    );
    assert.equal((await listDatasetVersions(store, 'inf'))[0]!.version, version.version);
  },
);

test('version ids come from one listing and one version reads by its full sha256', async () => {
  const { file, store } = await setup();
  const v1 = (await addDatasetVersion(store, 'epc', file)).version;
  await store.put('datasets/epc/versions/notes.txt', 'x');
  assert.deepEqual(await listDatasetVersionIds(store, 'epc'), [v1.version]);
  assert.deepEqual(await readDatasetVersion(store, 'epc', v1.version), v1);
  await assert.rejects(readDatasetVersion(store, 'epc', v1.version.slice(0, 12)), /is not a sha256/);
  await assert.rejects(readDatasetVersion(store, 'epc', 'f'.repeat(64)), /dataset "epc" has no version f{64}/);
  await assert.rejects(listDatasetVersionIds(store, '../x'), /invalid dataset name/);
});
