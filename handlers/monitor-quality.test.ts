// Quality in the cloud, through the real monitor handler on moto_server: the estimate every scored
// batch publishes, and a labels object landing under labels/<path> in the data bucket joined to the
// batch's predictions, stored beside its drift report and published (read back with GetMetricData).
// A failed publish is finished by the hourly run, as the drift publish is; the kills are real SIGKILLs
// of a process running the handler, at each step of the write (pipeline/testing/fault-proxy.ts holds it there).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  GetMetricDataCommand,
  GetMetricStatisticsCommand,
  ListMetricsCommand,
  type CloudWatchClient,
} from '@aws-sdk/client-cloudwatch';
import {
  labelsKey,
  manifestKey,
  metricsClient,
  predictionsKey,
  qualityKey,
  qualityMetricsKey,
  qualityPublishedKey,
  readDriftReport,
  readQuality,
} from '../pipeline/monitor/index.ts';
import { registerMonitoredModel, uniqueIds, withRefusedRows } from '../pipeline/monitor/testmodel.ts';
import { loadModelVersion, scoreObject, type LoadedModel } from '../pipeline/predict/index.ts';
import { synthCsv } from '../pipeline/predict/testdata.ts';
import type { ModelVersion } from '../pipeline/registry/index.ts';
import { makeS3Client, openStore, type ObjectStore } from '../pipeline/store/index.ts';
import {
  isPutMetricData,
  startFaultProxy,
  type FaultProxy,
  type ProxiedRequest,
} from '../pipeline/testing/fault-proxy.ts';
import { motoUnavailable, startMoto, type MotoServer } from '../pipeline/testing/moto.ts';
import { captureLogLines, type LogCapture } from '../pipeline/testing/log-capture.ts';
import { handler } from './monitor.ts';

const skip = motoUnavailable();
const repoRoot = join(import.meta.dirname, '..');
let moto: MotoServer;
let proxy: FaultProxy;
let s3: S3Client;
let cw: CloudWatchClient;
let data: ObjectStore, preds: ObjectStore;
let model: LoadedModel;
let mv: ModelVersion;
let logs: LogCapture;
const NS = 'mltk/sap_change';

