// Quality over time and per batch: the realized error of the batches whose labels arrived (stored
// quality results), the estimated error of every monitored batch (the drift report's estimate from the
// loss estimator), and the test error of the version that scored each, the yardstick both are read against.
import type { ModelVersion } from '../../registry/index.ts';
import type { StoredQuality } from '../../monitor/index.ts';
import { html, num, pct, type Html } from '../html.ts';
import { paths } from '../paths.ts';
import { lineChart, type Series, type Threshold } from '../svg.ts';
import { batchModel, batchTime, type Batch } from '../view.ts';
import { dataTable, facts, status, time, to, versionColumn, versionLink, type PageContext } from './common.ts';

const epoch = (b: Batch): number => Date.parse(batchTime(b));
const versionOf = (b: Batch): number | undefined => {
  const v = batchModel(b)?.version;
  return typeof v === 'number' ? v : undefined;
};
const estimateOf = (b: Batch) => b.report?.estimated ?? null;

type Point = Series['points'][number];

/** One point per batch that has a value, at the batch's time; the title names the batch. */
function points(batches: Batch[], value: (b: Batch) => number | null | undefined, what: string): Point[] {
  return batches.flatMap((b) => {
    const y = value(b);
    return y === null || y === undefined || !Number.isFinite(epoch(b))
      ? []
      : [{ x: epoch(b), y, title: `${b.path} (v${versionOf(b) ?? '?'}): ${what} ${num(y)}` }];
  });
}

function charts(batches: Batch[], versions: ModelVersion[]): Html {
  const test = new Map(versions.map((v) => [v.version, v.metrics.rmse ?? null]));
  const testSeries: Series[] = versions.map((v) => ({
    label: `test RMSE v${v.version}`,
    points: points(
      batches.filter((b) => versionOf(b) === v.version),
      () => test.get(v.version),
      'test RMSE',
    ),
  }));
  const q = versions.at(-1)?.monitoring.quality;
  const thresholds: Threshold[] = q
    ? [
        { y: q.rmse_ratio_warn, label: `warn ×${q.rmse_ratio_warn}`, level: 'warn' },
        { y: q.rmse_ratio_alert, label: `alert ×${q.rmse_ratio_alert}`, level: 'alert' },
      ]
    : [];
  return html`<div class="grid">
${lineChart({
  title: 'RMSE per batch: realized (labels), estimated (no labels), test',
  xLabel: 'scored at',
  xTime: true,
  yFromZero: true,
  markers: true,
  series: [
    { label: 'realized RMSE', points: points(batches, (b) => b.quality?.realized.rmse, 'realized RMSE') },
    { label: 'estimated RMSE', points: points(batches, (b) => estimateOf(b)?.rmse, 'estimated RMSE') },
    ...testSeries,
  ],
})}
${lineChart({
  title: 'RMSE / test RMSE of the version that scored the batch',
  xLabel: 'scored at',
  xTime: true,
  yFromZero: true,
  markers: true,
  series: [
    { label: 'realized', points: points(batches, (b) => b.quality?.ratio.rmse, 'realized / test') },
    { label: 'estimated', points: points(batches, (b) => estimateOf(b)?.rmse_ratio, 'estimated / test') },
  ],
  thresholds,
})}
</div>`;
}

function labelledTable(ctx: PageContext, batches: Batch[]): Html {
  type Row = Batch & { quality: StoredQuality };
  const rows = batches.filter((b): b is Row => b.quality !== undefined).reverse();
  const q = (r: Row) => r.quality;
  return dataTable<Row>(
    'labelled',
    'Labelled batches',
    [
      { label: 'Batch', header: true, cell: (r) => to(ctx, paths.batch(r.path), r.path), sortValue: (r) => r.path },
      { label: 'Scored at', cell: (r) => time(batchTime(r)), sortValue: (r) => batchTime(r) },
      {
        label: 'Version',
        numeric: true,
        cell: (r) => versionLink(ctx, q(r).model.name, q(r).model.version, `v${q(r).model.version}`),
        sortValue: (r) => q(r).model.version,
      },
      { label: 'Labelled', numeric: true, cell: (r) => num(q(r).labels.joined), sortValue: (r) => q(r).labels.joined },
      {
        label: 'Coverage',
        numeric: true,
        cell: (r) => pct(q(r).labels.coverage),
        sortValue: (r) => q(r).labels.coverage,
      },
      {
        label: 'Realized RMSE',
        numeric: true,
        cell: (r) => num(q(r).realized.rmse),
        sortValue: (r) => q(r).realized.rmse,
      },
      {
        label: 'Estimated RMSE (same rows)',
        numeric: true,
        cell: (r) => num(q(r).estimated?.rmse),
        sortValue: (r) => q(r).estimated?.rmse ?? null,
      },
      { label: 'Test RMSE', numeric: true, cell: (r) => num(q(r).test.rmse), sortValue: (r) => q(r).test.rmse },
      {
        label: 'Realized / test',
        numeric: true,
        cell: (r) => num(q(r).ratio.rmse, 3),
        sortValue: (r) => q(r).ratio.rmse,
      },
      { label: 'Level', cell: (r) => status(q(r).level) },
    ],
    rows,
  );
}

