// A batch is monitored only once CloudWatch has its metrics: a publish that fails, or a process killed
// around it, is finished by the next hourly run. Real moto_server behind a loopback proxy that fails
// or holds PutMetricData (pipeline/testing/fault-proxy.ts); the kills are real SIGKILLs of a process
// running the handler.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { GetMetricStatisticsCommand, ListMetricsCommand, type CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { manifestKey, metricsClient, metricsKey, publishedKey, reportKey } from '../pipeline/monitor/index.ts';
import { registerMonitoredModel } from '../pipeline/monitor/testmodel.ts';
import { loadModelVersion, scoreObject, type LoadedModel } from '../pipeline/predict/index.ts';
import { synthCsv } from '../pipeline/predict/testdata.ts';
import { makeS3Client, openStore, type ObjectStore } from '../pipeline/store/index.ts';
import {
  isPutMetricData,
  startFaultProxy,
  type FaultProxy,
  type ProxiedRequest,
} from '../pipeline/testing/fault-proxy.ts';
import { motoUnavailable, startMoto, type MotoServer } from '../pipeline/testing/moto.ts';
import { handler } from './monitor.ts';
import { captureLogLines, type LogCapture } from '../pipeline/testing/log-capture.ts';

const skip = motoUnavailable();
const repoRoot = join(import.meta.dirname, '..');
let moto: MotoServer;
let proxy: FaultProxy;
let s3: S3Client;
let cw: CloudWatchClient;
let data: ObjectStore, preds: ObjectStore;
let model: LoadedModel;
let logs: LogCapture;

const env = (namespace: string) => ({
  ...moto.env,
  // Every AWS call of the handler goes through the proxy; the test reads moto directly.
  AWS_ENDPOINT_URL: proxy.endpoint,
  MLTK_STORE: 's3://model-bucket',
  MLTK_MODEL: 'sap_change',
  MLTK_ALIAS: 'prod',
  MLTK_PREDICTIONS_BUCKET: 'pred-bucket',
  MLTK_DATA_BUCKET: 'data-bucket',
  MLTK_METRIC_NAMESPACE: namespace,
});

/** What the predict Lambda does with an input under incoming/: outputs and the lineage manifest. */
async function landAndScore(path: string, seed: number): Promise<void> {
  await data.put(`incoming/${path}`, await synthCsv(120, seed));
  await scoreObject(model, { store: data, key: `incoming/${path}` }, preds);
}

const manifestEvent = (path: string) => ({
  Records: [{ s3: { bucket: { name: 'pred-bucket' }, object: { key: manifestKey(path) } } }],
});
const sweep = { 'detail-type': 'Scheduled Event' };

/** CloudWatch's own 500 for PutMetricData (JSON protocol): the SDK retries it, and every retry fails too. */
const unavailable = {
  action: 'fail',
  status: 500,
  body: JSON.stringify({ __type: 'InternalServiceFault', message: 'Internal service error' }),
  headers: { 'x-amzn-query-error': 'InternalServiceError;Receiver' },
} as const;

async function monitoringKeys(path: string): Promise<string[]> {
  return (await preds.list(`monitoring/${path}/`)).map((k) => k.slice(`monitoring/${path}/`.length)).sort();
}

/** How many RowsMonitored datums CloudWatch holds in `namespace` (dimensions Model and Version). */
async function samples(namespace: string): Promise<number> {
  const got = await cw.send(
    new GetMetricStatisticsCommand({
      Namespace: namespace,
      MetricName: 'RowsMonitored',
      Dimensions: [
        { Name: 'Model', Value: 'sap_change' },
        { Name: 'Version', Value: '1' },
      ],
      StartTime: new Date(Date.now() - 3600_000),
      EndTime: new Date(Date.now() + 60_000),
      Period: 3600 * 2,
      Statistics: ['SampleCount', 'Maximum'],
    }),
  );
  return (got.Datapoints ?? []).reduce((n, d) => n + (d.SampleCount ?? 0), 0);
}

async function metricNames(namespace: string): Promise<string[]> {
  const r = await cw.send(new ListMetricsCommand({ Namespace: namespace }));
  return [...new Set((r.Metrics ?? []).map((m) => m.MetricName!))].sort();
}

async function withEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved))
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
  }
}

before(async () => {
  if (skip) return;
  moto = await startMoto();
  proxy = await startFaultProxy(moto.endpoint);
  Object.assign(process.env, moto.env);
  s3 = await makeS3Client();
  for (const Bucket of ['model-bucket', 'data-bucket', 'pred-bucket'])
    await s3.send(new CreateBucketCommand({ Bucket, CreateBucketConfiguration: { LocationConstraint: 'eu-west-2' } }));
  cw = await metricsClient({ endpoint: moto.endpoint });
  const registry = openStore('s3://model-bucket');
  data = openStore('s3://data-bucket');
  preds = openStore('s3://pred-bucket');
  const { mv } = await registerMonitoredModel(registry, 'prod');
  model = await loadModelVersion(registry, mv);
  logs = captureLogLines();
});

after(async () => {
  logs.restore();
  model?.retire();
  s3?.destroy();
  cw?.destroy();
  await proxy?.close();
  await moto?.stop();
});

