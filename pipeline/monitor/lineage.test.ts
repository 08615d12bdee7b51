import { test } from 'node:test';
import assert from 'node:assert/strict';
import { outputKeys, INCOMING_PREFIX as PREDICT_INCOMING, PREDICTIONS_PREFIX as PREDICT_PREDICTIONS } from '../predict/index.ts';
import { INCOMING_PREFIX, PREDICTIONS_PREFIX, lineageSchema, manifestKey, predictionPath, reportKey } from './lineage.ts';

test('the key layout is pipeline/predict\'s: manifest and predictions name the batch, the errors file does not', () => {
  assert.equal(INCOMING_PREFIX, PREDICT_INCOMING);
  assert.equal(PREDICTIONS_PREFIX, PREDICT_PREDICTIONS);
  for (const input of ['incoming/batch.csv', 'incoming/2026/01/05/a b.CSV', 'incoming/x.errors.csv', 'incoming/j.jsonl']) {
    const keys = outputKeys(input);
    const path = predictionPath(keys.manifest)!;
    assert.equal(manifestKey(path), keys.manifest);
    assert.equal(predictionPath(keys.errors), undefined, input);
    // An input named *.errors.csv has predictions that look like an errors file: its manifest still names it.
    assert.equal(predictionPath(keys.predictions), input.endsWith('.errors.csv') ? undefined : path, input);
  }
  assert.equal(reportKey('2026/01/05/batch'), 'monitoring/2026/01/05/batch.drift.json');
  for (const other of ['monitoring/a.drift.json', 'incoming/a.csv', 'predictions/a.json', 'predictions/a.errors.csv']) assert.equal(predictionPath(other), undefined, other);
});

test('a lineage manifest without the input hash or model version is malformed', () => {
  const ok = {
    kind: 'mltk.predictions', scored_at: '2026-01-05T00:00:00Z', status: 'scored', source: 's3://d/incoming/a.csv', input_key: 'incoming/a.csv',
    rows: 2, scored: 2, errors: 0, input: { sha256: 'a'.repeat(64), bytes: 10 }, model: { name: 'm', version: 1, sha256: 'b'.repeat(64) },
  };
  assert.equal(lineageSchema.safeParse(ok).success, true);
  assert.equal(lineageSchema.safeParse({ ...ok, input: { bytes: 10 } }).success, false);
  assert.equal(lineageSchema.safeParse({ ...ok, model: { name: 'm', sha256: 'b'.repeat(64) } }).success, false);
});
