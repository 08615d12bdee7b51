// The quality section of the reports: estimated quality in every drift report (no labels needed), and
// the realized-quality page of a labels batch — realized vs test by segment, estimated vs realized,
// label defects. Same rules as the drift report: one self-contained page, inline CSS and SVG only.
import type { EstimatedQuality } from './estimate.ts';
import { BASE_COLOUR, CSS, CUR_COLOUR, esc, num, pct } from './html.ts';
import { qualityLevel } from './quality.ts';
import type { QualityReport } from './quality-run.ts';

const ratioText = (r: number | null): string => (r === null ? '–' : `×${r.toFixed(2)}`);
/** A ratio past a threshold reads in the level's colour, in bold. */
const RATIO_CSS = 'td.ratio.warn{color:#9a6700;font-weight:600}td.ratio.alert{color:#cf222e;font-weight:600}';

/** The estimate with its band and its ratio to the test RMSE: a card at the top of the drift report. */
export function estimatedSection(e: EstimatedQuality, title = 'Estimated quality (no labels: loss estimator)'): string {
  return `<section class="summary ${e.level}"><h2><span>${esc(title)}</span><span class="badge ${e.level}">${
    e.level
  }</span></h2>
<table class="stats"><tr><td>RMSE</td><td><b>${num(e.rmse)}</b> (band ${num(e.rmse_low)} – ${num(e.rmse_high)})</td>
</tr>
<tr><td>MAE</td><td>${num(e.mae)} (band ${num(e.mae_low)} – ${num(e.mae_high)})</td></tr>
<tr><td>vs test RMSE</td><td>${e.test_rmse === null ? '–' : `${num(e.test_rmse)}: ${ratioText(e.rmse_ratio)}`}</td></tr>
<tr><td>rows estimated</td><td>${e.rows.toLocaleString('en-GB')}</td></tr></table></section>`;
}

/** Realized vs test RMSE per segment as grouped bars (test grey, realized blue). */
function segmentChart(report: QualityReport): string {
  const bands = Object.entries(report.by_band ?? {});
  if (bands.length === 0) return '';
  const max = Math.max(...bands.flatMap(([, m]) => [m.rmse, m.test_rmse ?? 0])) || 1;
  const W = 500,
    H = 170,
    top = 8,
    bottom = 24,
    left = 40,
    right = 10;
  const plotH = H - top - bottom,
    slot = (W - left - right) / bands.length,
    bar = Math.max(2, Math.min(18, slot / 2 - 2));
  const y = (v: number) => top + plotH - (v / max) * plotH;
  const parts = [0, 0.5, 1].map(
    (t) =>
      `<line x1="${left}" x2="${W - right}" y1="${y(t * max)}" y2="${y(t * max)}" stroke="#eaeef2"/><text ` +
      `x="${left - 4}" y="${y(t * max) + 4}" text-anchor="end" font-size="10" ` +
      `fill="#57606a">${num(t * max, 2)}</text>`,
  );
  bands.forEach(([band, m], i) => {
    const cx = left + slot * i + slot / 2;
    if (m.test_rmse !== null)
      parts.push(
        `<rect x="${cx - bar}" y="${y(m.test_rmse)}" width="${bar}" height="${top + plotH - y(m.test_rmse)}" ` +
          `fill="${BASE_COLOUR}"><title>${esc(band)} test RMSE ${num(m.test_rmse)}</title></rect>`,
      );
    parts.push(
      `<rect x="${cx}" y="${y(m.rmse)}" width="${bar}" height="${top + plotH - y(m.rmse)}" ` +
        `fill="${CUR_COLOUR}"><title>${esc(band)} realized RMSE ${num(m.rmse)} (${m.rows} rows)</title></rect>`,
    );
    parts.push(`<text x="${cx}" y="${H - 8}" text-anchor="middle" font-size="10" fill="#57606a">${esc(band)}</text>`);
  });
  return (
    `<div class="legend"><i style="background:${BASE_COLOUR}"></i>test<i ` +
    `style="background:${CUR_COLOUR}"></i>realized</div><svg viewBox="0 0 ${W} ${H}" width="100%" ` +
    `style="max-width:${W + 100}px" role="img" aria-label="RMSE by segment">${parts.join('')}</svg>`
  );
}

/** The thresholds a level was judged by, in words. */
function thresholdsText(t: QualityReport['thresholds']): string {
  return t
    ? `level from RMSE / test RMSE: warn ≥ ×${t.rmse_ratio_warn}, alert ≥ ×${t.rmse_ratio_alert}`
    : 'no quality thresholds in this version: level unknown';
}

