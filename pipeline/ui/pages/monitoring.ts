// Monitoring: per model, drift over time from the stored drift reports (drift share, prediction
// PSI, a PSI heatmap of features × batches), quality over time (quality.ts) and each batch's page:
// its lineage, its quality and its drift report.
import { NotFoundError } from '../../errors/index.ts';
import {
  BASE_COLOUR,
  CUR_COLOUR,
  distributionChart,
  type StoredDriftReport,
  type StoredFeatureDrift,
} from '../../monitor/index.ts';
import { html, num, pct, shortHash, trusted, type Html } from '../html.ts';
import { batchSlug, paths } from '../paths.ts';
import { heatmap, lineChart, type Series } from '../svg.ts';
import { batchModel, batchTime, type Batch } from '../view.ts';
import { dataTable, facts, status, time, to, versionLink, type Page, type PageContext } from './common.ts';
import { batchQualitySection, qualitySection } from './quality.ts';

/** Batches in the heatmap (the newest); the table below it lists every batch. */
const HEATMAP_BATCHES = 60;

const reported = (b: Batch): b is Batch & { report: StoredDriftReport } => b.report !== undefined;
const epoch = (b: Batch): number => Date.parse(batchTime(b));

async function modelBatches(ctx: PageContext, model: string): Promise<Batch[]> {
  return (await ctx.view.batches())
    .filter((b) => batchModel(b)?.name === model)
    .sort((a, b) => batchTime(a).localeCompare(batchTime(b)));
}

/** One series per model version, so a promotion shows as a new line. */
function perVersion(
  batches: (Batch & { report: StoredDriftReport })[],
  value: (r: StoredDriftReport) => number | null,
  what: string,
): Series[] {
  const versions = [...new Set(batches.map((b) => String(b.report.model.version)))];
  return versions.map((v) => ({
    label: `v${v}`,
    points: batches
      .filter((b) => String(b.report.model.version) === v)
      .flatMap((b) => {
        const y = value(b.report);
        return y === null ? [] : [{ x: epoch(b), y, title: `${b.path} (v${v}): ${what} ${num(y)}` }];
      }),
  }));
}

function driftCharts(batches: Batch[]): Html {
  const withReports = batches.filter(reported).filter((b) => Number.isFinite(epoch(b)));
  if (withReports.length === 0) return html`<p class="empty">No drift reports for these batches yet.</p>`;
  const t = withReports.at(-1)!.report.thresholds;
  const recent = withReports.slice(-HEATMAP_BATCHES);
  const maxPsi = new Map<string, number>();
  for (const b of recent)
    for (const f of b.report.features) maxPsi.set(f.name, Math.max(maxPsi.get(f.name) ?? 0, f.psi ?? 0));
  const features = [...maxPsi.keys()].sort((a, b) => maxPsi.get(b)! - maxPsi.get(a)! || a.localeCompare(b));
  const rows = [...features, ...(recent.some((b) => b.report.prediction) ? ['(prediction)'] : [])];
  const psiOf = (r: StoredDriftReport, name: string) =>
    (name === '(prediction)' ? r.prediction : r.features.find((f) => f.name === name))?.psi ?? null;
  return html`<div class="grid">
${lineChart({
  title: 'Share of drifted features per batch',
  xLabel: 'scored at',
  xTime: true,
  yFromZero: true,
  markers: true,
  series: perVersion(withReports, (r) => r.drift_share, 'drift share'),
  thresholds: [{ y: t.drift_share, label: `dataset drift ${pct(t.drift_share)}`, level: 'alert' }],
})}
${lineChart({
  title: 'Prediction PSI per batch',
  xLabel: 'scored at',
  xTime: true,
  yFromZero: true,
  markers: true,
  series: perVersion(withReports, (r) => r.prediction?.psi ?? null, 'prediction PSI'),
  thresholds: [
    { y: t.psi_warn, label: `warn ${t.psi_warn}`, level: 'warn' },
    { y: t.psi_alert, label: `alert ${t.psi_alert}`, level: 'alert' },
  ],
})}
</div>
${heatmap({
  title: `PSI per feature and batch (${
    recent.length === withReports.length ? 'all' : `newest ${recent.length} of ${withReports.length}`
  } batches, oldest left; features by highest PSI)`,
  rows,
  columns: recent.map((b) => ({ at: epoch(b), title: `${b.path} (v${b.report.model.version}, ${batchTime(b)})` })),
  values: rows.map((name) => recent.map((b) => psiOf(b.report, name))),
  warn: t.psi_warn,
  alert: t.psi_alert,
})}`;
}

