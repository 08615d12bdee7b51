// The scale-out steps as the state machine runs them: the real predict handler invoked with the plan,
// shard and finalize events (the items read from S3 as the map's ItemReader reads them), on moto S3
// behind a fault proxy that fails a shard's writes, and in a process killed mid-finalize.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { storeWithModel, trainFixture, type Fixture } from '../pipeline/predict/testdata.ts';
import {
  finalizeResultSchema,
  planResultSchema,
  runIdFor,
  runKeys,
  shardEventSchema,
  type ShardEvent,
} from '../pipeline/scale/index.ts';
import { makeS3Client, openStore, type ObjectStore } from '../pipeline/store/index.ts';
import { startFaultProxy, type FaultProxy } from '../pipeline/testing/fault-proxy.ts';
import { motoUnavailable, startMoto, type MotoServer } from '../pipeline/testing/moto.ts';

type Handler = (event: unknown, context?: { awsRequestId?: string }) => Promise<any>;

const skip = motoUnavailable();
const KEY = 'incoming/2026/homes.csv';
const SHARD_BYTES = 48 * 1024;
/** The service stack sets both: objects above the shard size go to the state machine (never called here). */
const sharded = {
  MLTK_SHARD_BYTES: String(SHARD_BYTES),
  MLTK_BATCH_STATE_MACHINE_ARN: 'arn:aws:states:eu-west-2:123456789012:stateMachine:mltk-test-batch',
};
const CHILD = new URL('../pipeline/testing/handler-crash-child.ts', import.meta.url).pathname;

let fx: Fixture;
let local: Awaited<ReturnType<typeof storeWithModel>>;
let moto: MotoServer;
let proxy: FaultProxy;
let env: Record<string, string>;
let input: Buffer;
const dirs: string[] = [];

/** The fixture rows four times over (2,000 rows), with bad cells and ids quoted around commas and newlines. */
function homesCsv(): Buffer {
  const lines = fx.csv.toString('utf8').trimEnd().split('\n');
  const header = lines.shift()!;
  const cols = header.split(',');
  const out = [header];
  for (let copy = 0; copy < 4; copy++)
    lines.forEach((line, i) => {
      const cells = line.split(',');
      cells[0] = `${cells[0]}-${copy}`;
      if (i % 97 === 5) cells[cols.indexOf('property_type')] = 'Castle';
      if (i % 131 === 7) cells[cols.indexOf('total_floor_area')] = 'n/a';
      if (i % 53 === 3) cells[0] = `"${cells[0]}, ""quoted""\nid"`;
      out.push(cells.join(','));
    });
  return Buffer.from(`${out.join('\n')}\n`);
}

before(async () => {
  if (skip) return;
  fx = await trainFixture();
  local = await storeWithModel(fx);
  moto = await startMoto();
  proxy = await startFaultProxy(moto.endpoint);
  env = {
    ...moto.env,
    AWS_ENDPOINT_URL: proxy.endpoint,
    MLTK_STORE: local.dir,
    MLTK_MODEL: 'sap_change',
    MLTK_ALIAS: 'prod',
    MLTK_ALIAS_TTL_S: '60',
  };
  Object.assign(process.env, env);
  const s3 = await makeS3Client();
  for (const Bucket of ['data', 'ref', 'preds', 'crash'])
    await s3.send(new CreateBucketCommand({ Bucket, CreateBucketConfiguration: { LocationConstraint: 'eu-west-2' } }));
  input = homesCsv();
  await openStore('s3://data').put(KEY, input);
});

after(async () => {
  await proxy?.close();
  await moto?.stop();
  await local?.cleanup();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** A fresh handler module (a new container) configured by `extra` on top of the shared environment. */
async function container(extra: Record<string, string>, tag: string): Promise<Handler> {
  delete process.env.MLTK_SHARD_BYTES;
  delete process.env.MLTK_BATCH_STATE_MACHINE_ARN;
  Object.assign(process.env, env, extra);
  return (await import(`./predict.ts?container=${tag}`)).handler as Handler;
}

const quietly = async <T>(fn: () => Promise<T>): Promise<T> => {
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) =>
    String(chunk).startsWith('{') ? true : write(chunk, ...(rest as []))) as typeof process.stdout.write;
  try {
    return await fn();
  } finally {
    process.stdout.write = write;
  }
};

