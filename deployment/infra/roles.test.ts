// The Lambda roles as `Testing.synth` writes them, proven on moto_server with IAM enforced: each real
// handler does its whole job as its role (sufficient), every grant of the policy is needed by some
// step (remove it and a step fails, with an error naming the action), and neighbouring actions the
// policy does not grant are denied with an error naming the action, bucket and key.
//
// moto 5.2 differs from AWS in ways that matter here; pipeline/testing/moto-iam/sitecustomize.py
// patches each to AWS's documented behaviour (S3 list requests whose prefix contains `/` were
// mis-signed; CloudWatch was evaluated as `monitoring:PutMetricData`; conditions such as
// `cloudwatch:namespace` were ignored; a missing key answered 404 without s3:ListBucket).
// Not modelled: the role's trust policy (roles are assumed before enforcement), and the statements
// on the function's own log group and dead-letter queue, which Lambda's service uses, not the handler.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Testing } from 'cdktf';
import { CreateBucketCommand, ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3';
import { type CloudWatchClient, ListMetricsCommand, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  CreateStateMachineCommand,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { AccessDeniedError } from '../../pipeline/errors/index.ts';
import {
  labelsKey,
  manifestKey,
  metricsClient,
  publishedKey,
  qualityKey,
  reportKey,
} from '../../pipeline/monitor/index.ts';
import { registerMonitoredModel, uniqueIds, withRefusedRows } from '../../pipeline/monitor/testmodel.ts';
import { outputKeys } from '../../pipeline/predict/index.ts';
import { httpEvent, synthCsv } from '../../pipeline/predict/testdata.ts';
import { makeS3Client, S3Store, type ObjectStore } from '../../pipeline/store/index.ts';
import { finalizeResultSchema, planResultSchema, runIdFor, shardResultSchema } from '../../pipeline/scale/index.ts';
import { motoUnavailable, startMoto, type MotoServer } from '../../pipeline/testing/moto.ts';
import { buildApp } from '../../main.ts';
import {
  grantLabel,
  grantsOf,
  IamSandbox,
  synthesizedFunctions,
  withoutGrant,
  type Credentials,
  type SynthesizedFunction,
} from './iam-sandbox.ts';

const skip = motoUnavailable();
const TARGET = 'sap_change-dev';
const MOTO_ACCOUNT = '123456789012'; // the account moto_server answers as
const PART_BYTES = 8 << 20; // pipeline/store/s3.ts streams in parts of this size: a larger body is a multipart upload
const SHARDED = 'incoming/2026/01/06/d-sharded.csv';
const SHARD_BYTES = 48 * 1024; // the sharded file (600 rows, 80 KB) is planned into 2 shards

let moto: MotoServer;
let sandbox: IamSandbox;
let admin: Credentials;
let adminS3: S3Client;
let adminCw: CloudWatchClient;
let adminSfn: SFNClient;
let batchMachine: string;
const sessions = new Map<string, Credentials>();
let predictFn: SynthesizedFunction, monitorFn: SynthesizedFunction;
let buckets: { data: string; models: string; predictions: string };
let data: ObjectStore, preds: ObjectStore;

const storeAs = (credentials: Credentials, bucket: string) => new S3Store(bucket, '', makeS3Client({ credentials }));

/** Runs `fn` with the process environment Lambda would give the function, signed as `session`; logs captured. */
async function asFunction<T>(fnEnv: Record<string, string>, session: Credentials, fn: () => Promise<T>): Promise<T> {
  const vars: Record<string, string | undefined> = {
    ...fnEnv,
    AWS_ACCESS_KEY_ID: session.accessKeyId,
    AWS_SECRET_ACCESS_KEY: session.secretAccessKey,
    AWS_SESSION_TOKEN: session.sessionToken,
  };
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const { log, error } = console;
  const write = process.stdout.write;
  Object.assign(process.env, vars);
  console.log = console.error = () => undefined;
  process.stdout.write = (() => true) as typeof process.stdout.write;
  try {
    return await fn();
  } finally {
    process.stdout.write = write;
    Object.assign(console, { log, error });
    for (const [k, v] of Object.entries(saved))
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
  }
}

type Handler = (event: unknown, context?: { awsRequestId?: string }) => Promise<any>;
let containers = 0;
/** A fresh predict handler module: a new Lambda container reading its environment on first use. */
const predictContainer = async (): Promise<Handler> =>
  (await import(`../../handlers/predict.ts?roles=${containers++}`)).handler as Handler;
const monitorHandler = async (): Promise<Handler> => (await import('../../handlers/monitor.ts')).handler as Handler;

const s3Event = (bucket: string, ...keys: string[]) => ({
  Records: keys.map((key) => ({
    eventSource: 'aws:s3',
    eventName: 'ObjectCreated:Put',
    s3: { bucket: { name: bucket }, object: { key } },
  })),
});

/** One run of the steps: its predict container starts cold and stays warm across the steps, as in Lambda. */
interface Run {
  container: Promise<Handler> | undefined;
}
interface Step {
  name: string;
  run(session: Credentials, run: Run): Promise<void>;
}
const warm = (run: Run): Promise<Handler> => (run.container ??= predictContainer());

/** Everything the prediction Lambda does, in order; each step checks its outcome. */
const predictSteps: Step[] = [
  {
    name: 'scores a good file',
    run: (s, r) =>
      asFunction(predictFn.environment, s, async () => {
        const res = await (await warm(r))(s3Event(buckets.data, 'incoming/2026/01/01/a-good.csv'));
        assert.deepEqual(
          res.results.map((r: any) => [r.status, r.rows, r.errors]),
          [['scored', 200, 0]],
          JSON.stringify(res),
        );
      }),
  },
  {
    name: 'scores a file with bad rows, the refused rows to its errors object',
    run: (s, r) =>
      asFunction(predictFn.environment, s, async () => {
        const res = await (await warm(r))(s3Event(buckets.data, 'incoming/2026/01/02/b-bad-rows.csv'));
        assert.deepEqual(
          res.results.map((r: any) => [r.status, r.rows, r.errors]),
          [['scored', 200, 3]],
          JSON.stringify(res),
        );
      }),
  },
  {
    name: 'rejects a file whole: errors, a header-only predictions object and the manifest, no delete',
    run: async (s, r) => {
      const res = await asFunction(predictFn.environment, s, async () =>
        (await warm(r))(s3Event(buckets.data, 'incoming/2026/01/03/c-rejected.csv')),
      );
      assert.deepEqual(
        res.results.map((r: any) => r.status),
        ['rejected'],
        JSON.stringify(res),
      );
      assert.match(String(await preds.get(outputKeys('incoming/2026/01/03/c-rejected.csv').errors)), /missing column/);
      assert.equal(
        String(await preds.get(outputKeys('incoming/2026/01/03/c-rejected.csv').predictions)).split('\n').length,
        2,
      );
      assert.equal(
        JSON.parse(String(await preds.get(outputKeys('incoming/2026/01/03/c-rejected.csv').manifest))).status,
        'rejected',
      );
    },
  },
  {
    name: 'skips an event whose object is gone (S3 says 404, not 403)',
    run: (s, r) =>
      asFunction(predictFn.environment, s, async () => {
        const res = await (await warm(r))(s3Event(buckets.data, 'incoming/2026/01/04/deleted.csv'));
        assert.deepEqual(
          res.results.map((r: any) => r.status),
          ['skipped'],
          JSON.stringify(res),
        );
      }),
  },
  {
    // Its own model: the role reads models/sap_change/ only, so another model's name is denied, not missing.
    name: 'answers 503 naming an alias the registry does not have (S3 says 404, not 403)',
    run: (s) =>
      asFunction({ ...predictFn.environment, MLTK_ALIAS: 'not_promoted' }, s, async () => {
        const res = await (await predictContainer())(httpEvent('GET', '/health'));
        assert.equal(res.statusCode, 503);
        assert.match(JSON.parse(res.body).error.message, /model sap_change has no alias "not_promoted"/);
      }),
  },
  {
    // One execution per object version, whoever sends the event again: StartExecution is its only call.
    name: 'hands an object above serving.batch.shard_bytes to the batch scoring state machine',
    run: (s) =>
      asFunction({ ...predictFn.environment, MLTK_SHARD_BYTES: '1024' }, s, async () => {
        const res = await (await predictContainer())(s3Event(buckets.data, 'incoming/2026/01/01/a-good.csv'));
        assert.deepEqual(
          res.results.map((r: any) => [r.status, r.input_key]),
          [['sharded', 'incoming/2026/01/01/a-good.csv']],
          JSON.stringify(res),
        );
        const runs = await adminSfn.send(new ListExecutionsCommand({ stateMachineArn: batchMachine }));
        assert.deepEqual(
          (runs.executions ?? []).map((e) => e.executionArn),
          [res.results[0].execution_arn],
        );
      }),
  },
  {
    // What the machine's Plan, Shards (each item of the items file, as its ItemReader reads it) and Finalize do.
    name: "runs the state machine's steps on a large file: plan, each shard, finalize, finalize again",
    run: (s) =>
      asFunction({ ...predictFn.environment, MLTK_SHARD_BYTES: String(SHARD_BYTES) }, s, async () => {
        const handler = await predictContainer();
        const head = (await data.head(SHARDED))!;
        const input = { bucket: buckets.data, key: SHARDED, etag: head.etag.replace(/"/g, ''), size: head.size };
        const run_id = runIdFor(input);
        const plan = planResultSchema.parse(await handler({ mltk_step: 'plan', run_id, input }));
        assert.ok(plan.shards > 1, JSON.stringify(plan));
        const items = JSON.parse(String(await preds.get(plan.items.key))) as unknown[];
        assert.equal(items.length, plan.shards);
        for (const item of items) shardResultSchema.parse(await handler(item));
        const done = finalizeResultSchema.parse(await handler({ mltk_step: 'finalize', run_id }));
        assert.deepEqual([done.status, done.rows], ['scored', 600], JSON.stringify(done));
        assert.deepEqual(
          await handler({ mltk_step: 'finalize', run_id }),
          done,
          'a re-executed finalize answers the same',
        );
      }),
  },
  {
    // Outputs, and a shard's parts (tmp/scale/), above one upload part are multipart uploads.
    name: 'aborts the multipart upload of an output or a part it cannot finish (the store the handler writes with)',
    run: async (s) => {
      for (const key of ['predictions/2026/01/05/aborted.csv', 'tmp/scale/r-1/parts/000000/predictions.csv']) {
        const body = (async function* () {
          yield Buffer.alloc(PART_BYTES + 1, 0x31);
          throw new Error('input broke mid-stream');
        })();
        await assert.rejects(storeAs(s, buckets.predictions).putStream(key, body), /^Error: input broke mid-stream$/);
      }
      const open = await adminS3.send(new ListMultipartUploadsCommand({ Bucket: buckets.predictions }));
      assert.deepEqual(
        (open.Uploads ?? []).map((u) => u.Key),
        [],
        'no multipart upload left behind',
      );
    },
  },
];

const manifest = async (path: string) => JSON.parse(String(await preds.get(manifestKey(path))));
const metricNames = async (namespace: string) =>
  [
    ...new Set(
      ((await adminCw.send(new ListMetricsCommand({ Namespace: namespace }))).Metrics ?? []).map((m) => m.MetricName),
    ),
  ].sort();

/** Everything the drift monitor does, in order (after the predict steps scored the batches). */
const monitorSteps: Step[] = [
  {
    name: 'monitors a batch on its manifest event: report written, metrics published',
    run: (s) =>
      asFunction(monitorFn.environment, s, async () => {
        const res = await (await monitorHandler())(s3Event(buckets.predictions, manifestKey('2026/01/01/a-good.csv')));
        assert.deepEqual(
          res.monitored.map((m: any) => m.status),
          ['monitored'],
          JSON.stringify(res),
        );
        assert.ok(await preds.head(reportKey('2026/01/01/a-good.csv')));
        const names = await metricNames(monitorFn.environment.MLTK_METRIC_NAMESPACE!);
        assert.ok(names.includes('DriftShare') && names.includes('EstimatedRMSE'), names.join());
      }),
  },
  {
    name: "measures a batch's late labels on their labels/ event: result written, RealizedRMSE published",
    run: (s) =>
      asFunction(monitorFn.environment, s, async () => {
        const res = await (await monitorHandler())(s3Event(buckets.data, labelsKey('2026/01/01/a-good.csv')));
        assert.deepEqual(
          res.quality.map((q: any) => q.status),
          ['measured'],
          JSON.stringify(res),
        );
        assert.ok(await preds.head(qualityKey('2026/01/01/a-good.csv')));
        assert.ok((await metricNames(monitorFn.environment.MLTK_METRIC_NAMESPACE!)).includes('RealizedRMSE'));
      }),
  },
  {
    name: 'the hourly sweep monitors the batches left and reports the rejected one as a failure',
    run: (s) =>
      asFunction(monitorFn.environment, s, async () => {
        const res = await (await monitorHandler())({ 'detail-type': 'Scheduled Event' });
        assert.deepEqual(
          res.monitored.map((m: any) => [m.path, m.status]),
          [
            ['2026/01/02/b-bad-rows.csv', 'monitored'],
            ['2026/01/03/c-rejected.csv', 'failed'],
            ['2026/01/06/d-sharded.csv', 'monitored'], // a sharded run's manifest reads as any other
          ],
          JSON.stringify(res),
        );
        assert.ok((await metricNames(monitorFn.environment.MLTK_METRIC_NAMESPACE!)).includes('MonitorFailures'));
      }),
  },
  {
    name: 'a batch whose publish did not finish is published from its stored datums by the next sweep',
    run: async (s) => {
      // as a crash between the publish and its marker leaves it
      await preds.delete(publishedKey('2026/01/01/a-good.csv'));
      const res = await asFunction(monitorFn.environment, s, async () =>
        (await monitorHandler())({ 'detail-type': 'Scheduled Event' }),
      );
      const outcomes = res.monitored.map((m: any) => [m.path, m.status, m.republished]);
      assert.deepEqual(outcomes[0], ['2026/01/01/a-good.csv', 'monitored', true], JSON.stringify(res));
    },
  },
  {
    name: 'a batch whose input is gone fails naming it (S3 says 404, not 403)',
    run: (s) =>
      asFunction(monitorFn.environment, s, async () => {
        const res = await (await monitorHandler())(s3Event(buckets.predictions, manifestKey('2025/12/01/gone.csv')));
        assert.match(res.monitored[0]?.error ?? JSON.stringify(res), /no object at "incoming\/2025\/12\/01\/gone.csv"/);
      }),
  },
  {
    name: 'a batch naming a version the registry does not have fails naming it (S3 says 404, not 403)',
    run: (s) =>
      asFunction(monitorFn.environment, s, async () => {
        const res = await (await monitorHandler())(s3Event(buckets.predictions, manifestKey('2025/12/02/v99.csv')));
        assert.match(res.monitored[0]?.error ?? JSON.stringify(res), /model sap_change has no version 99/);
      }),
  },
];

/** Monitoring state back to "nothing monitored yet", so every run of the monitor steps starts alike. */
async function resetMonitoring(): Promise<void> {
  for (const key of await preds.list('monitoring/')) await preds.delete(key);
}

/** Runs the steps in order; the first failure stops the run and is returned with its step. */
async function firstFailure(
  steps: Step[],
  session: Credentials,
): Promise<{ step: string; message: string } | undefined> {
  const run: Run = { container: undefined };
  for (const step of steps) {
    try {
      await step.run(session, run);
    } catch (e) {
      return { step: step.name, message: (e as Error).message };
    }
  }
  return undefined;
}

before(async () => {
  if (skip) return;
  moto = await startMoto({ iam: true });
  const { targets } = await buildApp({}, { app: Testing.app() });
  const target = targets.find((t) => t.target.branch === TARGET)!;
  const service = Testing.synth(target.service);
  const fns = synthesizedFunctions(service, { accountId: MOTO_ACCOUNT });
  predictFn = fns.find((f) => f.command === 'predict.handler')!;
  monitorFn = fns.find((f) => f.command === 'monitor.handler')!;
  const env = predictFn.environment;
  buckets = {
    data: env.MLTK_DATA_BUCKET!,
    models: env.MLTK_STORE!.replace(/^s3:\/\//, ''),
    predictions: env.MLTK_PREDICTIONS_BUCKET!,
  };

  sandbox = new IamSandbox(moto);
  admin = await sandbox.administrator();
  for (const fn of fns) sessions.set(fn.functionName, await sandbox.roleSession(fn));
  const region = moto.env.AWS_REGION!;
  // Endpoint and region for every client; no default credentials: each client signs as someone named.
  Object.assign(process.env, { AWS_ENDPOINT_URL: moto.endpoint, AWS_REGION: region });
  adminS3 = await makeS3Client({ credentials: admin });
  adminCw = await metricsClient({ endpoint: moto.endpoint, region, credentials: admin });
  adminSfn = new SFNClient({ endpoint: moto.endpoint, region, credentials: admin });
  // The batch scoring machine as synthesized (moto runs no Lambda: executions stay RUNNING, started only).
  const machine = Object.values(JSON.parse(service).resource.aws_sfn_state_machine as Record<string, any>)[0];
  batchMachine = (
    await adminSfn.send(
      new CreateStateMachineCommand({
        name: machine.name,
        definition: machine.definition,
        roleArn: `arn:aws:iam::${MOTO_ACCOUNT}:role/${machine.name}`,
      }),
    )
  ).stateMachineArn!;
  assert.equal(batchMachine, predictFn.environment.MLTK_BATCH_STATE_MACHINE_ARN);
  await moto.enforceIam();

  for (const Bucket of Object.values(buckets))
    await adminS3.send(
      new CreateBucketCommand({ Bucket, CreateBucketConfiguration: { LocationConstraint: 'eu-west-2' } }),
    );
  const models = new S3Store(buckets.models, '', adminS3);
  data = new S3Store(buckets.data, '', adminS3);
  preds = new S3Store(buckets.predictions, '', adminS3);
  await registerMonitoredModel(models, env.MLTK_ALIAS, { quality: true });
  const good = uniqueIds(await synthCsv(200, 31));
  await data.put('incoming/2026/01/01/a-good.csv', good);
  // Its late labels: the id and target columns of every row.
  const y = good.split('\n')[0]!.split(',').indexOf('sap_change');
  await data.put(
    labelsKey('2026/01/01/a-good.csv'),
    good
      .trimEnd()
      .split('\n')
      .map((l) => `${l.split(',')[0]},${l.split(',')[y]}`)
      .join('\n'),
  );
  await data.put('incoming/2026/01/02/b-bad-rows.csv', withRefusedRows(await synthCsv(200, 32)).csv);
  await data.put('incoming/2026/01/03/c-rejected.csv', good.replace(',current_sap,', ',sap_now,'));
  await data.put(SHARDED, await synthCsv(600, 33));
});

after(async () => {
  adminS3?.destroy();
  adminCw?.destroy();
  adminSfn?.destroy();
  sandbox?.destroy();
  await moto?.stop();
});

test('the prediction and monitor roles each let their handler do its whole job (IAM enforced)', { skip }, async () => {
  assert.equal(await firstFailure(predictSteps, sessions.get(predictFn.functionName)!), undefined);
  // Batches the monitor must refuse by name: an input deleted after scoring, a version the registry never had.
  const gone = await manifest('2026/01/01/a-good.csv');
  await preds.put(
    manifestKey('2025/12/01/gone.csv'),
    JSON.stringify({
      ...gone,
      input_key: 'incoming/2025/12/01/gone.csv',
      source: `s3://${buckets.data}/incoming/2025/12/01/gone.csv`,
    }),
  );
  await preds.put(
    manifestKey('2025/12/02/v99.csv'),
    JSON.stringify({ ...gone, model: { ...gone.model, version: 99 } }),
  );
  await resetMonitoring();
  assert.equal(await firstFailure(monitorSteps, sessions.get(monitorFn.functionName)!), undefined);
});

test('every grant is needed: without it a step fails, and the error names the action', { skip }, async () => {
  for (const [fn, steps, reset] of [
    [monitorFn, monitorSteps, resetMonitoring],
    [predictFn, predictSteps, async () => undefined],
  ] as const) {
    const session = sessions.get(fn.functionName)!;
    for (const grant of grantsOf(fn.statements)) {
      await sandbox.setPolicy(fn.roleName, withoutGrant(fn.statements, grant));
      await reset();
      const failure = await firstFailure(steps, session);
      await sandbox.setPolicy(fn.roleName, fn.statements);
      assert.ok(failure, `${fn.functionName}: every step passes without ${grantLabel(grant)}: the grant is not needed`);
      assert.ok(
        failure.message.includes(grant.action),
        `${fn.functionName} without ${grantLabel(grant)}: "${failure.step}" failed, but its error does not name ${
          grant.action
        }: ${failure.message}`,
      );
      const bucket = /^arn:aws:s3:::([^/]+)/.exec(grant.resource)?.[1];
      if (bucket)
        assert.ok(failure.message.includes(bucket), `the error names the bucket ${bucket}: ${failure.message}`);
    }
  }
});

test('neighbouring actions the roles are not granted are denied, naming action, bucket and key', { skip }, async () => {
  const predict = sessions.get(predictFn.functionName)!,
    monitor = sessions.get(monitorFn.functionName)!;
  const denied = async (what: Promise<unknown>, action: string, bucket: string, key: string) => {
    const e = await what.then(
      () => undefined,
      (err: unknown) => err,
    );
    assert.ok(e instanceof AccessDeniedError, `${action} on ${bucket}/${key} was allowed`);
    assert.match(e.message, new RegExp(`${action}.*bucket "${bucket}", key "${key}"`));
  };
  await denied(
    storeAs(predict, buckets.predictions).delete('predictions/2026/01/01/a-good.csv'),
    's3:DeleteObject',
    buckets.predictions,
    'predictions/2026/01/01/a-good.csv',
  );
  await denied(
    storeAs(predict, buckets.predictions).put('monitoring/x.drift.json', '{}'),
    's3:PutObject',
    buckets.predictions,
    'monitoring/x.drift.json',
  );
  await denied(
    storeAs(predict, buckets.data).put('incoming/x.csv', 'a\n'),
    's3:PutObject',
    buckets.data,
    'incoming/x.csv',
  );
  await denied(
    storeAs(predict, buckets.predictions).get('predictions/2026/01/01/a-good.csv'),
    's3:GetObject',
    buckets.predictions,
    'predictions/2026/01/01/a-good.csv',
  );
  await denied(
    storeAs(monitor, buckets.predictions).put('predictions/x.csv', 'a\n'),
    's3:PutObject',
    buckets.predictions,
    'predictions/x.csv',
  );
  await denied(
    storeAs(monitor, buckets.predictions).delete('monitoring/x.drift.json'),
    's3:DeleteObject',
    buckets.predictions,
    'monitoring/x.drift.json',
  );
  await denied(
    storeAs(monitor, buckets.data).put('incoming/x.csv', 'a\n'),
    's3:PutObject',
    buckets.data,
    'incoming/x.csv',
  );
  await denied(storeAs(monitor, buckets.data).put('labels/x.csv', 'a\n'), 's3:PutObject', buckets.data, 'labels/x.csv');
  await denied(
    storeAs(predict, buckets.data).get(labelsKey('2026/01/01/a-good.csv')),
    's3:GetObject',
    buckets.data,
    labelsKey('2026/01/01/a-good.csv'),
  );
  // Store layout (issue 17.14): serving reads its model's prefix of the model bucket and incoming/ of the
  // data bucket, never training data (blobs/), another model, or other data-bucket keys.
  for (const [session, who] of [
    [predict, 'predict'],
    [monitor, 'monitor'],
  ] as const) {
    for (const key of [
      `blobs/sha256/ab/${'c'.repeat(62)}`,
      'datasets/epc/versions/x.json',
      'models/heat_change/versions/1.json',
    ]) {
      await denied(storeAs(session, buckets.models).get(key), 's3:GetObject', buckets.models, key);
    }
    await denied(
      storeAs(session, buckets.data).get('training/epc.csv'),
      's3:GetObject',
      buckets.data,
      'training/epc.csv',
    );
    assert.ok(who);
  }
  // The prediction role starts its own model's batch scoring machine only.
  const sfn = new SFNClient({ endpoint: moto.endpoint, region: moto.env.AWS_REGION, credentials: predict });
  try {
    const other = batchMachine.replace('sap_change', 'heat_change');
    await assert.rejects(
      sfn.send(new StartExecutionCommand({ stateMachineArn: other, name: 'x', input: '{}' })),
      (e: Error) => e.name === 'AccessDeniedException' && /states:StartExecution/.test(e.message),
    );
  } finally {
    sfn.destroy();
  }
  const cw = await metricsClient({ endpoint: moto.endpoint, region: moto.env.AWS_REGION, credentials: monitor });
  try {
    await assert.rejects(
      cw.send(
        new PutMetricDataCommand({
          Namespace: 'mltk/heat_change',
          MetricData: [{ MetricName: 'DriftShare', Value: 1 }],
        }),
      ),
      (e: Error) => e.name === 'AccessDeniedException' && /cloudwatch:PutMetricData/.test(e.message),
    );
  } finally {
    cw.destroy();
  }
});

test("the statements Lambda uses on the function's behalf name its own log group and its own dead-letter queue", {
  skip,
}, () => {
  const group = (ref: string | undefined) => /^\$\{(aws_cloudwatch_log_group\.[^.]+)\.name\}$/.exec(ref ?? '')?.[1];
  for (const fn of [predictFn, monitorFn]) {
    assert.ok(
      group(fn.logGroup) && fn.failureDestination,
      `${fn.functionName}: logs to ${fn.logGroup}, fails to ${fn.failureDestination}`,
    );
    assert.deepEqual(
      fn.serviceStatements.map((s) => [s.Action, s.Resource]),
      [
        [['logs:CreateLogStream', 'logs:PutLogEvents'], [`\${${group(fn.logGroup)}.arn}:*`]],
        [['sqs:SendMessage'], [fn.failureDestination]],
      ],
    );
  }
});
