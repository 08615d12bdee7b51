import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Table } from '../data/index.ts';
import { ks2samp } from './ks.ts';
import { buildBaselineProfile } from './profile.ts';
import { numericBinLabels } from './accumulate.ts';
import { monitorBatch, type MonitorBatchInput } from './report.ts';
import { normals, sampleFeatures, sampleTable } from './testdata.ts';

const thresholds = { psi_warn: 0.1, psi_alert: 0.25, drift_share: 0.3 };
const baselineTable = sampleTable(20_000, 1);
const baselinePred = normals(20_000, 50);
const baseline = buildBaselineProfile(baselineTable, sampleFeatures, baselinePred);

function withPrediction(t: Table, pred: Float64Array): Table {
  return { rows: t.rows, columns: new Map([...t.columns, ['yhat', { kind: 'numeric', values: pred }]]) };
}

function input(chunks: Table[], extra: Partial<MonitorBatchInput> = {}): MonitorBatchInput {
  return {
    model: { name: 'demo', version: 3 },
    features: sampleFeatures,
    baseline,
    thresholds,
    chunks,
    source: 'batch.csv',
    predictionColumn: 'yhat',
    ...extra,
  };
}

function split(t: Table, size: number): Table[] {
  const out: Table[] = [];
  for (let s = 0; s < t.rows; s += size) {
    const e = Math.min(t.rows, s + size);
    const columns = new Map(
      [...t.columns].map(
        ([k, c]) =>
          [
            k,
            c.kind === 'numeric'
              ? { ...c, values: c.values.subarray(s, e) }
              : c.kind === 'categorical'
                ? { ...c, codes: c.codes.subarray(s, e) }
                : { ...c, values: c.values.slice(s, e) },
          ] as const,
      ),
    );
    out.push({ rows: e - s, columns });
  }
  return out;
}

test('a batch from the baseline distribution shows no drift', async () => {
  const report = await monitorBatch(input([withPrediction(sampleTable(8000, 2), normals(8000, 51))]));
  assert.equal(report.rows, 8000);
  assert.equal(report.dataset_drift, false);
  assert.equal(report.level, 'ok');
  for (const f of report.features) assert.ok(f.psi < 0.1 && !f.drifted, `${f.name} psi ${f.psi}`);
  assert.ok(report.prediction!.ks_pvalue! > 0.001);
});

test('a shifted numeric feature and a new category are flagged, drifted first', async () => {
  const batch = withPrediction(sampleTable(8000, 3, { shift: 1, extraColour: 'purple' }), normals(8000, 52, 0.8));
  const report = await monitorBatch(input([batch]));
  assert.deepEqual(report.drifted_features.sort(), ['colour', 'x']);
  assert.equal(report.features[2]!.name, 'flag');
  assert.ok(report.drift_share > 0.6 && report.dataset_drift);
  const colour = report.features.find((f) => f.name === 'colour')!;
  assert.ok(colour.unseen! > 700 && colour.out_of_range === colour.unseen);
  assert.deepEqual(colour.unseen_categories, ['purple']);
  assert.equal(colour.ks_statistic, null);
  assert.equal(colour.distribution.buckets.at(-1), '(unseen)');
  const x = report.features.find((f) => f.name === 'x')!;
  assert.ok(x.out_of_range! > 100, 'values beyond the signature max of 3');
  assert.equal(report.prediction!.drifted, true);
});

test('chunked input gives exactly the statistics of one chunk, and KS equals the raw two-sample test', async () => {
  const batch = withPrediction(sampleTable(12_345, 4, { shift: 0.1, missingX: 0.1 }), normals(12_345, 53));
  const whole = await monitorBatch(input([batch], { now: () => new Date(0) }));
  const chunked = await monitorBatch(input(split(batch, 1000), { now: () => new Date(0) }));
  assert.deepEqual(chunked, whole);
  const x = whole.features.find((f) => f.name === 'x')!;
  const values = (batch.columns.get('x') as { values: Float64Array }).values.filter((v) => !Number.isNaN(v));
  const sample = baseline.features.find((f) => f.name === 'x')! as { sample: number[] };
  const raw = ks2samp(sample.sample, values);
  assert.equal(x.ks_statistic, raw.statistic);
  assert.equal(x.ks_pvalue, raw.pvalue);
  assert.ok(Math.abs(x.missing_rate - 0.1) < 0.01 && x.baseline_missing_rate === 0);
  assert.equal(x.distribution.buckets.at(-1), '(missing)');
});

test('predictions are scored with the given model when the file has no output column', async () => {
  let scored = 0;
  const report = await monitorBatch(
    input([sampleTable(500, 5)], {
      predict: (t) => {
        scored += t.rows;
        return normals(t.rows, 54);
      },
    }),
  );
  assert.equal(scored, 500);
  assert.equal(report.prediction!.rows, 500);
});