async function planEvent() {
  const head = (await openStore('s3://data').head(KEY))!;
  const etag = head.etag.replace(/"/g, '');
  const run_id = runIdFor({ bucket: 'data', key: KEY, etag });
  return { mltk_step: 'plan', run_id, input: { bucket: 'data', key: KEY, etag, size: head.size } };
}

/** The single-Lambda outputs of the same object: what the sharded path must reproduce byte for byte. */
async function reference(): Promise<{ predictions: Buffer; errors: Buffer; manifest: any }> {
  const ref = openStore('s3://ref');
  if (!(await ref.head('predictions/2026/homes.csv/manifest.json'))) {
    const handler = await container({ MLTK_PREDICTIONS_BUCKET: 'ref' }, 'reference');
    const r = await quietly(() =>
      handler({
        Records: [
          {
            eventSource: 'aws:s3',
            eventName: 'ObjectCreated:Put',
            s3: { bucket: { name: 'data' }, object: { key: KEY } },
          },
        ],
      }),
    );
    assert.equal(r.results[0].status, 'scored');
  }
  return {
    predictions: await ref.get('predictions/2026/homes.csv/predictions.csv'),
    errors: await ref.get('predictions/2026/homes.csv/errors.csv'),
    manifest: JSON.parse(String(await ref.get('predictions/2026/homes.csv/manifest.json'))),
  };
}

/** Plans the run in `bucket` and reads its items as the Distributed Map's ItemReader does. */
async function planned(handler: Handler, bucket: string): Promise<{ run_id: string; items: ShardEvent[] }> {
  const event = await planEvent();
  const plan = planResultSchema.parse(await quietly(() => handler(event)));
  assert.deepEqual(plan.items, { bucket, key: runKeys(event.run_id).items });
  const items = JSON.parse(String(await openStore(`s3://${bucket}`).get(plan.items.key))) as unknown[];
  assert.equal(items.length, plan.shards);
  return { run_id: event.run_id, items: items.map((i) => shardEventSchema.parse(i)) };
}

const finalKeys = (store: ObjectStore) => store.list('predictions/');

test('plan → shards → finalize: a shard that keeps failing writes nothing final; retried, the outputs are the single ' +
  'pass byte for byte', {
  skip,
}, async () => {
  const ref = await reference();
  assert.ok(ref.manifest.errors > 20, 'the input has bad rows');
  const handler = await container({ MLTK_PREDICTIONS_BUCKET: 'preds', ...sharded }, 'scale');
  const preds = openStore('s3://preds');
  const { run_id, items } = await planned(handler, 'preds');
  assert.ok(items.length >= 5, `${input.length} bytes in shards of ${SHARD_BYTES}: ${items.length}`);
  assert.equal(
    items.reduce((a, i) => a + i.rows, 0),
    ref.manifest.rows,
  );

  // Shard 1's prediction part cannot be written (S3 answers 500, past the SDK's retries): the step fails.
  const failing = runKeys(run_id).part(1).predictions;
  proxy.rule = (req) =>
    req.method === 'PUT' && req.path.includes(failing)
      ? { action: 'fail', status: 500, body: '<Error><Code>InternalError</Code></Error>' }
      : { action: 'forward' };
  const outcomes = await quietly(() => Promise.allSettled(items.map((item) => handler(item))));
  assert.deepEqual(
    outcomes.map((o) => o.status),
    items.map((_, i) => (i === 1 ? 'rejected' : 'fulfilled')),
  );
  assert.equal(await preds.head(runKeys(run_id).part(1).result), undefined, 'no record for the failed shard');
  // The map fails, so Finalize never runs; even invoked, it writes nothing final.
  await assert.rejects(
    quietly(() => handler({ mltk_step: 'finalize', run_id })),
    /shard 1 of \d+ has no result .* it never finished/,
  );
  assert.deepEqual(await finalKeys(preds), []);

  // Retried (and shard 2 re-executed): the same part keys, the same bytes.
  proxy.rule = () => ({ action: 'forward' });
  const part2 = await preds.get(runKeys(run_id).part(2).predictions);
  for (const i of [1, 2]) await quietly(() => handler(items[i]));
  assert.ok((await preds.get(runKeys(run_id).part(2).predictions)).equals(part2));

  const done = finalizeResultSchema.parse(await quietly(() => handler({ mltk_step: 'finalize', run_id })));
  assert.deepEqual(
    [done.status, done.shards, done.rows, done.scored, done.errors],
    ['scored', items.length, ref.manifest.rows, ref.manifest.scored, ref.manifest.errors],
  );
  assert.ok((await preds.get('predictions/2026/homes.csv/predictions.csv')).equals(ref.predictions));
  assert.ok((await preds.get('predictions/2026/homes.csv/errors.csv')).equals(ref.errors));
  const manifest = JSON.parse(String(await preds.get('predictions/2026/homes.csv/manifest.json')));
  for (const field of [
    'status',
    'input_key',
    'source',
    'rows',
    'scored',
    'errors',
    'issues',
    'input',
    'model',
    'outputs',
  ])
    assert.deepEqual(manifest[field], ref.manifest[field], field);
  assert.deepEqual(manifest.scale, { run_id, shards: items.length, shard_bytes: SHARD_BYTES });
  assert.deepEqual(await preds.list(runKeys(run_id).prefix), [runKeys(run_id).done], 'only the done record is left');
  // Re-executed, finalize answers from its record and changes nothing.
  assert.deepEqual(await quietly(() => handler({ mltk_step: 'finalize', run_id })), done);
});

/** Runs finalize in a child process that hangs at `method(key ~ pattern)`, and kills it there. */
async function killFinalizeAt(run_id: string, method: string, pattern: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'mltk-scale-crash-'));
  dirs.push(dir);
  const marker = join(dir, 'reached');
  const event = JSON.stringify({ mltk_step: 'finalize', run_id });
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', CHILD, marker, 'S3Store', method, pattern, '--', 'handlers/predict.ts', event],
    { env: { ...process.env, ...env, ...sharded, MLTK_PREDICTIONS_BUCKET: 'crash' }, stdio: 'ignore' },
  );
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  let code: number | null | undefined;
  void exited.then((c) => {
    code = c;
  });
  while (!existsSync(marker)) {
    assert.equal(code, undefined, `finalize exited (${code}) before ${method} ${pattern}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill('SIGKILL');
  await exited;
}

test('a crash mid-finalize leaves no manifest and every part, or a complete result; finalize again completes it', {
  skip,
}, async () => {
  const ref = await reference();
  const handler = await container({ MLTK_PREDICTIONS_BUCKET: 'crash', ...sharded }, 'crash');
  const crash = openStore('s3://crash');
  const { run_id, items } = await planned(handler, 'crash');
  await quietly(() => Promise.all(items.map((item) => handler(item))));
  const temporary = await crash.list(runKeys(run_id).prefix);
  assert.equal(temporary.length, 2 + 3 * items.length);

  // Killed after the outputs were assembled, before the manifest: not scored yet, and nothing of the run lost.
  await killFinalizeAt(run_id, 'put', 'manifest\\.json$');
  assert.ok(await crash.head('predictions/2026/homes.csv/predictions.csv'));
  assert.equal(await crash.head('predictions/2026/homes.csv/manifest.json'), undefined);
  assert.deepEqual(await crash.list(runKeys(run_id).prefix), temporary);

  // Killed during the clean-up (after the done record): a complete result; finalize again ends the clean-up.
  await killFinalizeAt(run_id, 'delete', 'plan\\.json$');
  const manifest = JSON.parse(String(await crash.get('predictions/2026/homes.csv/manifest.json')));
  assert.equal(manifest.rows, ref.manifest.rows);
  assert.ok(await crash.head(runKeys(run_id).plan));

  const done = finalizeResultSchema.parse(await quietly(() => handler({ mltk_step: 'finalize', run_id })));
  assert.equal(done.rows, ref.manifest.rows);
  assert.ok((await crash.get('predictions/2026/homes.csv/predictions.csv')).equals(ref.predictions));
  assert.ok((await crash.get('predictions/2026/homes.csv/errors.csv')).equals(ref.errors));
  assert.deepEqual(await crash.list(runKeys(run_id).prefix), [runKeys(run_id).done]);
});

test('a plan names its input: a changed object or a header the model cannot score', { skip }, async () => {
  const handler = await container({ MLTK_PREDICTIONS_BUCKET: 'preds', ...sharded }, 'plan');
  const event = await planEvent();
  await assert.rejects(
    quietly(() => handler({ ...event, input: { ...event.input, etag: 'not-the-etag' } })),
    (e: Error) => e.name === 'IntegrityError' && /is no longer the version its event named/.test(e.message),
  );
  await assert.rejects(
    quietly(() => handler({ ...event, run_id: 'a b' })),
    /run id/,
  );

  // A missing column: no shards; finalize writes the rejected outputs, as the single pass does.
  const data = openStore('s3://data');
  await data.put('incoming/narrow.csv', 'home_id,total_floor_area\nH1,50\n');
  const head = (await data.head('incoming/narrow.csv'))!;
  const etag = head.etag.replace(/"/g, '');
  const run_id = runIdFor({ bucket: 'data', key: 'incoming/narrow.csv', etag });
  const plan = planResultSchema.parse(
    await quietly(() =>
      handler({
        mltk_step: 'plan',
        run_id,
        input: { bucket: 'data', key: 'incoming/narrow.csv', etag, size: head.size },
      }),
    ),
  );
  assert.equal(plan.shards, 0);
  const done = finalizeResultSchema.parse(await quietly(() => handler({ mltk_step: 'finalize', run_id })));
  assert.equal(done.status, 'rejected');
  const preds = openStore('s3://preds');
  assert.match(
    String(await preds.get('predictions/narrow.csv/errors.csv')),
    /^row,field,reason\n0,property_type,missing column\n/,
  );
  assert.equal(JSON.parse(String(await preds.get('predictions/narrow.csv/manifest.json'))).status, 'rejected');
});
