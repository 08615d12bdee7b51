import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBaselineProfile } from './profile.ts';
import { monitorBatch } from './report.ts';
import { renderReport } from './html.ts';
import { normals, sampleFeatures, sampleTable } from './testdata.ts';

import { chromiumMissing, screenshot } from '../testing/chromium.ts';

async function driftedPage(): Promise<string> {
  const baseline = buildBaselineProfile(sampleTable(5000, 1, { missingX: 0.02 }), sampleFeatures, normals(5000, 2));
  const report = await monitorBatch({
    model: { name: 'sap_change', version: 4 },
    features: sampleFeatures,
    baseline,
    thresholds: { psi_warn: 0.1, psi_alert: 0.25, drift_share: 0.3 },
    chunks: [sampleTable(3000, 5, { shift: 0.8, extraColour: '<script>alert(1)</script>', missingX: 0.1 })],
    source: 's3://preds/2026/01/batch.csv',
    predict: (t) => normals(t.rows, 9, 0.3),
  });
  return renderReport(report, baseline);
}

test('the report is one self-contained page: no scripts, no external resources, names escaped', async () => {
  const html = await driftedPage();
  assert.match(html, /^<!doctype html>/);
  assert.doesNotMatch(html, /<script|src=|href=|@import|url\(/i);
  assert.match(html, /&#60;script&#62;/);
  assert.match(html, /sap_change v4/);
  assert.ok(html.indexOf('<h2><span>x ') < html.indexOf('<h2><span>flag '), 'drifted features come first');
  assert.equal((html.match(/<svg /g) ?? []).length, 4);
});

test('the report renders in headless Chromium', {
  skip: chromiumMissing(),
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mltk-report-'));
  try {
    const page = join(dir, 'report.html');
    const png = join(dir, 'report.png');
    writeFileSync(page, await driftedPage());
    const stderr = screenshot(page, png, join(dir, 'profile'), 1200, 2000);
    assert.ok(existsSync(png), `no screenshot: ${stderr}`);
    assert.ok(statSync(png).size > 20_000, `screenshot only ${statSync(png).size} bytes`);
    const head = readFileSync(png).subarray(0, 24);
    assert.equal(head.subarray(1, 4).toString(), 'PNG');
    assert.equal(head.readUInt32BE(16), 1200);
    if (process.env.MLTK_KEEP_REPORT) writeFileSync(process.env.MLTK_KEEP_REPORT, readFileSync(png));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('numeric bin labels are drawn whole under the chart, however long the edge values', async () => {
  const big = {
    name: 'price',
    type: 'numeric' as const,
    count: 30,
    missing: 0,
    missing_rate: 0,
    min: 1,
    max: 9e6,
    edges: [1_250_000.5, 3_500_000.4],
    bin_counts: [10, 10, 10],
    sample: [1, 2e6, 9e6],
  };
  const baseline = {
    format: 'mltk.baseline/1' as const,
    source: 'training' as const,
    rows: 30,
    features: [big],
    prediction: null,
  };
  const report = await monitorBatch({
    model: { name: 'demo', version: 1 },
    features: [{ name: 'price', type: 'numeric', nullable: false }],
    baseline,
    thresholds: { psi_warn: 0.1, psi_alert: 0.25, drift_share: 0.3 },
    chunks: [{ rows: 2, columns: new Map([['price', { kind: 'numeric', values: Float64Array.of(5, 2e6) }]]) }],
    source: 'b.csv',
  });
  const html = renderReport(report, baseline);
  assert.match(html, />1250000\.5 – 3500000\.4<\/text>/);
  assert.doesNotMatch(html, /…/);
});