function batchesTable(ctx: PageContext, batches: Batch[]): Html {
  const version = (b: Batch) => batchModel(b)?.version;
  return dataTable<Batch>(
    'batches',
    'Batches',
    [
      { label: 'Batch', header: true, cell: (b) => to(ctx, paths.batch(b.path), b.path), sortValue: (b) => b.path },
      { label: 'Scored at', cell: (b) => time(batchTime(b)), sortValue: (b) => batchTime(b) },
      {
        label: 'Version',
        numeric: true,
        cell: (b) => {
          const m = batchModel(b);
          return m && typeof m.version === 'number'
            ? versionLink(ctx, m.name, m.version, `v${m.version}`)
            : String(m?.version ?? '–');
        },
        sortValue: (b) => Number(version(b)),
      },
      {
        label: 'Rows',
        numeric: true,
        cell: (b) => num(b.report?.rows ?? (b.lineage?.status === 'scored' ? b.lineage.rows : null)),
        sortValue: (b) => b.report?.rows ?? null,
      },
      {
        label: 'Drift share',
        numeric: true,
        cell: (b) => pct(b.report?.drift_share),
        sortValue: (b) => b.report?.drift_share ?? null,
      },
      {
        label: 'Prediction PSI',
        numeric: true,
        cell: (b) => num(b.report?.prediction?.psi),
        sortValue: (b) => b.report?.prediction?.psi ?? null,
      },
      {
        label: 'Level',
        cell: (b) =>
          b.report ? status(b.report.level) : b.lineage?.status === 'rejected' ? status('rejected') : 'not monitored',
      },
      {
        label: 'Problems',
        cell: (b) => (b.problems.length ? html`<span class="problem">${b.problems.join('; ')}</span>` : ''),
      },
    ],
    [...batches].reverse(),
    { filter: true },
  );
}

export async function modelMonitoringPage(ctx: PageContext, model: string): Promise<Page> {
  if (!(await ctx.view.modelKnown(model))) throw new NotFoundError(`no model "${model}" in ${ctx.site.storeUrl}`);
  const batches = await modelBatches(ctx, model);
  return {
    title: `Monitoring ${model}`,
    section: 'monitoring',
    crumbs: [
      { label: 'Monitoring', to: paths.monitoring },
      { label: model, to: paths.model(model) },
      { label: 'Monitoring' },
    ],
    body:
      batches.length === 0
        ? html`<p class="empty">No scored batches of ${model} in ${
            ctx.site.predictionsUrl
          } (batch scoring writes predictions/…, the monitor monitoring/…).</p>`
        : html`<p class="lead">${batches.length} scored batch${batches.length === 1 ? '' : 'es'}, ${
            batches.filter(reported).length
          } with a drift report.</p>
<h2>Drift over time</h2>${driftCharts(batches)}
<h2>Quality over time</h2>${await qualitySection(ctx, model, batches)}
<h2>Batches</h2>${batchesTable(ctx, batches)}`,
  };
}

export async function monitoringPage(ctx: PageContext): Promise<Page> {
  const batches = await ctx.view.batches();
  const models = [
    ...new Set([...(await ctx.view.modelNames()), ...batches.flatMap((b) => batchModel(b)?.name ?? [])]),
  ].sort();
  type Row = { model: string; batches: Batch[] };
  const rows: Row[] = models.map((m) => ({
    model: m,
    batches: batches.filter((b) => batchModel(b)?.name === m).sort((a, b) => batchTime(a).localeCompare(batchTime(b))),
  }));
  const last = (r: Row) => r.batches.filter(reported).at(-1);
  const unreadable = batches.filter((b) => !batchModel(b));
  return {
    title: 'Monitoring',
    section: 'monitoring',
    body: html`<p class="lead">Scored batches and their drift reports in ${ctx.site.predictionsUrl}.</p>
${dataTable<Row>(
  'monitored',
  'Models',
  [
    {
      label: 'Model',
      header: true,
      cell: (r) => to(ctx, paths.modelMonitoring(r.model), r.model),
      sortValue: (r) => r.model,
    },
    { label: 'Batches', numeric: true, cell: (r) => r.batches.length, sortValue: (r) => r.batches.length },
    { label: 'With a report', numeric: true, cell: (r) => r.batches.filter(reported).length },
    { label: 'Last scored', cell: (r) => time(r.batches.at(-1) ? batchTime(r.batches.at(-1)!) : null) },
    { label: 'Last drift share', numeric: true, cell: (r) => pct(last(r)?.report.drift_share) },
    {
      label: 'Last level',
      cell: (r) => {
        const b = last(r);
        return b ? status(b.report.level) : '–';
      },
    },
  ],
  rows,
)}
${
  unreadable.length
    ? html`<h2>Unreadable batches</h2><ul>${unreadable.map(
        (b) =>
          html`<li>${to(
            ctx,
            paths.batch(b.path),
            b.path,
          )}: <span class="problem">${b.problems.join('; ') || 'no lineage manifest and no report'}</span></li>`,
      )}</ul>`
    : ''
}`,
  };
}

