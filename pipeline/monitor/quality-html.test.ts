// The quality report page (mltk quality --report, monitoring/<path>/quality.html) from a real run: a
// version registered with its test metrics by band and loss estimator, a batch the batch scorer scored,
// its labels; the page shows realized vs test for every band judged by the version's thresholds, the
// estimate for the same rows against the realized error, and the label counts — self-contained, escaped.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModelVersion, scoreFile } from '../predict/index.ts';
import { synthCsv } from '../predict/testdata.ts';
import { locateObject, openStore } from '../store/index.ts';
import { esc, num } from './html.ts';
import { renderQualityReport } from './quality-html.ts';
import { runQuality, type QualityReport } from './quality-run.ts';
import { qualityLevel } from './quality.ts';
import { chromiumMissing, screenshot } from '../testing/chromium.ts';
import { registerMonitoredModel, shiftSap, uniqueIds, withRefusedRows } from './testmodel.ts';

/** A labels file name a page must show as text. */
const PLANTED = '<img src=x onerror=alert(1)>.csv';

let dir: string;
let report: QualityReport;
let noInput: QualityReport;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mltk-quality-html-'));
  const store = openStore(join(dir, 'store'));
  const { mv } = await registerMonitoredModel(store, 'prod', { quality: true });
  // Homes whose current SAP is recorded 20 points lower than it is: the model errs, more in some bands.
  const truth = withRefusedRows(uniqueIds(await synthCsv(1500, 71))).csv;
  await writeFile(join(dir, 'input.csv'), shiftSap(truth, -20));
  const model = await loadModelVersion(store, mv);
  try {
    await scoreFile(model, { input: join(dir, 'input.csv'), output: join(dir, 'preds.csv') });
  } finally {
    model.retire();
  }
  const [head, ...rows] = truth.trimEnd().split('\n');
  const y = head!.split(',').indexOf('sap_change');
  await writeFile(
    join(dir, PLANTED),
    `home_id,sap_change\n${rows.map((l) => `${l.split(',')[0]},${l.split(',')[y]}`).join('\n')}\n`,
  );
  const run = { store, model: 'sap_change@1', predictions: locateObject(join(dir, 'preds.csv')) };
  report = await runQuality({
    ...run,
    labels: locateObject(join(dir, PLANTED)),
    input: locateObject(join(dir, 'input.csv')),
  });
  noInput = await runQuality({ ...run, labels: locateObject(join(dir, PLANTED)) });
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('realized vs test: every band a row with its RMSE, the test RMSE and the ratio judged by the thresholds', () => {
  const html = renderQualityReport(report);
  assert.match(html, /^<!doctype html>/);
  assert.doesNotMatch(html, /<(script|img|link|iframe|object|embed)\b|\b(src|href)="|@import|url\(/i, 'self-contained');
  const t = report.thresholds!;
  assert.ok(html.includes(`warn ≥ ×${t.rmse_ratio_warn}, alert ≥ ×${t.rmse_ratio_alert}`), 'the thresholds are named');
  const rowOf = (label: string) => {
    const m = new RegExp(`<tr><td>${label}</td>(.*?)</tr>`).exec(html);
    assert.ok(m, `a row for ${label}`);
    return m[1]!;
  };
  const bands = Object.entries(report.by_band!);
  assert.ok(bands.length >= 4, `${bands.length} bands`);
  const levels = new Set<string>();
  for (const [band, m] of [
    ['all', { ...report.realized, test_rmse: report.test.rmse, rmse_ratio: report.ratio.rmse }],
    ...bands,
  ] as const) {
    const cells = rowOf(band);
    assert.ok(cells.includes(`>${num(m.rmse)}<`) && cells.includes(`>${num(m.test_rmse)}<`), `${band}: ${cells}`);
    const level = qualityLevel(m.rmse_ratio, t);
    levels.add(level);
    assert.match(cells, new RegExp(`<td class="n ratio ${level}">`), `${band} is ${level}`);
  }
  assert.ok(levels.has('alert'), 'the shifted batch puts some band past rmse_ratio_alert');
  assert.equal(
    (html.match(/<rect /g) ?? []).length,
    bands.length + bands.filter(([, m]) => m.test_rmse !== null).length,
  );
});

test('estimated vs realized for the same rows, with the band and whether the realized error fell in it', () => {
  const html = renderQualityReport(report);
  const e = report.estimated!;
  assert.equal(e.rows, report.realized.rows);
  assert.match(html, new RegExp(`Estimated vs realized \\(same ${e.rows.toLocaleString('en-GB')} rows\\)`));
  const inBand = report.realized.rmse >= e.rmse_low && report.realized.rmse <= e.rmse_high;
  assert.match(html, inBand ? /badge ok">in band/ : /badge warn">outside band/);
  assert.ok(
    html.includes(
      `<td class="n">${num(e.rmse_low)} – ${num(e.rmse_high)}</td><td class="n">${num(report.realized.rmse)}</td>`,
    ),
  );
});

test('without the input: no estimate and no band breakdown, each saying why; label counts and names as text', () => {
  const html = renderQualityReport(noInput);
  assert.match(html, /No estimate: the batch's input was not available/);
  assert.match(html, /no segment breakdown \(the batch's input was not available\)/);
  assert.ok(html.includes(esc(join(dir, PLANTED))), 'the labels source, escaped');
  assert.ok(!html.includes(PLANTED), 'never as markup');
  assert.match(html, new RegExp(`<tr><td>joined</td><td>${noInput.labels.joined.toLocaleString('en-GB')}</td></tr>`));
});

test('the quality report renders in headless Chromium', {
  skip: chromiumMissing(),
}, async () => {
  const page = join(dir, 'quality.html');
  const png = join(dir, 'quality.png');
  await writeFile(page, renderQualityReport(report));
  const stderr = screenshot(page, png, join(dir, 'profile'), 1200, 1200);
  assert.ok(existsSync(png), `no screenshot: ${stderr}`);
  assert.ok(statSync(png).size > 20_000, `screenshot only ${statSync(png).size} bytes`);
  assert.equal(readFileSync(png).subarray(1, 4).toString(), 'PNG');
});