const env = (namespace = NS) => ({
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
const invoke = (event: unknown, namespace?: string) => withEnv(env(namespace), () => handler(event));

const created = (bucket: string, ...keys: string[]) => ({
  Records: keys.map((key) => ({ eventName: 'ObjectCreated:Put', s3: { bucket: { name: bucket }, object: { key } } })),
});
const labelsEvent = (path: string) => created('data-bucket', labelsKey(path).replace(/ /g, '+'));
const sweep = { 'detail-type': 'Scheduled Event' };

/** What the predict Lambda does with an input under incoming/: outputs and the lineage manifest. */
async function landAndScore(path: string, csv: string): Promise<void> {
  await data.put(`incoming/${path}`, csv);
  await scoreObject(model, { store: data, key: `incoming/${path}` }, preds);
}

/** A batch of `rows` rows with one id per row and 3 rows the scorer refuses (one without an id). */
async function batchCsv(rows: number, seed: number): Promise<string> {
  return withRefusedRows(uniqueIds(await synthCsv(rows, seed))).csv;
}

/** id → true target of each input row that has an id. */
function targets(csv: string): Map<string, number> {
  const [head, ...lines] = csv.trimEnd().split('\n');
  const y = head!.split(',').indexOf('sap_change');
  return new Map(
    lines.flatMap((l) => {
      const c = l.split(',');
      return c[0] ? [[c[0], Number(c[y])] as const] : [];
    }),
  );
}

/** id → prediction, from the predictions object the batch scorer wrote. */
async function predictionsOf(path: string): Promise<Map<string, number>> {
  const lines = String(await preds.get(predictionsKey(path)))
    .trimEnd()
    .split('\n');
  return new Map(lines.slice(1).map((l) => [l.split(',')[0]!, Number(l.split(',')[1])]));
}

function direct(predictions: Map<string, number>, labels: Map<string, number>) {
  const err = [...labels].filter(([id]) => predictions.has(id)).map(([id, y]) => predictions.get(id)! - y);
  const n = err.length;
  return {
    rows: n,
    rmse: Math.sqrt(err.reduce((s, e) => s + e * e, 0) / n),
    mae: err.reduce((s, e) => s + Math.abs(e), 0) / n,
    bias: err.reduce((s, e) => s + e, 0) / n,
  };
}

const labelsCsv = (labels: Iterable<readonly [string, number | string]>) =>
  `home_id,sap_change\n${[...labels].map(([id, y]) => `${id},${y}`).join('\n')}\n`;

async function metricNames(namespace: string): Promise<string[]> {
  const r = await cw.send(new ListMetricsCommand({ Namespace: namespace }));
  return [...new Set((r.Metrics ?? []).map((m) => m.MetricName!))].sort();
}

/** The Maximum of `name` over the last hour, with dimensions [Model] and [Model, Version]: what an alarm reads. */
async function valuesOf(namespace: string, name: string): Promise<{ model: number[]; version: number[] }> {
  const now = Date.now();
  const dims = [
    [{ Name: 'Model', Value: 'sap_change' }],
    [
      { Name: 'Model', Value: 'sap_change' },
      { Name: 'Version', Value: String(mv.version) },
    ],
  ];
  const got = await cw.send(
    new GetMetricDataCommand({
      StartTime: new Date(now - 3600_000),
      EndTime: new Date(now + 60_000),
      MetricDataQueries: dims.map((Dimensions, i) => ({
        Id: `m${i}`,
        MetricStat: { Metric: { Namespace: namespace, MetricName: name, Dimensions }, Period: 3600, Stat: 'Maximum' },
      })),
    }),
  );
  const byId = new Map(got.MetricDataResults!.map((m) => [m.Id, m.Values ?? []]));
  return { model: byId.get('m0')!, version: byId.get('m1')! };
}

/** How many RealizedRMSE datums CloudWatch holds in `namespace` ([Model, Version]). */
async function samples(namespace: string): Promise<number> {
  const got = await cw.send(
    new GetMetricStatisticsCommand({
      Namespace: namespace,
      MetricName: 'RealizedRMSE',
      Dimensions: [
        { Name: 'Model', Value: 'sap_change' },
        { Name: 'Version', Value: String(mv.version) },
      ],
      StartTime: new Date(Date.now() - 3600_000),
      EndTime: new Date(Date.now() + 60_000),
      Period: 7200,
      Statistics: ['SampleCount'],
    }),
  );
  return (got.Datapoints ?? []).reduce((n, d) => n + (d.SampleCount ?? 0), 0);
}

async function monitoringKeys(path: string): Promise<string[]> {
  return (await preds.list(`monitoring/${path}/`)).map((k) => k.slice(`monitoring/${path}/`.length)).sort();
}
/** The quality objects of batch `<path>` (an hourly run also monitors its drift). */
const qualityKeys = async (path: string) => (await monitoringKeys(path)).filter((k) => k.startsWith('quality'));

const close = (a: number, b: number, what: string) =>
  assert.ok(Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);
/** CloudWatch keeps values as doubles but may round them; a relative 1e-9 is far inside any alarm threshold. */
const closeAll = (got: number[], want: number, what: string) => {
  assert.equal(got.length, 1, `${what}: ${got.length} values`);
  close(got[0]!, want, what);
};

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
  ({ mv } = await registerMonitoredModel(registry, 'prod', { quality: true }));
  model = await loadModelVersion(registry, mv);
  logs = captureLogLines();
});

after(async () => {
  logs?.restore();
  model?.retire();
  s3?.destroy();
  cw?.destroy();
  await proxy?.close();
  await moto?.stop();
});

const PATH = '2026/05/01/batch 1.csv';
let batch: string;

test('every scored batch publishes EstimatedRMSE (its loss estimator, no labels) with [Model] and [Model, Version]', {
  skip,
}, async () => {
  batch = await batchCsv(1200, 501);
  await landAndScore(PATH, batch);
  const res = await invoke(created('pred-bucket', manifestKey(PATH)));
  assert.deepEqual(
    res.monitored.map((m) => m.status),
    ['monitored'],
    JSON.stringify(res),
  );
  const estimated = (await readDriftReport(preds, PATH))!.estimated!;
  assert.equal(estimated.rows, 1197, 'every row with a prediction is estimated');
  assert.equal(estimated.test_rmse, mv.metrics.rmse);
  const rmse = await valuesOf(NS, 'EstimatedRMSE');
  closeAll(rmse.model, estimated.rmse, 'EstimatedRMSE [Model]');
  closeAll(rmse.version, estimated.rmse, 'EstimatedRMSE [Model, Version]');
  closeAll((await valuesOf(NS, 'EstimatedRMSERatio')).model, estimated.rmse / mv.metrics.rmse!, 'EstimatedRMSERatio');
  closeAll((await valuesOf(NS, 'EstimatedMAE')).version, estimated.mae, 'EstimatedMAE');
});