test('a failed publish leaves the batch unmonitored, and the next hourly run publishes its stored metrics', {
  skip,
}, async () => {
  const ns = 'mltk-test/retry';
  await landAndScore('2026/03/01/a.csv', 301);
  await landAndScore('2026/03/02/b.csv', 302);
  let refused = 0;
  proxy.rule = (req) => {
    if (!isPutMetricData(req)) return { action: 'forward' };
    refused++;
    return unavailable;
  };
  const first = await withEnv(env(ns), () => handler(manifestEvent('2026/03/01/a.csv')));
  assert.equal(first.monitored[0]?.status, 'failed', JSON.stringify(first));
  assert.match(
    first.monitored[0]?.status === 'failed' ? first.monitored[0].error : '',
    /cloudwatch:PutMetricData to namespace "mltk-test\/retry" failed \(call 1 of 1\): Internal service error \(its metrics are stored in s3:\/\/pred-bucket\/monitoring\/2026\/03\/01\/a.csv\/metrics.json; the hourly run publishes them again\)/,
  );
  assert.ok(refused >= 2, `the SDK retried the failed call (${refused} attempts refused)`);
  assert.deepEqual(
    await monitoringKeys('2026/03/01/a.csv'),
    ['drift.html', 'drift.json', 'metrics.json'],
    'a report and the datums, no published marker',
  );
  assert.deepEqual(await metricNames(ns), [], 'CloudWatch has nothing for it');

  // CloudWatch is back; a newer batch is monitored on its event: the failed one still counts as not monitored.
  proxy.rule = () => ({ action: 'forward' });
  const second = await withEnv(env(ns), () => handler(manifestEvent('2026/03/02/b.csv')));
  assert.deepEqual(
    second.monitored.map((m) => m.status),
    ['monitored'],
  );
  assert.equal(await samples(ns), 1);

  const stored = JSON.parse(String(await preds.get(metricsKey('2026/03/01/a.csv'))));
  const swept = await withEnv(env(ns), () => handler(sweep));
  assert.deepEqual(
    swept.monitored.map((m) => [m.path, m.status, m.status === 'monitored' && m.republished]),
    [['2026/03/01/a.csv', 'monitored', true]],
  );
  assert.ok(await preds.head(publishedKey('2026/03/01/a.csv')));
  assert.equal(await samples(ns), 2);
  // Published as computed the first time: same datums, same timestamps, same report.
  assert.deepEqual(JSON.parse(String(await preds.get(metricsKey('2026/03/01/a.csv')))), stored);
  const report = JSON.parse(String(await preds.get(reportKey('2026/03/01/a.csv'))));
  assert.equal(stored.datums[0].Timestamp, report.generated_at);
  assert.deepEqual((await withEnv(env(ns), () => handler(sweep))).monitored, [], 'nothing left to do');
  assert.deepEqual(
    (await withEnv(env(ns), () => handler(manifestEvent('2026/03/01/a.csv')))).monitored.map((m) => m.status),
    ['skipped'],
    'a redelivered event changes nothing',
  );
  assert.equal(await samples(ns), 2);
});

/** Runs the monitor handler in its own process on `event`; resolves when it exits (killed or not). */
function invokeInChild(vars: Record<string, string>, event: unknown): { exited: Promise<number | null>; kill(): void } {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'pipeline/testing/invoke.ts', 'handlers/monitor.ts', JSON.stringify(event)],
    {
      cwd: repoRoot,
      env: { ...process.env, ...vars },
      stdio: ['ignore', 'ignore', 'ignore'],
    },
  );
  return {
    exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal ? null : code))),
    kill: () => child.kill('SIGKILL'),
  };
}

const killPoints: {
  name: string;
  hold(req: ProxiedRequest, path: string): false | 'before' | 'after';
  left: string[];
  samples: number;
}[] = [
  {
    name: 'after the report, before its datums are stored',
    hold: (req, path) => req.method === 'PUT' && req.path.includes(`/${metricsKey(path)}`) && 'before',
    left: ['drift.html', 'drift.json'],
    samples: 1,
  },
  {
    name: 'after the datums are stored, before CloudWatch has them',
    hold: (req) => isPutMetricData(req) && 'before',
    left: ['drift.html', 'drift.json', 'metrics.json'],
    samples: 1,
  },
  {
    name: 'after CloudWatch took the datums, before the published marker',
    hold: (req) => isPutMetricData(req) && 'after',
    // The datums are sent again: twice at the same timestamps (Maximum and Average unchanged).
    left: ['drift.html', 'drift.json', 'metrics.json'],
    samples: 2,
  },
];

for (const [i, point] of killPoints.entries()) {
  test(`kill -9 ${point.name}: the next hourly run finishes the batch`, { skip }, async () => {
    const path = `2026/04/0${i + 1}/killed.csv`;
    const ns = `mltk-test/kill-${i}`;
    await landAndScore(path, 400 + i);
    proxy.rule = (req) => {
      const when = point.hold(req, path);
      return when ? { action: 'hold', when } : { action: 'forward' };
    };
    const run = invokeInChild(env(ns), manifestEvent(path));
    await proxy.nextHold();
    run.kill();
    assert.equal(await run.exited, null, 'killed by the signal');
    proxy.rule = () => ({ action: 'forward' });
    assert.deepEqual(await monitoringKeys(path), point.left);

    const swept = await withEnv(env(ns), () => handler(sweep));
    assert.deepEqual(
      swept.monitored.map((m) => [m.path, m.status]),
      [[path, 'monitored']],
      JSON.stringify(swept),
    );
    assert.deepEqual(await monitoringKeys(path), ['drift.html', 'drift.json', 'metrics.json', 'published.json']);
    assert.equal(await samples(ns), point.samples);
    assert.deepEqual((await withEnv(env(ns), () => handler(sweep))).monitored, []);
  });
}
