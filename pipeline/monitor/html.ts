// The drift report as one self-contained HTML page: inline CSS and SVG bar charts, no scripts,
// no external resources, so it opens from an S3 console download or an email attachment alike.
import type { BaselineProfile } from './profile.ts';
import { estimatedSection } from './quality-html.ts';
import type { DriftReport, FeatureDrift } from './report.ts';

export const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
export const num = (x: number | null, digits = 3): string =>
  x === null || !Number.isFinite(x)
    ? '–'
    : Math.abs(x) > 0 && Math.abs(x) < 1e-3
      ? x.toExponential(2)
      : x.toFixed(digits);
export const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

export const CSS = `
body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1f2328;background:#f6f8fa}
header{background:#fff;border-bottom:1px solid #d0d7de;padding:16px 24px}
h1{font-size:20px;margin:0 0 8px}
.meta{display:flex;flex-wrap:wrap;gap:8px 24px;color:#57606a}
.meta b{color:#1f2328}
main{padding:16px 24px;display:grid;grid-template-columns:repeat(auto-fill,minmax(540px,1fr));gap:16px}
section{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:12px 16px;border-left-width:6px}
section.alert{border-left-color:#cf222e}section.warn{border-left-color:#bf8700}section.ok{border-left-color:#1a7f37}
h2{font-size:16px;margin:0 0 4px;display:flex;justify-content:space-between;align-items:center}
.badge{font-size:12px;padding:2px 8px;border-radius:10px;color:#fff;text-transform:uppercase}
.badge.alert{background:#cf222e}.badge.warn{background:#bf8700}.badge.ok{background:#1a7f37}
table.stats{border-collapse:collapse;margin:4px 0 8px;font-size:13px}
table.stats td{padding:1px 12px 1px 0}table.stats td:first-child{color:#57606a}
.legend{font-size:12px;color:#57606a}.legend i{display:inline-block;width:10px;height:10px;margin:0 4px 0 10px;
vertical-align:-1px}
.summary{grid-column:1/-1}
.summary table{border-collapse:collapse;width:100%;font-size:13px}
.summary th,.summary td{text-align:left;padding:3px 8px;border-bottom:1px solid #eaeef2}
.summary td.n{text-align:right;font-variant-numeric:tabular-nums}
.badge.unknown{background:#8c959f}section.unknown{border-left-color:#8c959f}
`;

const MAX_CATEGORY_LABEL = 18;
/** Vertical extent per character of a 10px label rotated 35° (≈ 5.5px advance × sin 35°). */
const LABEL_DROP_PER_CHAR = 3.2;
/** Horizontal extent per character of the same label (≈ 5.5px × cos 35°). */
const LABEL_RUN_PER_CHAR = 4.5;
export const BASE_COLOUR = '#8c959f';
export const CUR_COLOUR = '#0969da';

/**
 * Grouped bars: baseline vs current share of each bucket. Presentation attributes only (no style
 * attributes), so a page with a strict Content-Security-Policy (the UI's) can inline it too.
 */
export function distributionChart(f: Pick<FeatureDrift, 'name' | 'type' | 'distribution'>): string {
  const { buckets, baseline, current } = f.distribution;
  const tb = baseline.reduce((a, b) => a + b, 0) || 1;
  const tc = current.reduce((a, b) => a + b, 0) || 1;
  const shares = buckets.map((_, i) => [baseline[i]! / tb, current[i]! / tc] as const);
  const maxShare = Math.max(0.01, ...shares.flat());
  // Numeric bin labels are edge values and are drawn whole; only category names (free text) are shortened.
  const labels = buckets.map((b) =>
    f.type !== 'numeric' && b.length > MAX_CATEGORY_LABEL ? `${b.slice(0, MAX_CATEGORY_LABEL - 1)}…` : b,
  );
  const longest = Math.max(0, ...labels.map((l) => l.length));
  const W = 500,
    top = 8,
    left = 40;
  // The last label runs right from its bar: keep room for it inside the picture.
  const right = Math.max(24, Math.ceil(LABEL_RUN_PER_CHAR * (labels.at(-1)?.length ?? 0)) - 10);
  const bottom = Math.max(62, 14 + Math.ceil(LABEL_DROP_PER_CHAR * longest));
  const H = 108 + bottom;
  const plotH = H - top - bottom;
  const slot = (W - left - right) / buckets.length;
  const bar = Math.max(2, Math.min(18, slot / 2 - 2));
  const y = (s: number) => top + plotH - (s / maxShare) * plotH;
  const parts: string[] = [];
  for (const t of [0, 0.5, 1]) {
    const yy = y(t * maxShare);
    parts.push(
      `<line x1="${left}" x2="${W - right}" y1="${yy}" y2="${yy}" stroke="#eaeef2"/><text x="${left - 4}" ` +
        `y="${yy + 4}" text-anchor="end" font-size="10" fill="#57606a">${pct(t * maxShare)}</text>`,
    );
  }
  buckets.forEach((label, i) => {
    const cx = left + slot * i + slot / 2;
    const [b, c] = shares[i]!;
    parts.push(
      `<rect x="${cx - bar}" y="${y(b)}" width="${bar}" height="${top + plotH - y(b)}" ` +
        `fill="${BASE_COLOUR}"><title>baseline ${esc(label)}: ${pct(b)}</title></rect>`,
    );
    parts.push(
      `<rect x="${cx}" y="${y(c)}" width="${bar}" height="${top + plotH - y(c)}" fill="${CUR_COLOUR}"><title>current ` +
        `${esc(label)}: ${pct(c)}</title></rect>`,
    );
    parts.push(
      `<text transform="translate(${cx},${top + plotH + 10}) rotate(35)" font-size="10" ` +
        `fill="#57606a">${esc(labels[i]!)}</text>`,
    );
  });
  return (
    `<svg viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="${esc(f.name)} ` +
    `distribution">${parts.join('')}</svg>`
  );
}

