import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../store/index.ts';
import { buildBaselineProfile } from './profile.ts';
import { monitorBatch } from './report.ts';
import { listDriftReportPaths, listScoredBatchPaths, readDriftReport, readLineage } from './stored.ts';
import { normals, sampleFeatures, sampleTable } from './testdata.ts';

async function report() {
  const baseline = buildBaselineProfile(sampleTable(2000, 1, { missingX: 0.02 }), sampleFeatures, normals(2000, 2));
  return monitorBatch({
    model: { name: 'sap_change', version: 2 },
    features: sampleFeatures,
    baseline,
    thresholds: { psi_warn: 0.1, psi_alert: 0.25, drift_share: 0.3 },
    chunks: [sampleTable(1000, 5, { shift: 0.8, extraColour: '<script>alert(1)</script>' })],
    source: 's3://data/incoming/2026/01/b.csv',
    predict: (t) => normals(t.rows, 9, 0.3),
  });
}

test('a stored drift report reads back through its schema, statistics and lineage intact', async () => {
  const store = openStore(await mkdtemp(join(tmpdir(), 'mltk-stored-')));
  const r = await report();
  const lineage = {
    manifest: 's3://p/predictions/2026/01/b.csv/manifest.json',
    input_sha256: 'a'.repeat(64),
    scored_at: '2026-01-02T00:00:00.000Z',
    refused_rows: 3,
  };
  await store.put('monitoring/2026/01/b.csv/drift.json', JSON.stringify({ ...r, lineage }, null, 2));
  await store.put('monitoring/2026/01/b.csv/drift.html', '<!doctype html>');
  await store.put('monitoring/drift.json', '{}');
  await store.put('monitoring/2026/01/b.csv/metrics.json', '{}');
  assert.deepEqual(await listDriftReportPaths(store), ['2026/01/b.csv']);
  const back = await readDriftReport(store, '2026/01/b.csv');
  assert.deepEqual(back, JSON.parse(JSON.stringify({ ...r, lineage })));
  assert.ok(back!.features.some((f) => f.unseen_categories?.includes('<script>alert(1)</script>')));
  assert.equal(await readDriftReport(store, '2026/01/none.csv'), undefined);
  await store.put('monitoring/bad.csv/drift.json', JSON.stringify({ ...r, features: [{ name: 'x' }] }));
  await assert.rejects(
    readDriftReport(store, 'bad.csv'),
    /monitoring\/bad\.csv\/drift\.json: malformed manifest \(features\.0\.type/,
  );
});

test('scored batches are the paths with a lineage manifest; a missing manifest reads as undefined', async () => {
  const store = openStore(await mkdtemp(join(tmpdir(), 'mltk-stored-')));
  const lineage = {
    kind: 'mltk.predictions',
    scored_at: '2026-01-02T00:00:00.000Z',
    source: 's3://d/incoming/a.csv',
    input_key: 'incoming/a.csv',
    status: 'scored',
    rows: 10,
    scored: 9,
    errors: 1,
    input: { sha256: 'b'.repeat(64), bytes: 100 },
    model: { name: 'm', version: 1, sha256: 'c'.repeat(64) },
  };
  await store.put('predictions/a.csv/manifest.json', JSON.stringify(lineage));
  await store.put('predictions/a.csv/predictions.csv', 'id,p\n');
  await store.put('predictions/a.csv/errors.csv', 'row,field,reason\n');
  assert.deepEqual(await listScoredBatchPaths(store), ['a.csv']);
  assert.deepEqual(await readLineage(store, 'a.csv'), lineage);
  assert.equal(await readLineage(store, 'b.csv'), undefined);
});
