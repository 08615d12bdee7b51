import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  outputKeys,
  OUTPUT_FILES,
  INCOMING_PREFIX as PREDICT_INCOMING,
  PREDICTIONS_PREFIX as PREDICT_PREDICTIONS,
} from '../predict/index.ts';
import {
  BATCH_FILES,
  INCOMING_PREFIX,
  PREDICTIONS_PREFIX,
  lineageSchema,
  labelsKey,
  labelsPath,
  manifestKey,
  metricsKey,
  predictionPath,
  predictionsKey,
  publishedKey,
  qualityHtmlKey,
  qualityKey,
  qualityMetricsKey,
  qualityPath,
  qualityPublishedKey,
  reportHtmlKey,
  reportKey,
} from './lineage.ts';

test("the key layout is pipeline/predict's: each input its own folder; manifest and predictions name the batch", () => {
  assert.equal(INCOMING_PREFIX, PREDICT_INCOMING);
  assert.equal(PREDICTIONS_PREFIX, PREDICT_PREDICTIONS);
  assert.deepEqual(OUTPUT_FILES, {
    predictions: BATCH_FILES.predictions,
    errors: BATCH_FILES.errors,
    manifest: BATCH_FILES.manifest,
  });
  const inputs = [
    'incoming/batch.csv',
    'incoming/2026/01/05/a b.CSV',
    'incoming/x.errors.csv',
    'incoming/j.jsonl',
    'incoming/j.ndjson',
    'incoming/y.csv',
    'incoming/y.jsonl',
    'incoming/x.csv',
    'incoming/x.CSV',
    'incoming/a.csv/predictions.csv',
  ];
  const paths = new Set<string>();
  for (const input of inputs) {
    const keys = outputKeys(input);
    const path = predictionPath(keys.manifest)!;
    assert.equal(path, input.slice(INCOMING_PREFIX.length), 'the batch path is the input key under incoming/');
    assert.equal(manifestKey(path), keys.manifest);
    assert.equal(predictionPath(keys.predictions), path, input);
    assert.equal(predictionPath(keys.errors), undefined, input);
    assert.equal(predictionsKey(path), keys.predictions);
    paths.add(path);
    assert.equal(labelsKey(path), `labels/${path}`, 'the labels of incoming/<path> are labels/<path>');
    assert.equal(labelsPath(labelsKey(path)), path);
    assert.equal(qualityPath(qualityKey(path)), path);
    const monitoring = [
      reportKey(path),
      reportHtmlKey(path),
      metricsKey(path),
      publishedKey(path),
      qualityKey(path),
      qualityHtmlKey(path),
      qualityMetricsKey(path),
      qualityPublishedKey(path),
    ];
    assert.equal(new Set(monitoring).size, monitoring.length);
    assert.ok(
      monitoring.every((k) => k.startsWith(`monitoring/${path}/`)),
      monitoring.join(),
    );
  }
  assert.equal(paths.size, inputs.length, 'no two inputs share a batch');
  assert.equal(reportKey('2026/01/05/batch.csv'), 'monitoring/2026/01/05/batch.csv/drift.json');
  for (const other of [
    'monitoring/a.csv/drift.json',
    'incoming/a.csv',
    'predictions/a.json/manifest.json',
    'predictions/a.csv/errors.csv',
    'predictions/manifest.json',
  ]) {
    assert.equal(predictionPath(other), undefined, other);
  }
  for (const other of ['labels/a.txt', 'incoming/a.csv', 'labels/', 'x/labels/a.csv'])
    assert.equal(labelsPath(other), undefined, other);
  assert.equal(qualityPath('monitoring/a.csv/drift.json'), undefined);
});

test('a lineage manifest without the input hash or model version is malformed', () => {
  const ok = {
    kind: 'mltk.predictions',
    scored_at: '2026-01-05T00:00:00Z',
    status: 'scored',
    source: 's3://d/incoming/a.csv',
    input_key: 'incoming/a.csv',
    rows: 2,
    scored: 2,
    errors: 0,
    input: { sha256: 'a'.repeat(64), bytes: 10 },
    model: { name: 'm', version: 1, sha256: 'b'.repeat(64) },
  };
  assert.equal(lineageSchema.safeParse(ok).success, true);
  assert.equal(lineageSchema.safeParse({ ...ok, input: { bytes: 10 } }).success, false);
  assert.equal(lineageSchema.safeParse({ ...ok, model: { name: 'm', sha256: 'b'.repeat(64) } }).success, false);
});
