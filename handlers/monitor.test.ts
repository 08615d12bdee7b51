import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { CreateBucketCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ListMetricsCommand, type CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { motoUnavailable, startMoto, useMotoEnv, type MotoServer } from '../pipeline/testing/moto.ts';
import { keyProblem, makeS3Client, openStore, type ObjectStore } from '../pipeline/store/index.ts';
import { metricsClient, readDriftReport } from '../pipeline/monitor/index.ts';
import {
  registerMonitoredModel,
  sapChangeFixture,
  shiftSap,
  toJsonLines,
  withRefusedRows,
} from '../pipeline/monitor/testmodel.ts';
import { loadModelVersion, scoreObject, type LoadedModel } from '../pipeline/predict/index.ts';
import { registerOnnx, synthCsv } from '../pipeline/predict/testdata.ts';
import { handler } from './monitor.ts';
import { captureLogLines, type LogCapture } from '../pipeline/testing/log-capture.ts';

const skip = motoUnavailable();
let moto: MotoServer;
let s3: S3Client;
let cw: CloudWatchClient;
let registry: ObjectStore, data: ObjectStore, preds: ObjectStore;
let champion: LoadedModel, unprofiled: LoadedModel;
let logs: LogCapture;

async function metricNames(namespace: string): Promise<string[]> {
  const r = await cw.send(new ListMetricsCommand({ Namespace: namespace }));
  return [...new Set((r.Metrics ?? []).map((m) => m.MetricName!))].sort();
}

/** What the predict Lambda does with an input that lands under incoming/: the real outputs and lineage manifest. */
async function landAndScore(path: string, csv: string, model = champion): Promise<void> {
  await data.put(`incoming/${path}`, csv);
  await scoreObject(model, { store: data, key: `incoming/${path}` }, preds);
}

const created = (...keys: string[]) => ({
  Records: keys.map((key) => ({
    eventName: 'ObjectCreated:Put',
    s3: { bucket: { name: 'pred-bucket' }, object: { key } },
  })),
});

before(async () => {
  if (skip) return;
  moto = await startMoto();
  useMotoEnv(moto);
  s3 = await makeS3Client();
  for (const b of ['model-bucket', 'data-bucket', 'pred-bucket'])
    await s3.send(
      new CreateBucketCommand({ Bucket: b, CreateBucketConfiguration: { LocationConstraint: 'eu-west-2' } }),
    );
  cw = await metricsClient({ endpoint: moto.endpoint });
  registry = openStore('s3://model-bucket');
  data = openStore('s3://data-bucket');
  preds = openStore('s3://pred-bucket');
  const { mv } = await registerMonitoredModel(registry, 'prod');
  const fx = await sapChangeFixture();
  const v2 = await registerOnnx(registry, fx.config, fx.trained.onnx); // registered without a baseline profile
  champion = await loadModelVersion(registry, mv);
  unprofiled = await loadModelVersion(registry, v2);
  Object.assign(process.env, {
    MLTK_STORE: 's3://model-bucket',
    MLTK_MODEL: 'sap_change',
    MLTK_ALIAS: 'prod',
    MLTK_PREDICTIONS_BUCKET: 'pred-bucket',
    MLTK_DATA_BUCKET: 'data-bucket',
    MLTK_METRIC_NAMESPACE: 'mltk/sap_change',
  });
  logs = captureLogLines();
});
after(async () => {
  logs.restore();
  champion?.retire();
  unprofiled?.retire();
  s3?.destroy();
  cw?.destroy();
  await moto?.stop();
});

test('a lineage manifest event: the input is read from the data bucket, scored by the version that scored it, ' +
  'reported under monitoring/ and published', {
  skip,
}, async () => {
  const { csv, refused } = withRefusedRows(shiftSap((await synthCsv(3000, 21)).toString(), -30));
  await landAndScore('2026/01/05/batch.csv', csv);
  const res = await handler(created('predictions/2026/01/05/batch.csv/manifest.json'));
  assert.deepEqual(
    res.monitored.map((m) => m.status),
    ['monitored'],
    JSON.stringify(res),
  );
  const report = JSON.parse((await preds.get('monitoring/2026/01/05/batch.csv/drift.json')).toString());
  assert.equal(report.rows, 3000);
  assert.equal(report.input, 's3://data-bucket/incoming/2026/01/05/batch.csv');
  assert.deepEqual(report.model, { name: 'sap_change', version: 1 });
  assert.ok(report.drifted_features.includes('current_sap'), report.drifted_features.join(','));
  assert.equal(report.prediction.level, 'alert');
  assert.equal(report.prediction.missing_rate, refused / 3000);
  assert.equal(report.lineage.manifest, 's3://pred-bucket/predictions/2026/01/05/batch.csv/manifest.json');
  assert.equal(report.lineage.refused_rows, refused);
  assert.deepEqual(
    await readDriftReport(preds, '2026/01/05/batch.csv'),
    report,
    'the stored report reads back through its schema unchanged',
  );
  assert.match((await preds.get('monitoring/2026/01/05/batch.csv/drift.html')).toString(), /^<!doctype html>/);
  assert.deepEqual(await metricNames('mltk/sap_change'), [
    'DriftShare',
    'FeatureKS',
    'FeaturePSI',
    'MissingRate',
    'PredictionPSI',
    'RowsMonitored',
  ]);
});

test('a JSON-lines batch is monitored as the predict Lambda scored it', { skip }, async () => {
  const { csv, refused } = withRefusedRows((await synthCsv(1200, 26)).toString());
  await data.put('incoming/2026/01/04/batch.jsonl', toJsonLines(csv, champion.signature.features));
  await scoreObject(champion, { store: data, key: 'incoming/2026/01/04/batch.jsonl' }, preds);
  const res = await handler(created('predictions/2026/01/04/batch.jsonl/manifest.json'));
  assert.deepEqual(
    res.monitored.map((m) => m.status),
    ['monitored'],
    JSON.stringify(res),
  );
  const report = JSON.parse((await preds.get('monitoring/2026/01/04/batch.jsonl/drift.json')).toString());
  assert.equal(report.input, 's3://data-bucket/incoming/2026/01/04/batch.jsonl');
  assert.equal(report.rows, 1200);
  assert.equal(report.lineage.refused_rows, refused);
  assert.equal(report.prediction.missing_rate, refused / 1200);
});

test('inputs that differ only by extension are two batches, each with its own report', { skip }, async () => {
  const csv = (await synthCsv(300, 27)).toString();
  await landAndScore('2025/12/31/same.csv', csv);
  await data.put('incoming/2025/12/31/same.jsonl', toJsonLines(shiftSap(csv, -30), champion.signature.features));
  await scoreObject(champion, { store: data, key: 'incoming/2025/12/31/same.jsonl' }, preds);
  const res = await handler(
    created('predictions/2025/12/31/same.csv/manifest.json', 'predictions/2025/12/31/same.jsonl/manifest.json'),
  );
  assert.deepEqual(
    res.monitored.map((m) => [m.path, m.status]),
    [
      ['2025/12/31/same.csv', 'monitored'],
      ['2025/12/31/same.jsonl', 'monitored'],
    ],
  );
  const report = async (path: string) => JSON.parse(String(await preds.get(`monitoring/${path}/drift.json`)));
  const [a, b] = [await report('2025/12/31/same.csv'), await report('2025/12/31/same.jsonl')];
  assert.deepEqual(
    [a.input, b.input],
    ['s3://data-bucket/incoming/2025/12/31/same.csv', 's3://data-bucket/incoming/2025/12/31/same.jsonl'],
  );
  assert.deepEqual([a.prediction.level, b.prediction.level], ['ok', 'alert']);
});

test('the predictions object names its batch too; errors files, inputs and reports name none', { skip }, async () => {
  const res = await handler(
    created(
      'predictions/2026/01/05/batch.csv/predictions.csv',
      'predictions/2026/01/05/batch.csv/errors.csv',
      'monitoring/2026/01/05/batch.csv/drift.json',
      'incoming/2026/01/05/batch.csv',
    ),
  );
  // The batch is the one the first test monitored: named, and recognised as done (S3 delivers at least once).
  assert.deepEqual(
    res.monitored.map((m) => [m.path, m.status]),
    [['2026/01/05/batch.csv', 'skipped']],
  );
  assert.match(
    res.monitored[0]?.status === 'skipped' ? res.monitored[0].reason : '',
    /^already monitored: its metrics were published at /,
  );
});

test('a scheduled run monitors only the batches scored after the last monitored one', { skip }, async () => {
  await landAndScore('2026/01/06/batch.csv', (await synthCsv(800, 22)).toString());
  await landAndScore('2026/01/07/batch.csv', (await synthCsv(800, 23)).toString());
  const res = await handler({ 'detail-type': 'Scheduled Event', source: 'aws.events' });
  assert.deepEqual(
    res.monitored.map((m) => [m.path, m.status]),
    [
      ['2026/01/06/batch.csv', 'monitored'],
      ['2026/01/07/batch.csv', 'monitored'],
    ],
  );
  const report = JSON.parse((await preds.get('monitoring/2026/01/07/batch.csv/drift.json')).toString());
  assert.equal(report.rows, 800);
  assert.equal(report.prediction.level, 'ok');
  assert.deepEqual((await handler({ 'detail-type': 'Scheduled Event' })).monitored, []);
});

test('bad batches write nothing, publish only MonitorFailures, and the error names the object', { skip }, async () => {
  const good = (await synthCsv(50, 24)).toString();
  await landAndScore('bad/missing.csv', good.replace(',current_sap,', ',sap_now,'));
  await landAndScore('bad/type.csv', good.replace(/\n([^,]*,[^,]*,[^,]*,[^,]*),[^,]*,/, '\n$1,abc,'));
  await landAndScore('bad/empty.csv', `${good.split('\n')[0]}\n`);
  await landAndScore('bad/changed.csv', good);
  await data.put('incoming/bad/changed.csv', good.replace(/\n[^\n]*\n$/, '\n'));
  await preds.put(
    'predictions/bad/unscored.csv/predictions.csv',
    'home_id,predicted_sap_change,model_name,model_version\n',
  );
  process.env.MLTK_METRIC_NAMESPACE = 'mltk-test/bad';
  logs.lines.length = 0;
  const res = await handler(
    created(
      ...['missing', 'type', 'empty', 'changed'].map((p) => `predictions/bad/${p}.csv/manifest.json`),
      'predictions/bad/unscored.csv/predictions.csv',
    ),
  );
  process.env.MLTK_METRIC_NAMESPACE = 'mltk/sap_change';
  assert.deepEqual(
    res.monitored.map((m) => m.status),
    ['failed', 'failed', 'failed', 'failed', 'skipped'],
  );
  const errors = res.monitored.map((m) => (m.status === 'failed' ? m.error : ''));
  assert.match(
    errors[0]!,
    /pred-bucket\/predictions\/bad\/missing.csv\/manifest.json: the scorer rejected s3:\/\/data-bucket\/incoming\/bad\/missing.csv whole \(.*missing column "current_sap"/,
  );
  assert.match(
    errors[1]!,
    /^s3:\/\/data-bucket\/incoming\/bad\/type.csv: 1 bad value in rows .*"total_floor_area": expected a number, got "abc"/,
  );
  assert.match(errors[2]!, /^s3:\/\/data-bucket\/incoming\/bad\/empty.csv: no rows to monitor/);
  assert.match(errors[3]!, /^s3:\/\/data-bucket\/incoming\/bad\/changed.csv changed since it was scored/);
  assert.equal((await preds.list('monitoring/bad/')).length, 0);
  assert.deepEqual(await metricNames('mltk-test/bad'), ['MonitorFailures']);
  const logged: any[] = logs.lines.filter((l) => l.msg === 'monitor_failed');
  assert.deepEqual(
    logged.map((l) => l.model),
    ['sap_change', 'sap_change', 'sap_change', 'sap_change'],
  );
  assert.equal(logged[1].source, 's3://data-bucket/incoming/bad/type.csv');
});

test('a batch scored by a version without a baseline profile is refused by name', { skip }, async () => {
  await landAndScore('2026/02/01/batch.csv', (await synthCsv(100, 25)).toString(), unprofiled);
  const res = await handler(created('predictions/2026/02/01/batch.csv/manifest.json'));
  assert.match(
    res.monitored[0]!.status === 'failed' ? res.monitored[0]!.error : '',
    /model sap_change v2 has no baseline profile/,
  );
});

test('malformed events and environments are refused before anything runs', { skip }, async () => {
  await assert.rejects(handler({ hello: 1 }), /monitor event/);
  for (const name of ['MLTK_PREDICTIONS_BUCKET', 'MLTK_DATA_BUCKET']) {
    const saved = process.env[name];
    delete process.env[name];
    try {
      await assert.rejects(
        handler({ 'detail-type': 'Scheduled Event' }),
        new RegExp(`monitor Lambda environment: ${name}`),
      );
    } finally {
      process.env[name] = saved;
    }
  }
});

test('hostile keys in events (`..` and `.` segments, raw or URL-encoded, undecodable) name no batch: skipped, ' +
  'nothing read, written or published', {
  skip,
}, async () => {
  await landAndScore('hostile/src.csv', (await synthCsv(200, 26)).toString());
  // Forged manifests under literal hostile keys (written past the store layer, as anyone with access could).
  const manifest = await preds.get('predictions/hostile/src.csv/manifest.json');
  for (const Key of ['predictions/../../forged.csv/manifest.json', 'predictions/hostile/./forged.csv/manifest.json'])
    await s3.send(new PutObjectCommand({ Bucket: 'pred-bucket', Key, Body: manifest }));
  const everything = async () =>
    ((await s3.send(new ListObjectsV2Command({ Bucket: 'pred-bucket' }))).Contents ?? []).map((o) => o.Key).sort();
  const before = await everything();
  process.env.MLTK_METRIC_NAMESPACE = 'mltk-test/hostile';
  try {
    const res = await handler(
      created(
        'predictions/../../forged.csv/manifest.json',
        'predictions/hostile/%2E/forged.csv/manifest.json',
        'predictions/%E0%A4%A.csv/manifest.json',
      ),
    );
    assert.deepEqual(
      res.monitored.map((m) => [m.status, m.status === 'skipped' ? m.reason.replace(/:.*/, '') : '']),
      [
        ['skipped', 'invalid store key "predictions/../../forged.csv/manifest.json"'],
        ['skipped', 'invalid store key "predictions/hostile/./forged.csv/manifest.json"'],
        ['skipped', 'S3 event key "predictions/%E0%A4%A.csv/manifest.json"'],
      ],
    );
    const bridged = await handler({
      'detail-type': 'Object Created',
      detail: { bucket: { name: 'pred-bucket' }, object: { key: 'predictions/../../forged.csv/manifest.json' } },
    });
    assert.deepEqual(
      bridged.monitored.map((m) => m.status),
      ['skipped'],
    );
    // The hourly sweep lists the bucket, forged keys included: they name no batch either.
    const swept = await handler({ 'detail-type': 'Scheduled Event' });
    assert.ok(
      swept.monitored.every((m) => !/(^|\/)\.\.?\//.test(m.path)),
      JSON.stringify(swept.monitored.map((m) => m.path)),
    );
  } finally {
    process.env.MLTK_METRIC_NAMESPACE = 'mltk/sap_change';
  }
  // Only the sweep wrote, and only reports of real batches: no key with a `..` or `.` segment.
  const written = (await everything()).filter((k) => !before.includes(k));
  assert.ok(
    written.every((k) => k!.startsWith('monitoring/') && keyProblem(k!) === undefined),
    JSON.stringify(written),
  );
  assert.ok(!written.some((k) => k!.includes('forged')));
});
