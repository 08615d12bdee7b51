import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildBaselineProfile, capSorted, parseBaselineProfile, profileFromReference, SAMPLE_CAP } from './profile.ts';
import { normals, sampleFeatures, sampleTable } from './testdata.ts';

test('a baseline profile survives a JSON round trip through its schema', () => {
  const table = sampleTable(5000, 1, { missingX: 0.05 });
  const profile = buildBaselineProfile(table, sampleFeatures, normals(5000, 9));
  const parsed = parseBaselineProfile(JSON.stringify(profile), 'models/x/1/baseline.json');
  assert.deepEqual(parsed, profile);
  const x = parsed.features.find((f) => f.name === 'x')!;
  assert.equal(x.type, 'numeric');
  if (x.type !== 'numeric') return;
  assert.equal(x.edges.length, 9);
  assert.equal(x.bin_counts.reduce((a, b) => a + b, 0) + x.missing, 5000);
  assert.ok(Math.abs(x.missing_rate - 0.05) < 0.01);
  const colour = parsed.features.find((f) => f.name === 'colour')!;
  assert.deepEqual(colour.type === 'categorical' && colour.categories, ['red', 'green', 'blue']);
  assert.equal(parsed.prediction?.count, 5000);
  assert.equal(parsed.source, 'training');
});

test('the reference sample is capped by evenly spaced order statistics, deterministically', () => {
  const sorted = normals(100_000, 3).sort();
  const a = capSorted(sorted);
  assert.equal(a.length, SAMPLE_CAP);
  assert.deepEqual(a, capSorted(sorted));
  assert.ok(Math.abs(a[SAMPLE_CAP / 2]! - sorted[50_000]!) < 1e-3);
});

test('a profile from a reference file needs no predictions', () => {
  const p = profileFromReference(sampleTable(300, 2), sampleFeatures);
  assert.equal(p.prediction, null);
  assert.equal(p.source, 'reference');
});

test('malformed profiles are refused with the source and the field named', () => {
  assert.throws(
    () => parseBaselineProfile('{not json', 's3://b/models/m/2/baseline.json'),
    /s3:\/\/b\/models\/m\/2\/baseline.json: baseline profile is not valid JSON/,
  );
  const good = buildBaselineProfile(sampleTable(100, 1), sampleFeatures, normals(100, 2));
  const broken = JSON.parse(JSON.stringify(good));
  broken.features[0].bin_counts.pop();
  assert.throws(
    () => parseBaselineProfile(broken, 'baseline.json'),
    /baseline.json: invalid baseline profile: features.0.bin_counts: bin_counts must have one more entry than edges/,
  );
  assert.throws(
    () => parseBaselineProfile({ ...good, format: 'other' }, 'b.json'),
    /b.json: invalid baseline profile: format/,
  );
});

test('zero rows or a missing column cannot make a baseline', () => {
  assert.throws(
    () => profileFromReference(sampleTable(0, 1), sampleFeatures, null, 'ref.csv'),
    /ref.csv: cannot build a baseline profile from zero rows/,
  );
  const t = sampleTable(10, 1);
  t.columns.delete('colour');
  assert.throws(() => profileFromReference(t, sampleFeatures, null, 'ref.csv'), /ref.csv: no column "colour"/);
});