/**
 * Quality over time on a model's monitoring page: realized and estimated error per batch next to the
 * test error of the version that scored it, the batches with labels, and the versions used.
 */
export async function qualitySection(ctx: PageContext, model: string, batches: Batch[]): Promise<Html> {
  const used = [...new Set(batches.flatMap((b) => versionOf(b) ?? []))];
  const versions = (await ctx.view.versions(model))
    .filter((v) => used.includes(v.version))
    .sort((a, b) => a.version - b.version);
  const estimated = batches.filter((b) => estimateOf(b)).length;
  const labelled = batches.filter((b) => b.quality).length;
  const scored = (v: ModelVersion) => batches.filter((b) => versionOf(b) === v.version).length;
  return html`<p class="lead">${estimated} batch${
    estimated === 1 ? '' : 'es'
  } with an estimate (drift reports of versions with a loss estimator), ${labelled} with labels (realized error).</p>
${
  estimated + labelled > 0
    ? charts(batches, versions)
    : html`<p
class="empty">No realized or estimated error is stored for these batches yet;
the test error of the versions that scored them is the reference.</p>`
}
${labelled > 0 ? labelledTable(ctx, batches) : ''}
${dataTable<ModelVersion>(
  'quality',
  'Versions',
  [
    versionColumn(ctx),
    { label: 'Test RMSE', numeric: true, cell: (v) => num(v.metrics.rmse), sortValue: (v) => v.metrics.rmse ?? null },
    { label: 'Test MAE', numeric: true, cell: (v) => num(v.metrics.mae), sortValue: (v) => v.metrics.mae ?? null },
    { label: 'Loss estimator', cell: (v) => (v.loss_estimator ? 'yes' : 'no') },
    { label: 'Batches scored', numeric: true, cell: scored, sortValue: scored },
  ],
  versions,
)}`;
}

/** A batch's realized quality (its labels) and estimate, on its page. */
export function batchQualitySection(b: Batch): Html {
  const e = estimateOf(b);
  const q = b.quality;
  if (!q)
    return e
      ? html`<h2 id="quality">Quality</h2><p class="empty">No labels for this batch yet.</p>${facts([
          ['Estimated RMSE', `${num(e.rmse)} (band ${num(e.rmse_low)} – ${num(e.rmse_high)})`],
          ['Estimated MAE', `${num(e.mae)} (band ${num(e.mae_low)} – ${num(e.mae_high)})`],
          ['Test RMSE', e.test_rmse === null ? null : `${num(e.test_rmse)} (estimate ×${num(e.rmse_ratio, 3)})`],
          ['Level', status(e.level)],
        ])}`
      : html``;
  const r = q.realized;
  const inBand = q.estimated ? r.rmse >= q.estimated.rmse_low && r.rmse <= q.estimated.rmse_high : null;
  const bands = Object.entries(q.by_band ?? {}).map(([band, m]) => ({ band, ...m }));
  return html`<h2 id="quality">Quality (labels)</h2>${facts([
    ['Level', status(q.level)],
    ['Labels', html`<code>${q.sources.labels}</code>`],
    ['Labelled rows', `${num(q.labels.joined)} of ${num(q.predictions.rows)} predictions (${pct(q.labels.coverage)})`],
    ['Realized RMSE', `${num(r.rmse)} (test ${num(q.test.rmse)}, ×${num(q.ratio.rmse, 3)})`],
    ['Realized MAE', `${num(r.mae)} (test ${num(q.test.mae)})`],
    ['Bias (prediction − label)', num(r.bias)],
    ['R²', num(r.r2)],
    [
      'Estimated RMSE, same rows',
      q.estimated
        ? `${num(q.estimated.rmse)} (band ${num(q.estimated.rmse_low)} – ${num(q.estimated.rmse_high)}: realized ${
            inBand ? 'inside' : 'outside'
          })`
        : null,
    ],
    [
      'Label defects',
      `${q.labels.unmatched} ids not in the predictions${
        q.labels.refused === null ? '' : ` (${q.labels.refused} refused at scoring)`
      }, ${q.labels.duplicates} duplicates, ${q.labels.non_numeric} not numbers, ${
        q.labels.missing
      } without id or label, ${q.labels.ambiguous} for ids scored more than once`,
    ],
    ['Measured', time(q.generated_at)],
  ])}
${
  bands.length
    ? dataTable<(typeof bands)[number]>(
        'bands',
        `Realized vs test by ${q.segment?.name ?? 'segment'}`,
        [
          { label: q.segment?.name ?? 'segment', header: true, cell: (m) => m.band },
          { label: 'rows', numeric: true, cell: (m) => num(m.rows), sortValue: (m) => m.rows },
          { label: 'RMSE', numeric: true, cell: (m) => num(m.rmse), sortValue: (m) => m.rmse },
          { label: 'test RMSE', numeric: true, cell: (m) => num(m.test_rmse), sortValue: (m) => m.test_rmse },
          { label: 'ratio', numeric: true, cell: (m) => num(m.rmse_ratio, 3), sortValue: (m) => m.rmse_ratio },
          { label: 'MAE', numeric: true, cell: (m) => num(m.mae), sortValue: (m) => m.mae },
          { label: 'bias', numeric: true, cell: (m) => num(m.bias), sortValue: (m) => m.bias },
        ],
        bands,
      )
    : ''
}`;
}
