// The hand-off of large objects to the batch scoring state machine, through the real prediction
// handler on moto_server's S3 and Step Functions (moto runs no Lambda: executions are started and stay
// RUNNING, which is all the hand-off does): the size threshold, and one execution per object version
// however often S3 delivers its event.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  ListExecutionsCommand,
  SFNClient,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { ConfigError } from '../errors/index.ts';
import { jsonLogger } from '../log/index.ts';
import { createPredictHandler, type PredictHandler } from '../predict/index.ts';
import { storeWithModel, trainFixture, type Fixture } from '../predict/testdata.ts';
import { makeS3Client, openStore, type ObjectStore } from '../store/index.ts';
import { motoUnavailable, startMoto, useMotoEnv, type MotoServer } from '../testing/moto.ts';
import { executionInputSchema, runIdFor, scaleTriggerFromEnv } from './index.ts';

const skip = motoUnavailable();
const DATA = 'mltk-data';
const SMALL = 'incoming/2026/03/small.csv';
const LARGE = 'incoming/2026/03/large.csv';

let moto: MotoServer;
let sfn: SFNClient;
let fx: Fixture;
let local: Awaited<ReturnType<typeof storeWithModel>>;
let data: ObjectStore;
let machine: string;
let shardBytes: number;
const logs: Record<string, unknown>[] = [];

/** The prediction handler as the Lambda configures it (`stateMachine: false`: as `mltk serve` has it). */
const handlerFor = ({ stateMachine = true } = {}): PredictHandler =>
  createPredictHandler({
    store: local.store,
    model: 'sap_change@prod',
    aliasTtlS: 60,
    predictions: 'mltk-predictions',
    maxBodyBytes: 1_000_000,
    maxInstances: 100,
    log: jsonLogger((line) => logs.push(JSON.parse(line))),
    metrics: () => undefined,
    largeObjects: stateMachine
      ? scaleTriggerFromEnv({ MLTK_BATCH_STATE_MACHINE_ARN: machine, MLTK_SHARD_BYTES: String(shardBytes) })
      : undefined,
  });

/** An S3 ObjectCreated notification; `object` adds what S3 sends with it (size, eTag, versionId). */
const event = (key: string, object: Record<string, unknown> = {}) => ({
  Records: [
    {
      eventSource: 'aws:s3',
      eventName: 'ObjectCreated:Put',
      s3: { bucket: { name: DATA }, object: { key, ...object } },
    },
  ],
});
const executions = async () =>
  ((await sfn.send(new ListExecutionsCommand({ stateMachineArn: machine }))).executions ?? []).map((e) => e.name);

before(async () => {
  if (skip) return;
  fx = await trainFixture();
  local = await storeWithModel(fx);
  moto = await startMoto();
  useMotoEnv(moto);
  const s3 = await makeS3Client();
  for (const Bucket of [DATA, 'mltk-predictions'])
    await s3.send(new CreateBucketCommand({ Bucket, CreateBucketConfiguration: { LocationConstraint: 'eu-west-2' } }));
  s3.destroy();
  data = openStore(`s3://${DATA}`);
  const lines = fx.csv.toString().trimEnd().split('\n');
  const small = `${lines.slice(0, 11).join('\n')}\n`;
  shardBytes = Buffer.byteLength(small); // the small object is exactly one shard: scored here
  await data.put(SMALL, small);
  await data.put(LARGE, `${lines.slice(0, 41).join('\n')}\n`);
  sfn = new SFNClient({ endpoint: moto.endpoint, region: moto.env.AWS_REGION });
  machine = (
    await sfn.send(
      new CreateStateMachineCommand({
        name: 'mltk-sap_change-dev-batch',
        definition: JSON.stringify({ StartAt: 'Plan', States: { Plan: { Type: 'Pass', End: true } } }),
        roleArn: 'arn:aws:iam::123456789012:role/mltk-sap_change-dev-batch',
      }),
    )
  ).stateMachineArn!;
});

after(async () => {
  sfn?.destroy();
  await local?.cleanup();
  await moto?.stop();
});