function realizedSection(report: QualityReport): string {
  const r = report.realized,
    t = report.test;
  // Each row's ratio is judged by the version's thresholds: a band can be off while the whole batch is not.
  const ratioCell = (ratio: number | null) => {
    const level = qualityLevel(ratio, report.thresholds ?? undefined);
    return `<td class="n ratio ${level}">${ratioText(ratio)}</td>`;
  };
  const row = (
    name: string,
    m: { rows: number; rmse: number; mae: number; bias: number },
    test: number | null,
    ratio: number | null,
  ) =>
    `<tr><td>${esc(name)}</td><td class="n">${m.rows.toLocaleString('en-GB')}</td>` +
    `<td class="n">${num(m.rmse)}</td><td class="n">${num(test)}</td>${ratioCell(ratio)}` +
    `<td class="n">${num(m.mae)}</td><td class="n">${num(m.bias)}</td></tr>`;
  const bands = Object.entries(report.by_band ?? {}).map(([band, m]) => row(band, m, m.test_rmse, m.rmse_ratio));
  const seg = report.segment
    ? `by ${esc(report.segment.name)} (${esc(report.segment.column)})`
    : "no segment breakdown (the batch's input was not available)";
  const head = ['labelled', 'RMSE', 'test RMSE', 'ratio', 'MAE', 'bias'].map((h) => `<th>${h}</th>`).join('');
  const thresholds = esc(thresholdsText(report.thresholds));
  return `<section class="summary ${report.level}">
<h2><span>Realized vs test</span><span class="badge ${report.level}">${report.level}</span></h2>
<table><tr><th>${report.segment ? esc(report.segment.name) : 'rows'}</th>${head}</tr>
${row('all', r, t.rmse, report.ratio.rmse)}${bands.join('')}</table>
<p class="legend">R² ${num(r.r2)} · test MAE ${num(t.mae)} · ${seg} · ${thresholds}</p>
${segmentChart(report)}</section>`;
}

function estimateVsRealized(report: QualityReport): string {
  const e = report.estimated;
  if (!e) {
    const why = report.sources.input ? 'this version has no loss estimator' : "the batch's input was not available";
    return `<section class="summary unknown"><h2><span>Estimated vs realized</span></h2>
<p class="legend">No estimate: ${why}.</p></section>`;
  }
  const inBand = report.realized.rmse >= e.rmse_low && report.realized.rmse <= e.rmse_high;
  const realized = report.realized;
  const line = (name: string, est: number, low: number, high: number, real: number) =>
    `<tr><td>${name}</td><td class="n">${num(est)}</td><td class="n">${num(low)} – ${num(high)}</td>` +
    `<td class="n">${num(real)}</td><td class="n">${ratioText(est / real)}</td></tr>`;
  return `<section class="summary ${inBand ? 'ok' : 'warn'}">
<h2><span>Estimated vs realized (same ${e.rows.toLocaleString('en-GB')} rows)</span>
<span class="badge ${inBand ? 'ok' : 'warn'}">${inBand ? 'in band' : 'outside band'}</span></h2>
<table><tr><th></th><th>estimated</th><th>band</th><th>realized</th><th>estimate / realized</th></tr>
${line('RMSE', e.rmse, e.rmse_low, e.rmse_high, realized.rmse)}
${line('MAE', e.mae, e.mae_low, e.mae_high, realized.mae)}</table></section>`;
}

function labelSection(report: QualityReport): string {
  const l = report.labels;
  const rows: [string, string][] = [
    ['label rows', l.rows.toLocaleString('en-GB')],
    ['joined', l.joined.toLocaleString('en-GB')],
    ['coverage of the batch', pct(l.coverage)],
    [
      'ids not in the predictions',
      `${l.unmatched}${l.refused === null ? '' : ` (${l.unknown} unknown, ${l.refused} refused at scoring)`}`,
    ],
    [
      'ids scored more than once (not joined)',
      `${l.ambiguous}${
        report.predictions.ambiguous
          ? ` (${report.predictions.ambiguous} of ${report.predictions.rows} predictions share an id)`
          : ''
      }`,
    ],
    ['duplicate ids', String(l.duplicates)],
    ['labels that are not numbers', String(l.non_numeric)],
    ['rows without id or label', String(l.missing)],
  ];
  const body = rows.map(([k, v]) => `<tr><td>${k}</td><td>${v}</td></tr>`).join('');
  return `<section class="summary"><h2><span>Labels</span></h2><table class="stats">${body}</table></section>`;
}

export function renderQualityReport(report: QualityReport): string {
  const title = `Quality report: ${report.model.name} v${report.model.version}`;
  const s = report.sources;
  const labelled = `${report.labels.joined.toLocaleString('en-GB')}</b> (${pct(report.labels.coverage)})`;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>${CSS}${RATIO_CSS}</style></head><body>
<header><h1>${esc(title)} <span class="badge ${report.level}">${report.level}</span></h1>
<div class="meta"><span>predictions <b>${esc(s.predictions)}</b></span>
<span>labels <b>${esc(s.labels)}</b></span>${s.input ? `\n<span>input <b>${esc(s.input)}</b></span>` : ''}
<span>labelled <b>${labelled}</span><span>generated <b>${esc(report.generated_at)}</b></span></div></header>
<main>${realizedSection(report)}${estimateVsRealized(report)}${labelSection(report)}</main></body></html>`;
}