test('labels landing under labels/<path> are joined to the batch, stored beside its drift report and published', {
  skip,
}, async () => {
  const truth = targets(batch);
  const ids = [...truth.keys()];
  // 900 labels, with defects: 2 ids the scorer refused, 5 unknown ids, 3 duplicates, one not a number.
  const labels = new Map(ids.slice(0, 900).map((id) => [id, truth.get(id)!] as const));
  const rows: [string, number | string][] = [...labels];
  rows[17] = [rows[17]![0], 'n/a'];
  labels.delete(rows[17]![0]);
  for (let k = 0; k < 5; k++) rows.push([`X${k}`, 1]);
  for (const [id, y] of rows.slice(0, 3)) rows.push([id, Number(y) + 50]);
  await data.put(labelsKey(PATH), labelsCsv(rows));

  logs.lines.length = 0;
  const res = await invoke(labelsEvent(PATH));
  assert.deepEqual(res.monitored, [], 'labels name no drift batch');
  const line = logs.lines.find((l) => l.msg === 'quality_measured')!;
  assert.deepEqual(
    [line.level, line.source, line.quality_level],
    ['info', `s3://data-bucket/${labelsKey(PATH)}`, res.quality[0]?.status === 'measured' && res.quality[0].level],
  );
  const outcome = res.quality[0]!;
  assert.equal(outcome.status, 'measured', JSON.stringify(res));
  const stored = (await readQuality(preds, PATH))!;
  const predictions = await predictionsOf(PATH);
  const want = direct(predictions, labels);
  assert.equal(stored.realized.rows, want.rows);
  for (const k of ['rmse', 'mae', 'bias'] as const) close(stored.realized[k], want[k], k);
  assert.deepEqual(
    { ...stored.labels, coverage: 0 },
    {
      rows: 908,
      joined: want.rows,
      unmatched: 7,
      unknown: 5,
      refused: 2,
      duplicates: 3,
      non_numeric: 1,
      missing: 0,
      ambiguous: 0,
      coverage: 0,
    },
  );
  close(stored.labels.coverage, want.rows / predictions.size, 'coverage');
  close(stored.ratio.rmse!, want.rmse / mv.metrics.rmse!, 'ratio to the test RMSE');
  assert.ok(stored.by_band && Object.keys(stored.by_band).length > 1, 'by SAP band, from the input in the data bucket');
  assert.equal(stored.estimated?.rows, want.rows, 'the estimate for the same rows');
  assert.deepEqual(stored.model, { name: 'sap_change', version: mv.version });
  assert.equal(stored.sources.labels, `s3://data-bucket/${labelsKey(PATH)}`);
  assert.equal(stored.lineage.manifest, `s3://pred-bucket/${manifestKey(PATH)}`);
  assert.equal(stored.lineage.labels_etag, (await data.head(labelsKey(PATH)))!.etag);
  assert.deepEqual(outcome.status === 'measured' && [outcome.result, outcome.rows, outcome.rmse], [
    qualityKey(PATH),
    want.rows,
    stored.realized.rmse,
  ]);
  assert.deepEqual(await monitoringKeys(PATH), [
    'drift.html',
    'drift.json',
    'metrics.json',
    'published.json',
    'quality-metrics.json',
    'quality-published.json',
    'quality.html',
    'quality.json',
  ]);
  assert.match(String(await preds.get(`monitoring/${PATH}/quality.html`)), /Estimated vs realized/);

  for (const [name, value] of [
    ['RealizedRMSE', want.rmse],
    ['RealizedMAE', want.mae],
    ['Bias', want.bias],
    ['LabelCoverage', stored.labels.coverage],
    ['RealizedRMSERatio', stored.ratio.rmse!],
    ['RowsLabelled', want.rows],
  ] as const) {
    const got = await valuesOf(NS, name);
    closeAll(got.model, value, `${name} [Model]`);
    closeAll(got.version, value, `${name} [Model, Version]`);
  }
});

