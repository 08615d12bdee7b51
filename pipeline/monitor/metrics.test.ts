import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  type CloudWatchClient,
  GetMetricDataCommand,
  ListMetricsCommand,
  type Metric,
} from '@aws-sdk/client-cloudwatch';
import { motoUnavailable, startMoto, type MotoServer } from '../testing/moto.ts';
import { buildBaselineProfile } from './profile.ts';
import { monitorBatch, type DriftReport } from './report.ts';
import { METRIC, metricsClient, publishDriftMetrics, publishMonitorFailure, type MetricsSink } from './metrics.ts';
import { InvalidInputError } from '../errors/index.ts';
import { normals, sampleFeatures, sampleTable } from './testdata.ts';

const skip = motoUnavailable();
let moto: MotoServer;
let cw: CloudWatchClient;

before(async () => {
  if (skip) return;
  moto = await startMoto();
  cw = await metricsClient({
    endpoint: moto.endpoint,
    region: moto.env.AWS_REGION,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
});
after(async () => {
  cw?.destroy();
  await moto?.stop();
});

async function report(name: string): Promise<DriftReport> {
  const baseline = buildBaselineProfile(sampleTable(2000, 1), sampleFeatures, normals(2000, 2));
  const t = sampleTable(1000, 3, { shift: 1 });
  return monitorBatch({
    model: { name, version: 7 },
    features: sampleFeatures,
    baseline,
    thresholds: { psi_warn: 0.1, psi_alert: 0.25, drift_share: 0.3 },
    chunks: [t],
    source: 'batch.csv',
    predict: (x) => normals(x.rows, 4),
  });
}

async function listAll(namespace: string): Promise<Metric[]> {
  const out: Metric[] = [];
  let NextToken: string | undefined;
  do {
    const page = await cw.send(new ListMetricsCommand({ Namespace: namespace, NextToken }));
    out.push(...(page.Metrics ?? []));
    NextToken = page.NextToken;
  } while (NextToken);
  return out;
}

const dimKey = (m: Metric) =>
  `${m.MetricName}|${(m.Dimensions ?? [])
    .map((d) => `${d.Name}=${d.Value}`)
    .sort()
    .join(',')}`;

test('drift metrics reach CloudWatch with both dimension sets and the report values', { skip }, async () => {
  const r = await report('demo');
  const res = await publishDriftMetrics(r, { client: cw });
  assert.equal(res.namespace, 'mltk/demo');
  assert.equal(res.calls, 1);
  const keys = new Set((await listAll('mltk/demo')).map(dimKey));
  assert.equal(keys.size, res.datums);
  for (const k of [
    'FeaturePSI|Feature=x,Model=demo',
    'FeaturePSI|Feature=x,Model=demo,Version=7',
    'FeatureKS|Feature=x,Model=demo,Version=7',
    'MissingRate|Feature=colour,Model=demo',
    'PredictionPSI|Model=demo',
    'PredictionPSI|Model=demo,Version=7',
    'DriftShare|Model=demo',
    'RowsMonitored|Model=demo,Version=7',
  ])
    assert.ok(keys.has(k), `missing ${k}`);
  assert.ok(!keys.has('FeatureKS|Feature=colour,Model=demo'), 'no KS for a categorical feature');

  const x = r.features.find((f) => f.name === 'x')!;
  const t = new Date(r.generated_at).getTime();
  const got = await cw.send(
    new GetMetricDataCommand({
      StartTime: new Date(t - 600_000),
      EndTime: new Date(t + 600_000),
      MetricDataQueries: [
        {
          Id: 'psi',
          MetricStat: {
            Metric: {
              Namespace: 'mltk/demo',
              MetricName: METRIC.FeaturePSI,
              Dimensions: [
                { Name: 'Model', Value: 'demo' },
                { Name: 'Feature', Value: 'x' },
              ],
            },
            Period: 60,
            Stat: 'Maximum',
          },
        },
        {
          Id: 'rows',
          MetricStat: {
            Metric: {
              Namespace: 'mltk/demo',
              MetricName: METRIC.RowsMonitored,
              Dimensions: [
                { Name: 'Model', Value: 'demo' },
                { Name: 'Version', Value: '7' },
              ],
            },
            Period: 60,
            Stat: 'Sum',
          },
        },
      ],
    }),
  );
  const byId = new Map(got.MetricDataResults!.map((m) => [m.Id, m.Values]));
  assert.ok(Math.abs(byId.get('psi')![0]! - x.psi) < 1e-9);
  assert.deepEqual(byId.get('rows'), [1000]);
});

test('more than 1,000 datums are split into PutMetricData calls of at most 1,000', { skip }, async () => {
  const r = await report('wide');
  const base = r.features[0]!;
  r.features = Array.from({ length: 200 }, (_, i) => ({
    ...base,
    name: `f${i}`,
    type: 'numeric' as const,
    ks_statistic: 0.1,
  }));
  const sizes: number[] = [];
  const counting: MetricsSink = {
    send: (c) => {
      sizes.push(c.input.MetricData!.length);
      return cw.send(c);
    },
  };
  const res = await publishDriftMetrics(r, { client: counting, namespace: 'mltk-test/wide' });
  assert.equal(res.datums, 200 * 3 * 2 + 6);
  assert.deepEqual(sizes, [1000, 206]);
  assert.equal(res.calls, 2);
  assert.equal((await listAll('mltk-test/wide')).length, 1206);
});

test('a failed run logs one JSON error line and publishes MonitorFailures with the Model dimension', {
  skip,
}, async () => {
  const lines: string[] = [];
  await publishMonitorFailure(
    new InvalidInputError('batch.csv: missing column "x"', [{ field: 'x', issue: 'missing column' }]),
    { model: 'broken', source: 'batch.csv', client: cw, log: (l) => lines.push(l) },
  );
  assert.equal(lines.length, 1);
  const line = JSON.parse(lines[0]!);
  assert.equal(line.msg, 'monitor_failed');
  assert.equal(line.code, 'INPUT_INVALID');
  assert.match(line.message, /missing column "x"/);
  const metrics = await listAll('mltk/broken');
  assert.deepEqual(metrics.map(dimKey), ['MonitorFailures|Model=broken']);
});