function featureTable(report: StoredDriftReport): Html {
  const rows = [
    ...report.features,
    ...(report.prediction ? [{ ...report.prediction, name: `(prediction) ${report.prediction.name}` }] : []),
  ];
  return dataTable<StoredFeatureDrift>(
    'features',
    'Features',
    [
      { label: 'feature', header: true, cell: (f) => f.name },
      { label: 'type', cell: (f) => (f.derived ? `${f.type}, derived` : f.type) },
      { label: 'PSI', numeric: true, cell: (f) => num(f.psi), sortValue: (f) => f.psi },
      { label: 'KS D', numeric: true, cell: (f) => num(f.ks_statistic), sortValue: (f) => f.ks_statistic },
      { label: 'KS p', numeric: true, cell: (f) => num(f.ks_pvalue), sortValue: (f) => f.ks_pvalue },
      { label: 'JS', numeric: true, cell: (f) => num(f.js_distance), sortValue: (f) => f.js_distance },
      {
        label: 'missing (baseline → now)',
        numeric: true,
        cell: (f) => `${pct(f.baseline_missing_rate)} → ${pct(f.missing_rate)}`,
        sortValue: (f) => f.missing_rate,
      },
      { label: 'out of range', numeric: true, cell: (f) => num(f.out_of_range), sortValue: (f) => f.out_of_range },
      {
        label: 'unseen categories',
        cell: (f) => (f.unseen ? `${f.unseen}: ${(f.unseen_categories ?? []).join(', ')}` : f.unseen === 0 ? '0' : '–'),
      },
      { label: 'level', cell: (f) => status(f.level), sortValue: (f) => ['ok', 'warn', 'alert'].indexOf(f.level) },
    ],
    rows,
    { filter: rows.length > 12 },
  );
}

function reportSection(report: StoredDriftReport): Html {
  const t = report.thresholds;
  const charts = [...(report.prediction ? [{ ...report.prediction, name: 'prediction' }] : []), ...report.features];
  return html`<h2 id="drift">Drift report</h2>${facts([
    ['Level', html`${status(report.level)}${report.dataset_drift ? ' dataset drift' : ''}`],
    [
      'Drift share',
      `${pct(report.drift_share)} (${report.drifted_features.length} of ${
        report.features.length
      } features; dataset drift at ≥ ${pct(t.drift_share)})`,
    ],
    ['Drifted features', report.drifted_features.length ? report.drifted_features.join(', ') : 'none'],
    ['Rows', num(report.rows)],
    ['PSI warn / alert', `${t.psi_warn} / ${t.psi_alert}`],
    ['Input', html`<code>${report.input}</code>`],
    ['Generated', time(report.generated_at)],
  ])}
${featureTable(report)}
<h3>Baseline vs this batch</h3><ul class="legend"><li><svg width="14" height="14" aria-hidden="true"><rect width="14"
height="14" fill="${BASE_COLOUR}"/></svg>baseline</li><li><svg width="14" height="14" aria-hidden="true"><rect
width="14" height="14" fill="${CUR_COLOUR}"/></svg>this batch</li></ul>
<div class="grid">${charts.map(
    (f) =>
      html`<figure class="chart"><figcaption>${f.name}: PSI ${num(f.psi)} (${
        f.level
      })</figcaption>${trusted(distributionChart(f))}</figure>`,
  )}</div>`;
}

export async function batchPage(ctx: PageContext, slug: string): Promise<Page> {
  const path = (await ctx.view.batchPaths()).find((p) => batchSlug(p) === slug);
  if (path === undefined) throw new NotFoundError(`no scored batch "${slug}" in ${ctx.site.predictionsUrl}`);
  const b = await ctx.view.batch(path);
  const m = batchModel(b);
  const l = b.lineage;
  return {
    title: `Batch ${path}`,
    section: 'monitoring',
    crumbs: [
      { label: 'Monitoring', to: paths.monitoring },
      ...(m ? [{ label: m.name, to: paths.modelMonitoring(m.name) }] : []),
      { label: path },
    ],
    body: html`${b.problems.map((p) => html`<p class="problem">${p}</p>`)}${facts([
      [
        'Model',
        m
          ? typeof m.version === 'number'
            ? versionLink(ctx, m.name, m.version)
            : `${m.name} ${m.version}`
          : 'unknown',
      ],
      ['Scored', l ? html`${time(l.scored_at)} (${l.status})` : 'no lineage manifest'],
      ['Input', l ? html`<code>${l.source}</code>` : null],
      ['Input sha256', l?.status === 'scored' ? shortHash(l.input.sha256) : null],
      [
        'Rows',
        l?.status === 'scored' ? `${num(l.rows)} read, ${num(l.scored)} scored, ${num(l.errors)} refused` : null,
      ],
      ['Refused whole', l?.status === 'rejected' ? l.reason : null],
      ['ONNX', l?.status === 'scored' ? shortHash(l.model.sha256) : null],
    ])}
${batchQualitySection(b)}
${b.report ? reportSection(b.report) : html`<p class="empty">No drift report for this batch yet.</p>`}`,
  };
}