test('a redelivered labels event changes nothing; new labels for the batch are measured anew', { skip }, async () => {
  const before = String(await preds.get(qualityKey(PATH)));
  const again = await invoke(labelsEvent(PATH));
  assert.deepEqual(
    again.quality.map((q) => q.status),
    ['skipped'],
  );
  assert.match(again.quality[0]?.status === 'skipped' ? again.quality[0].reason : '', /^already measured/);
  assert.equal(String(await preds.get(qualityKey(PATH))), before);
  assert.equal(await samples(NS), 1);

  const truth = targets(batch);
  await data.put(labelsKey(PATH), labelsCsv(truth));
  const more = await invoke(labelsEvent(PATH));
  assert.equal(more.quality[0]?.status, 'measured', JSON.stringify(more));
  const stored = (await readQuality(preds, PATH))!;
  const want = direct(await predictionsOf(PATH), truth);
  assert.equal(stored.labels.joined, 1197);
  close(stored.realized.rmse, want.rmse, 'rmse on every label');
  assert.equal(await samples(NS), 2);
});

test('labels that cannot be measured write nothing and publish only MonitorFailures, naming the object', {
  skip,
}, async () => {
  const ns = 'mltk-test/bad-labels';
  logs.lines.length = 0;
  await landAndScore('bad/strangers.csv', await batchCsv(100, 502));
  await data.put(
    labelsKey('bad/strangers.csv'),
    labelsCsv([
      ['X1', 1],
      ['X2', 2],
    ]),
  );
  await data.put(labelsKey('bad/unscored.csv'), labelsCsv([['H1', 1]]));
  const good = await batchCsv(60, 503);
  await landAndScore('bad/rejected.csv', good.replace(',current_sap,', ',sap_now,'));
  await data.put(labelsKey('bad/rejected.csv'), labelsCsv(targets(good)));
  await data.put(labelsKey('bad/no-id.csv'), 'sap_change\n1\n');
  await landAndScore('bad/no-id.csv', good);
  const res = await invoke(
    created(
      'data-bucket',
      ...['strangers', 'unscored', 'rejected', 'no-id'].map((p) => labelsKey(`bad/${p}.csv`)),
      labelsKey('bad/deleted.csv'),
      'labels/bad/notes.txt',
      'incoming/bad/strangers.csv',
    ),
    ns,
  );
  assert.deepEqual(
    res.quality.map((q) => [q.path, q.status]),
    [
      ['bad/strangers.csv', 'failed'],
      ['bad/unscored.csv', 'failed'],
      ['bad/rejected.csv', 'failed'],
      ['bad/no-id.csv', 'failed'],
      ['bad/deleted.csv', 'skipped'],
    ],
  );
  const errors = res.quality.map((q) => (q.status === 'failed' ? q.error : ''));
  assert.match(
    errors[0]!,
    /labels\/bad\/strangers\.csv: no label joins a prediction of sap_change v1 \(2 label rows: 2 with ids not in the predictions/,
  );
  assert.match(
    errors[1]!,
    /^s3:\/\/data-bucket\/labels\/bad\/unscored\.csv: no scored batch for these labels \(no lineage manifest s3:\/\/pred-bucket\/predictions\/bad\/unscored\.csv\/manifest\.json\)/,
  );
  assert.match(errors[2]!, /predictions\/bad\/rejected\.csv\/manifest\.json: the scorer rejected .* whole/);
  assert.match(errors[3]!, /labels\/bad\/no-id\.csv.*missing column "home_id"/);
  assert.equal((await preds.list('monitoring/bad/')).length, 0, 'nothing written');
  assert.deepEqual(
    logs.lines.filter((l) => l.msg === 'monitor_failed').map((l) => l.source),
    ['strangers', 'unscored', 'rejected', 'no-id'].map((p) => `s3://data-bucket/labels/bad/${p}.csv`),
  );
  assert.deepEqual(await metricNames(ns), ['MonitorFailures']);
});

/** CloudWatch's own 500 for PutMetricData (JSON protocol): the SDK retries it, and every retry fails too. */
const unavailable = {
  action: 'fail',
  status: 500,
  body: JSON.stringify({ __type: 'InternalServiceFault', message: 'Internal service error' }),
  headers: { 'x-amzn-query-error': 'InternalServiceError;Receiver' },
} as const;

test('a failed quality publish leaves its datums stored, and the next hourly run publishes them as computed', {
  skip,
}, async () => {
  const ns = 'mltk-test/quality-retry';
  const path = '2026/05/02/b.csv';
  const csv = await batchCsv(300, 504);
  await landAndScore(path, csv);
  await data.put(labelsKey(path), labelsCsv(targets(csv)));
  proxy.rule = (req) => (isPutMetricData(req) ? unavailable : { action: 'forward' });
  const first = await invoke(labelsEvent(path), ns);
  proxy.rule = () => ({ action: 'forward' });
  assert.equal(first.quality[0]?.status, 'failed', JSON.stringify(first));
  assert.match(
    first.quality[0]?.status === 'failed' ? first.quality[0].error : '',
    /cloudwatch:PutMetricData to namespace "mltk-test\/quality-retry" failed \(call 1 of 1\): Internal service error \(its metrics are stored in s3:\/\/pred-bucket\/monitoring\/2026\/05\/02\/b\.csv\/quality-metrics\.json; the hourly run publishes them again\)/,
  );
  assert.deepEqual(await qualityKeys(path), ['quality-metrics.json', 'quality.html', 'quality.json']);
  const stored = String(await preds.get(qualityMetricsKey(path)));

  const swept = await invoke(sweep, ns);
  assert.deepEqual(
    swept.quality.map((q) => [q.path, q.status, q.status === 'measured' && q.republished]),
    [[path, 'measured', true]],
  );
  assert.ok(await preds.head(qualityPublishedKey(path)));
  assert.equal(String(await preds.get(qualityMetricsKey(path))), stored, 'published as computed the first time');
  const result = (await readQuality(preds, path))!;
  assert.equal(JSON.parse(stored).datums[0].Timestamp, result.generated_at);
  assert.equal(await samples(ns), 1);
  assert.deepEqual((await invoke(sweep, ns)).quality, [], 'nothing left to do');
});

/** Runs the monitor handler in its own process on `event`; resolves when it exits (killed or not). */
function invokeInChild(vars: Record<string, string>, event: unknown): { exited: Promise<number | null>; kill(): void } {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'pipeline/testing/invoke.ts', 'handlers/monitor.ts', JSON.stringify(event)],
    { cwd: repoRoot, env: { ...process.env, ...vars }, stdio: ['ignore', 'ignore', 'ignore'] },
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
  /** What finishes the batch: Lambda's retry of the same event, or the hourly run. */
  recovery: 'event' | 'sweep';
  samples: number;
}[] = [
  {
    name: 'after the result, before its datums are stored',
    hold: (req, path) =>
      req.method === 'PUT' && req.path.includes(`/${qualityMetricsKey(path).replace(/ /g, '%20')}`) && 'before',
    left: ['quality.html', 'quality.json'],
    recovery: 'event',
    samples: 1,
  },
  {
    name: 'after the datums are stored, before CloudWatch has them',
    hold: (req) => isPutMetricData(req) && 'before',
    left: ['quality-metrics.json', 'quality.html', 'quality.json'],
    recovery: 'sweep',
    samples: 1,
  },
  {
    name: 'after CloudWatch took the datums, before the published marker',
    hold: (req) => isPutMetricData(req) && 'after',
    // The datums are sent again: twice at the same timestamps (Maximum and Average unchanged).
    left: ['quality-metrics.json', 'quality.html', 'quality.json'],
    recovery: 'sweep',
    samples: 2,
  },
];