test('an object of shard_bytes is scored here; one byte more and it is handed to the state machine', {
  skip,
}, async () => {
  const res = (await handlerFor()(event(SMALL))) as { results: any[] };
  assert.deepEqual(
    res.results.map((r) => [r.status, r.rows]),
    [['scored', 10]],
  );
  const large = (await handlerFor()(event(LARGE))) as { results: any[] };
  assert.deepEqual(
    large.results.map((r) => [r.status, r.input_key, r.duplicate]),
    [['sharded', LARGE, false]],
  );
  assert.ok(
    logs.some(
      (l) => l.msg === 'batch sharded' && l.key === LARGE && l.execution_arn === large.results[0].execution_arn,
    ),
  );
  // Without a state machine (mltk serve, a local run) every object is scored here, whatever its size.
  const alone = (await handlerFor({ stateMachine: false })(event(LARGE))) as { results: any[] };
  assert.deepEqual(
    alone.results.map((r) => [r.status, r.rows]),
    [['scored', 40]],
  );
});

test('one execution per object version: a redelivered event gets the running one, then "already done"', {
  skip,
}, async () => {
  const head = (await data.head(LARGE))!;
  const runId = runIdFor({ bucket: DATA, key: LARGE, etag: head.etag });
  // As S3 sends it: size and ETag (unquoted) in the event, so no HEAD is needed.
  const s3Sent = event(LARGE, { size: head.size, eTag: head.etag.replace(/"/g, '') });
  const handler = handlerFor();
  const first = (await handler(s3Sent)) as { results: any[] };
  const again = (await handler(s3Sent)) as { results: any[] };
  assert.deepEqual(await executions(), [runId], 'the earlier event (sizes read by HEAD) named the same run');
  assert.equal(again.results[0].execution_arn, first.results[0].execution_arn);
  assert.deepEqual(
    [first.results[0].run_id, first.results[0].duplicate, again.results[0].duplicate],
    [runId, false, false],
  );
  const described = await sfn.send(new DescribeExecutionCommand({ executionArn: first.results[0].execution_arn }));
  assert.deepEqual(executionInputSchema.parse(JSON.parse(described.input!)), {
    run_id: runId,
    input: { bucket: DATA, key: LARGE, etag: head.etag.replace(/"/g, ''), size: head.size },
  });

  // Closed (failed, aborted or done), the name stays taken: the event is treated as handled.
  await sfn.send(new StopExecutionCommand({ executionArn: first.results[0].execution_arn }));
  const late = (await handlerFor()(s3Sent)) as { results: any[] };
  assert.deepEqual(
    late.results.map((r) => [r.status, r.run_id, r.execution_arn, r.duplicate]),
    [['sharded', runId, first.results[0].execution_arn, true]],
  );
  assert.deepEqual(await executions(), [runId]);

  // New bytes under the same key are a new version: a new run.
  await data.put(LARGE, `${String(await data.get(LARGE))}${fx.csv.toString().split('\n')[50]}\n`);
  const next = (await handlerFor()(event(LARGE))) as { results: any[] };
  assert.notEqual(next.results[0].run_id, runId);
  assert.deepEqual((await executions()).sort(), [runId, next.results[0].run_id].sort());
});

test('the trigger is configured by both variables or neither; a malformed one is refused by name', () => {
  assert.equal(scaleTriggerFromEnv({}), undefined);
  const arn = 'arn:aws:states:eu-west-2:123456789012:stateMachine:mltk-sap_change-dev-batch';
  assert.throws(
    () => scaleTriggerFromEnv({ MLTK_BATCH_STATE_MACHINE_ARN: arn }),
    (e: unknown) =>
      e instanceof ConfigError && /set together \(got only MLTK_BATCH_STATE_MACHINE_ARN\)/.test(e.message),
  );
  assert.throws(
    () => scaleTriggerFromEnv({ MLTK_BATCH_STATE_MACHINE_ARN: 'mltk-batch', MLTK_SHARD_BYTES: '1' }),
    (e: unknown) =>
      e instanceof ConfigError && /MLTK_BATCH_STATE_MACHINE_ARN: expected a state machine ARN/.test(e.message),
  );
  assert.throws(
    () => scaleTriggerFromEnv({ MLTK_BATCH_STATE_MACHINE_ARN: arn, MLTK_SHARD_BYTES: 'lots' }),
    (e: unknown) => e instanceof ConfigError && /MLTK_SHARD_BYTES/.test(e.message),
  );
  const route = scaleTriggerFromEnv({ MLTK_BATCH_STATE_MACHINE_ARN: arn, MLTK_SHARD_BYTES: '268435456' })!;
  assert.deepEqual([route.takes(268_435_456), route.takes(268_435_457)], [false, true]);
});