function statsTable(f: FeatureDrift): string {
  const rows: [string, string][] = [
    ['PSI', num(f.psi)],
    ['JS distance', num(f.js_distance)],
    ['KS D / p-value', f.ks_statistic === null ? '–' : `${num(f.ks_statistic)} / ${num(f.ks_pvalue)}`],
    ['missing (baseline → now)', `${pct(f.baseline_missing_rate)} → ${pct(f.missing_rate)}`],
    [f.type === 'numeric' ? 'out of range' : 'not in list', f.out_of_range === null ? '–' : String(f.out_of_range)],
  ];
  if (f.unseen !== null)
    rows.push(['unseen categories', f.unseen ? `${f.unseen} (${esc((f.unseen_categories ?? []).join(', '))})` : '0']);
  return `<table class="stats">${rows.map(([k, v]) => `<tr><td>${k}</td><td>${v}</td></tr>`).join('')}</table>`;
}

const kind = (f: FeatureDrift): string => (f.derived ? `${f.type}, derived` : f.type);

function card(f: FeatureDrift, title = f.name): string {
  const heading =
    `<h2><span>${esc(title)} <small style="color:#57606a;font-weight:normal">${kind(f)}</small></span>` +
    `<span class="badge ${f.level}">${f.level}</span></h2>`;
  const legend =
    `<div class="legend"><i style="background:${BASE_COLOUR}"></i>baseline` +
    `<i style="background:${CUR_COLOUR}"></i>current</div>`;
  return `<section class="${f.level}">${heading}
${statsTable(f)}${legend}${distributionChart(f)}</section>`;
}

function summary(report: DriftReport): string {
  const rows = report.features.map(
    (f) =>
      `<tr><td>${esc(f.name)}</td><td>${kind(f)}</td><td class="n">${num(f.psi)}</td><td ` +
      `class="n">${num(f.ks_statistic)}</td><td class="n">${num(f.js_distance)}</td><td ` +
      `class="n">${pct(f.missing_rate)}</td><td><span class="badge ${f.level}">${f.level}</span></td></tr>`,
  );
  return (
    `<section class="summary ` +
    `${report.level}"><h2>Features</h2><table><tr><th>feature</th><th>type</th><th>PSI</th><th>KS ` +
    `D</th><th>JS</th><th>missing</th><th>level</th></tr>${rows.join('')}</table></section>`
  );
}

/** Drifted features first, then the prediction, then the rest (the report already sorts features by PSI). */
function cards(report: DriftReport): string {
  const drifted = report.features.filter((f) => f.drifted),
    rest = report.features.filter((f) => !f.drifted);
  return [
    ...drifted.map((f) => card(f)),
    report.prediction ? card(report.prediction, 'prediction') : '',
    ...rest.map((f) => card(f)),
  ].join('\n');
}

export function renderReport(report: DriftReport, baseline: BaselineProfile): string {
  const t = report.thresholds;
  const title = `Drift report: ${report.model.name} v${report.model.version}`;
  const badge = report.dataset_drift ? 'dataset drift' : report.level;
  const drifted = `${report.drifted_features.length}/${report.features.length}`;
  const estimated = report.estimated ? estimatedSection(report.estimated) : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>${CSS}</style></head><body>
<header><h1>${esc(title)} <span class="badge ${report.level}">${badge}</span></h1>
<div class="meta"><span>input <b>${esc(report.input)}</b></span>
<span>rows <b>${report.rows.toLocaleString('en-GB')}</b></span>
<span>drift share <b>${pct(report.drift_share)}</b> (${drifted}; dataset drift at ≥ ${pct(t.drift_share)})</span>
<span>PSI warn/alert <b>${t.psi_warn} / ${t.psi_alert}</b></span>
<span>baseline <b>${baseline.source}, ${baseline.rows.toLocaleString('en-GB')} rows</b></span>
<span>generated <b>${esc(report.generated_at)}</b></span></div></header>
<main>${estimated}${summary(report)}${cards(report)}</main></body></html>`;
}
