// `mltk predict --shards N --workers W` as a user runs it: the real CLI, shard processes of its own,
// files on disk and objects on moto S3; its outputs compared byte for byte with the one-pass path's.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { storeWithModel, trainFixture, type Fixture } from '../predict/testdata.ts';
import { makeS3Client, openStore } from '../store/index.ts';
import { runMltk } from '../testing/cli.ts';
import { startFaultProxy, type FaultProxy } from '../testing/fault-proxy.ts';
import { motoUnavailable, startMoto, type MotoServer } from '../testing/moto.ts';

let fx: Fixture;
let env: Awaited<ReturnType<typeof storeWithModel>>;
let dir: string;

before(async () => {
  fx = await trainFixture();
  env = await storeWithModel(fx);
  dir = await mkdtemp(join(tmpdir(), 'mltk-shards-'));
});
after(async () => {
  await env.cleanup();
  await rm(dir, { recursive: true, force: true });
});

const mltk = (args: string[], extra: NodeJS.ProcessEnv = {}) =>
  runMltk(['--store', env.dir, '--json', 'predict', '--model', 'sap_change@prod', ...args], {
    env: { ...process.env, ...extra },
  });

/** The fixture rows three times over, with bad cells, a row of the wrong width, quoted ids and CRLF line ends. */
function messyCsv(): string {
  const lines = fx.csv.toString('utf8').trimEnd().split('\n');
  const header = lines.shift()!;
  const out = [header];
  for (let copy = 0; copy < 3; copy++)
    lines.forEach((line, i) => {
      let row = line.replace(/^([^,]*)/, `$1-${copy}`);
      if (i % 41 === 2) row = row.replace(/,(House|Bungalow|Flat|Maisonette),/, ',Castle,');
      if (i % 67 === 9) row = row.replace(/^([^,]*)/, '"$1, ""x""\r\ny"');
      if (i === 100 && copy === 1) row = `${row},extra`;
      out.push(row);
    });
  return `${out.join('\r\n')}\r\n`;
}

/** The same rows as JSON lines, a few not JSON and one blank. */
function messyJsonl(): string {
  const [header, ...rows] = fx.csv.toString('utf8').trimEnd().split('\n');
  const cols = header!.split(',');
  return rows
    .map((r, i) => {
      if (i % 53 === 4) return '{"home_id": broken';
      if (i === 10) return '   ';
      const rec = Object.fromEntries(
        r.split(',').map((v, k) => [cols[k], v === '' ? null : Number.isNaN(Number(v)) ? v : Number(v)]),
      );
      return JSON.stringify(rec);
    })
    .join('\n');
}

async function onePass(input: string, output: string) {
  const res = await mltk(['--input', input, '--output', output]);
  assert.equal(res.code, 0, res.stderr);
  return JSON.parse(res.stdout) as { rows: number; scored: number; errors: number };
}

for (const [format, make] of [
  ['csv', messyCsv],
  ['jsonl', messyJsonl],
] as const) {
  test(
    `${format}: --shards 4 --workers 2 writes what one pass writes, byte for byte, and leaves nothing ` + `else`,
    async () => {
      const sub = await mkdtemp(join(dir, `${format}-`));
      const input = join(sub, `in.${format}`);
      await writeFile(input, make());
      const one = await onePass(input, join(sub, 'one.csv'));
      assert.ok(one.errors > 3, 'the input has bad rows');
      const res = await mltk([
        '--input',
        input,
        '--output',
        join(sub, 'sharded.csv'),
        '--shards',
        '4',
        '--workers',
        '2',
      ]);
      assert.equal(res.code, 0, res.stderr);
      const doc = JSON.parse(res.stdout);
      assert.deepEqual([doc.rows, doc.scored, doc.errors], [one.rows, one.scored, one.errors]);
      assert.equal(doc.shards, 4);
      assert.equal(doc.workers, 2);
      assert.equal(doc.worker_peak_rss_mb.length, 2);
      for (const name of ['.csv', '.errors.csv'])
        assert.ok(
          (await readFile(join(sub, `sharded${name}`))).equals(await readFile(join(sub, `one${name}`))),
          `sharded${name}`,
        );
      assert.deepEqual((await readdir(sub)).sort(), [
        `in.${format}`,
        'one.csv',
        'one.errors.csv',
        'sharded.csv',
        'sharded.errors.csv',
      ]);
    },
  );
}

test('--shards refuses what one pass refuses, writing nothing', async () => {
  const sub = await mkdtemp(join(dir, 'bad-'));
  await writeFile(join(sub, 'narrow.csv'), 'home_id,total_floor_area\nH1,50\n');
  const res = await mltk(['--input', join(sub, 'narrow.csv'), '--output', join(sub, 'o.csv'), '--shards', '2']);
  assert.equal(res.code, 4, res.stderr);
  assert.match(res.stderr, /missing columns "property_type"/);
  assert.deepEqual(await readdir(sub), ['narrow.csv']);
  const alone = await mltk(['--input', join(sub, 'narrow.csv'), '--output', join(sub, 'o.csv'), '--workers', '2']);
  assert.equal(alone.code, 4);
  assert.match(alone.stderr, /--workers needs --shards/);
});

const skip = motoUnavailable();
let moto: MotoServer | undefined;
let proxy: FaultProxy | undefined;
after(async () => {
  await proxy?.close();
  await moto?.stop();
});

test('s3:// in and out; a shard process that keeps failing fails the command with nothing final written', {
  skip,
}, async () => {
  moto = await startMoto();
  proxy = await startFaultProxy(moto.endpoint);
  const aws = { ...moto.env, AWS_ENDPOINT_URL: proxy.endpoint };
  Object.assign(process.env, aws);
  await (await makeS3Client()).send(
    new CreateBucketCommand({ Bucket: 'lake', CreateBucketConfiguration: { LocationConstraint: 'eu-west-2' } }),
  );
  const lake = openStore('s3://lake');
  const csv = messyCsv();
  await lake.put('in/homes.csv', csv);
  const local = join(dir, 'homes.csv');
  await writeFile(local, csv);
  await onePass(local, join(dir, 'homes-one.csv'));

  // Every ranged read past the first shard's start fails (S3 500, beyond the SDK's retries).
  proxy.rule = (req) => {
    const start = Number(/bytes=(\d+)-/.exec(String(req.headers.range ?? ''))?.[1] ?? 0);
    return req.method === 'GET' && start > 20_000
      ? { action: 'fail', status: 500, body: '<Error><Code>InternalError</Code></Error>' }
      : { action: 'forward' };
  };
  const args = ['--input', 's3://lake/in/homes.csv', '--output', 's3://lake/out/homes.csv', '--shards', '3'];
  const failed = await mltk(args, aws);
  assert.notEqual(failed.code, 0);
  assert.match(failed.stderr, /shard process for shards .* failed/);
  assert.deepEqual(await lake.list(''), ['in/homes.csv'], 'no output, and no temporary object left');

  proxy.rule = () => ({ action: 'forward' });
  const ok = await mltk([...args, '--workers', '3'], aws);
  assert.equal(ok.code, 0, ok.stderr);
  assert.ok((await lake.get('out/homes.csv')).equals(await readFile(join(dir, 'homes-one.csv'))));
  assert.ok((await lake.get('out/homes.errors.csv')).equals(await readFile(join(dir, 'homes-one.errors.csv'))));
  assert.deepEqual(await lake.list(''), ['in/homes.csv', 'out/homes.csv', 'out/homes.errors.csv']);
});