test('bad batches are refused naming the file and the field', async () => {
  const noColour = sampleTable(100, 6);
  noColour.columns.delete('colour');
  await assert.rejects(monitorBatch(input([noColour])), /batch.csv: missing column "colour"/);
  await assert.rejects(monitorBatch(input([])), /batch.csv: no rows to monitor/);
  const wrongType = sampleTable(100, 6);
  wrongType.columns.set('x', { kind: 'text', values: Array(100).fill('a') });
  await assert.rejects(
    monitorBatch(input([withPrediction(wrongType, normals(100, 1))])),
    /batch.csv: column "x" should be numeric, found text/,
  );
  await assert.rejects(
    monitorBatch(input([sampleTable(100, 6)])),
    /batch.csv: no prediction column "yhat" and no model to score with/,
  );
  const thin = { ...baseline, features: baseline.features.filter((f) => f.name !== 'flag') };
  await assert.rejects(
    monitorBatch(input([sampleTable(100, 6)], { baseline: thin })),
    /baseline profile of demo v3 has no profile for "flag"/,
  );
});

test('numeric bin labels show whole edge values at the feature\'s scale (issue 18.8: "126 - 15")', async () => {
  // total_floor_area-like edges: one decimal in the data, interpolated quantiles in between.
  const area = {
    name: 'total_floor_area',
    type: 'numeric' as const,
    count: 100,
    missing: 0,
    missing_rate: 0,
    min: 20,
    max: 600,
    edges: [55.2, 98.65, 126.34, 150.2, 1234.5],
    bin_counts: [20, 20, 20, 20, 10, 10],
    sample: [20, 60, 100, 130, 160, 600],
  };
  const spec = { name: 'total_floor_area', type: 'numeric' as const, nullable: false };
  const report = await monitorBatch({
    model: { name: 'demo', version: 1 },
    features: [spec],
    thresholds,
    baseline: { format: baseline.format, source: 'training', rows: 100, features: [area], prediction: null },
    chunks: [
      {
        rows: 3,
        columns: new Map([['total_floor_area', { kind: 'numeric', values: Float64Array.of(50, 140, 2000) }]]),
      },
    ],
    source: 'batch.csv',
  });
  assert.deepEqual(report.features[0]!.distribution.buckets, [
    '≤ 55.2',
    '55.2 – 98.7',
    '98.7 – 126.3',
    '126.3 – 150.2',
    '150.2 – 1234.5',
    '> 1234.5',
  ]);
});

test('bin labels: decimals follow the gaps between edges, never more than the edges carry', () => {
  assert.deepEqual(numericBinLabels([150.2]), ['≤ 150.2', '> 150.2']);
  assert.deepEqual(numericBinLabels([10, 20, 150]), ['≤ 10', '10 – 20', '20 – 150', '> 150']);
  // Predictions: float noise in the edges is rounded to a tenth of the smallest gap.
  assert.deepEqual(numericBinLabels([0.123456789, 0.523456789, 3.1]), [
    '≤ 0.12',
    '0.12 – 0.52',
    '0.52 – 3.10',
    '> 3.10',
  ]);
  // Close edges keep enough decimals to stay distinct; big ones keep every integer digit.
  assert.deepEqual(numericBinLabels([1.0001, 1.0002]), ['≤ 1.0001', '1.0001 – 1.0002', '> 1.0002']);
  assert.deepEqual(numericBinLabels([1_250_000, 3_500_000.4]), ['≤ 1250000.0', '1250000.0 – 3500000.4', '> 3500000.4']);
  assert.deepEqual(numericBinLabels([-0.001, 5]), ['≤ -0.001', '-0.001 – 5.000', '> 5.000']);
  assert.deepEqual(numericBinLabels([]), ['all']);
});

test(
  'derived features are profiled and monitored: a ratio drifts when its inputs are re-paired, though ' +
    'neither input does',
  async () => {
    const pair = (rows: number, seed: number, shuffled: boolean): Table => {
      const a = normals(rows, seed, 10, 1);
      const noise = normals(rows, seed + 1, 0, 0.1);
      const b = a.map((v, i) => v + noise[i]!);
      if (shuffled) b.reverse();
      return {
        rows,
        columns: new Map([
          ['a', { kind: 'numeric', values: a }],
          ['b', { kind: 'numeric', values: b }],
        ]),
      };
    };
    const features = [
      { name: 'a', type: 'numeric' as const, nullable: false },
      { name: 'b', type: 'numeric' as const, nullable: false },
    ];
    const derived = [{ name: 'a_per_b', op: 'ratio' as const, inputs: ['a', 'b'] as [string, string] }];
    const base = buildBaselineProfile(pair(5000, 1, false), features, normals(5000, 3), derived);
    assert.deepEqual(
      base.features.map((f) => f.name),
      ['a', 'b', 'a_per_b'],
    );
    const run = (t: Table) =>
      monitorBatch({
        model: { name: 'demo', version: 1 },
        features,
        derived,
        baseline: base,
        thresholds,
        chunks: [t],
        source: 'b.csv',
        predict: (c) => normals(c.rows, 4),
      });
    const same = await run(pair(3000, 7, false));
    assert.deepEqual(same.drifted_features, []);
    const repaired = await run(pair(3000, 7, true));
    assert.deepEqual(repaired.drifted_features, ['a_per_b']);
    const ratio = repaired.features.find((f) => f.name === 'a_per_b')!;
    assert.equal(ratio.derived, true);
    assert.equal(repaired.features.find((f) => f.name === 'a')!.derived, false);
    assert.equal(ratio.rows, 3000);
    // Without the derived inputs in the file the batch is refused naming them.
    const noB = pair(10, 1, false);
    noB.columns.delete('b');
    await assert.rejects(run(noB), /b\.csv: missing column "b"/);
  },
);