for (const [i, point] of killPoints.entries()) {
  test(`kill -9 ${point.name}: the ${point.recovery === 'event' ? "event's retry" : 'next hourly run'} finishes the ` +
    `labels batch`, {
    skip,
  }, async () => {
    const path = `2026/06/0${i + 1}/killed.csv`;
    const ns = `mltk-test/quality-kill-${i}`;
    const csv = await batchCsv(150, 600 + i);
    await landAndScore(path, csv);
    await data.put(labelsKey(path), labelsCsv(targets(csv)));
    proxy.rule = (req) => {
      const when = point.hold(req, path);
      return when ? { action: 'hold', when } : { action: 'forward' };
    };
    const run = invokeInChild(env(ns), labelsEvent(path));
    await proxy.nextHold();
    run.kill();
    assert.equal(await run.exited, null, 'killed by the signal');
    proxy.rule = () => ({ action: 'forward' });
    assert.deepEqual(await monitoringKeys(path), point.left);

    const next = await invoke(point.recovery === 'event' ? labelsEvent(path) : sweep, ns);
    assert.deepEqual(
      next.quality.map((q) => [q.path, q.status]),
      [[path, 'measured']],
      JSON.stringify(next),
    );
    assert.deepEqual(await qualityKeys(path), [
      'quality-metrics.json',
      'quality-published.json',
      'quality.html',
      'quality.json',
    ]);
    assert.equal(await samples(ns), point.samples);
    assert.deepEqual((await invoke(sweep, ns)).quality, []);
  });
}
