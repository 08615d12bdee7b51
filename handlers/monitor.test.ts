import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { ListMetricsCommand, type CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { motoUnavailable, startMoto, useMotoEnv, type MotoServer } from '../pipeline/testing/moto.ts';
import { makeS3Client, openStore, putBlob, type ObjectStore } from '../pipeline/store/index.ts';
import { moveAlias, registerModelVersion } from '../pipeline/registry/index.ts';
import { buildBaselineProfile, metricsClient } from '../pipeline/monitor/index.ts';
import { normals, sampleFeatures, sampleTable } from '../pipeline/monitor/testdata.ts';
import type { Table } from '../pipeline/data/index.ts';
import { handler } from './monitor.ts';

const skip = motoUnavailable();
let moto: MotoServer;
let s3: S3Client;
let cw: CloudWatchClient;
let preds: ObjectStore;
const lines: string[] = [];
const origError = console.error, origLog = console.log;

function csv(t: Table, pred?: Float64Array): string {
  const x = (t.columns.get('x') as { values: Float64Array }).values;
  const flag = (t.columns.get('flag') as { values: Float64Array }).values;
  const colour = t.columns.get('colour') as { codes: Int32Array; categories: string[] };
  const out = [`id,x,flag,colour${pred ? ',yhat' : ''}`];
  for (let i = 0; i < t.rows; i++) out.push(`${i},${Number.isNaN(x[i]!) ? '' : x[i]},${flag[i]},${colour.categories[colour.codes[i]!]}${pred ? `,${pred[i]}` : ''}`);
  return out.join('\n') + '\n';
}

async function metricNames(namespace: string): Promise<string[]> {
  const r = await cw.send(new ListMetricsCommand({ Namespace: namespace }));
  return [...new Set((r.Metrics ?? []).map((m) => m.MetricName!))].sort();
}

before(async () => {
  if (skip) return;
  moto = await startMoto();
  useMotoEnv(moto);
  s3 = makeS3Client();
  for (const b of ['model-bucket', 'pred-bucket']) await s3.send(new CreateBucketCommand({ Bucket: b, CreateBucketConfiguration: { LocationConstraint: 'eu-west-2' } }));
  cw = metricsClient({ endpoint: moto.endpoint });
  const registry = openStore('s3://model-bucket');
  preds = openStore('s3://pred-bucket');
  const profile = buildBaselineProfile(sampleTable(3000, 1), sampleFeatures, normals(3000, 2));
  const baseline = await putBlob(registry, JSON.stringify(profile));
  const artifact = await putBlob(registry, 'onnx bytes');
  const entry = {
    name: 'demo', run_id: null, dataset: null, trainer: 'gbdt', artifact: { ...artifact, format: 'onnx' as const }, baseline,
    signature: { id_column: 'id', features: sampleFeatures, derived: [], target: { column: 'y', unit: 'pts' }, output: { column: 'yhat', unit: 'pts' } },
    metrics: { rmse: 1 }, monitoring: { psi_warn: 0.1, psi_alert: 0.25, drift_share: 0.3 }, config_sha256: null,
  };
  await registerModelVersion(registry, entry);
  await registerModelVersion(registry, { ...entry, name: 'nobase', baseline: null });
  await moveAlias(registry, 'demo', 'prod', 1);
  await moveAlias(registry, 'nobase', 'prod', 1);
  Object.assign(process.env, { MLTK_STORE: 's3://model-bucket', MLTK_MODEL: 'demo', MLTK_ALIAS: 'prod', MLTK_PREDICTIONS_BUCKET: 'pred-bucket', MLTK_METRIC_NAMESPACE: 'mltk/demo' });
  console.error = (l: string) => { lines.push(String(l)); };
  console.log = (l: string) => { lines.push(String(l)); };
});
after(async () => { console.error = origError; console.log = origLog; s3?.destroy(); cw?.destroy(); await moto?.stop(); });

test('an S3 ObjectCreated event writes the JSON and HTML reports next to the object and publishes metrics', { skip }, async () => {
  await preds.put('2026/01/05/batch.csv', csv(sampleTable(1500, 7, { shift: 1 }), normals(1500, 8)));
  const res = await handler({ Records: [{ s3: { bucket: { name: 'pred-bucket' }, object: { key: '2026/01/05/batch.csv' } } }] });
  assert.equal(res.monitored.length, 1);
  assert.equal(res.monitored[0]!.ok, true);
  const report = JSON.parse((await preds.get('monitoring/2026/01/05/batch.csv.drift.json')).toString());
  assert.equal(report.rows, 1500);
  assert.deepEqual(report.model, { name: 'demo', version: 1 });
  assert.ok(report.drifted_features.includes('x'));
  assert.match((await preds.get('monitoring/2026/01/05/batch.csv.drift.html')).toString(), /^<!doctype html>/);
  assert.deepEqual(await metricNames('mltk/demo'), ['DriftShare', 'FeatureKS', 'FeaturePSI', 'MissingRate', 'PredictionPSI', 'RowsMonitored']);
});

test('a scheduled run monitors only the prediction objects after the last monitored one', { skip }, async () => {
  await preds.put('2026/01/06/batch.csv', csv(sampleTable(800, 9), normals(800, 10)));
  await preds.put('2026/01/07/batch.csv', csv(sampleTable(800, 11), normals(800, 12)));
  const res = await handler({ 'detail-type': 'Scheduled Event', source: 'aws.events' });
  assert.deepEqual(res.monitored.map((m) => m.key), ['2026/01/06/batch.csv', '2026/01/07/batch.csv']);
  assert.deepEqual((await handler({ 'detail-type': 'Scheduled Event' })).monitored, []);
});

test('a batch with a missing column or a wrong type writes nothing, publishes only MonitorFailures and logs the error', { skip }, async () => {
  const good = csv(sampleTable(50, 13), normals(50, 14));
  await preds.put('bad/missing.csv', good.replace('id,x,flag,colour', 'id,x,flag,color'));
  await preds.put('bad/type.csv', good.replace(/\n(\d+),[^,]*,/, '\n$1,abc,'));
  await preds.put('bad/empty.csv', 'id,x,flag,colour,yhat\n');
  process.env.MLTK_METRIC_NAMESPACE = 'mltk-test/bad';
  lines.length = 0;
  const res = await handler({ Records: ['bad/missing.csv', 'bad/type.csv', 'bad/empty.csv'].map((key) => ({ s3: { bucket: { name: 'pred-bucket' }, object: { key } } })) });
  process.env.MLTK_METRIC_NAMESPACE = 'mltk/demo';
  assert.deepEqual(res.monitored.map((m) => m.ok), [false, false, false]);
  const errors = res.monitored.map((m) => (m.ok ? '' : m.error));
  assert.match(errors[0]!, /s3:\/\/pred-bucket\/bad\/missing.csv: missing column "colour"/);
  assert.match(errors[1]!, /s3:\/\/pred-bucket\/bad\/type.csv: 1 bad value in rows .*"x": expected a number, got "abc"/);
  assert.match(errors[2]!, /bad\/empty.csv: no rows to monitor/);
  assert.equal((await preds.list('monitoring/bad/')).length, 0);
  assert.deepEqual(await metricNames('mltk-test/bad'), ['MonitorFailures']);
  const logged = lines.map((l) => JSON.parse(l)).filter((l) => l.event === 'monitor_failed');
  assert.equal(logged.length, 3);
  assert.equal(logged[0].model, 'demo');
});

test('a model version without a baseline profile is refused by name', { skip }, async () => {
  process.env.MLTK_MODEL = 'nobase';
  try {
    const res = await handler({ Records: [{ s3: { bucket: { name: 'pred-bucket' }, object: { key: '2026/01/05/batch.csv' } } }] });
    assert.match(res.monitored[0]!.ok ? '' : res.monitored[0]!.error, /model nobase v1 has no baseline profile/);
  } finally {
    process.env.MLTK_MODEL = 'demo';
  }
});

test('malformed events and environments are refused before anything runs', { skip }, async () => {
  await assert.rejects(handler({ hello: 1 }), /monitor event/);
  const saved = process.env.MLTK_PREDICTIONS_BUCKET;
  delete process.env.MLTK_PREDICTIONS_BUCKET;
  try {
    await assert.rejects(handler({ 'detail-type': 'Scheduled Event' }), /monitor Lambda environment: MLTK_PREDICTIONS_BUCKET/);
  } finally {
    process.env.MLTK_PREDICTIONS_BUCKET = saved;
  }
});
