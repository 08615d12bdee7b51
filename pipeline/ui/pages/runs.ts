// Runs: the table of all runs or of one model's, a run's page (params, metrics, curves, artifacts,
// provenance, error) and the compare view (params that differ, metrics, curves overlaid).
import { InvalidInputError, NotFoundError } from '../../errors/index.ts';
import { compareRuns, type RunManifest } from '../../runs/index.ts';
import { html, num, type Content, type Html } from '../html.ts';
import { href, paths } from '../paths.ts';
import { lineChart, type Series } from '../svg.ts';
import type { RunRow, RunSummary } from '../view.ts';
import {
  betterDirection,
  dataTable,
  datasetLink,
  duration,
  facts,
  metricColumns,
  paramColumns,
  runLink,
  seconds,
  status,
  time,
  to,
  type Column,
  type Page,
  type PageContext,
} from './common.ts';

const RUNS_PER_PAGE = 100;
/** Most runs one compare page puts side by side (columns stay readable, the page name stays short). */
export const MAX_COMPARE = 8;
/** The model page and a model's runs table offer a comparison of this many of its latest finished runs. */
const LATEST_COMPARED = 5;
/** Params named in a compare chart's legend. */
const CURVE_LABEL_PARAMS = 3;
/** Marks the best value of a metric for screen readers (the highlight alone is colour). */
const BEST_MARK = html`<span class="visually-hidden"> (best)</span>`;

function runColumns(ctx: PageContext, rows: RunSummary[], showModel: boolean): Column<RunRow>[] {
  const params = paramColumns(rows);
  const metrics = metricColumns(rows);
  const cols: Column<RunRow>[] = [];
  if (ctx.site.mode === 'server') {
    cols.push({
      label: 'Compare',
      cell: (r) =>
        html`<input type="checkbox" name="run" value="${r.id}" form="compare-form" aria-label="Select run ${
          r.id
        } to compare">`,
    });
  }
  cols.push({ label: 'Run', header: true, cell: (r) => runLink(ctx, r.id), sortValue: (r) => r.id });
  if (showModel)
    cols.push({
      label: 'Model',
      cell: (r) => (r.summary ? to(ctx, paths.model(r.summary.model), r.summary.model) : '–'),
    });
  cols.push(
    {
      label: 'Status',
      cell: (r) => (r.summary ? status(r.summary.status) : html`<span class="problem">unreadable: ${r.problem}</span>`),
    },
    { label: 'Started', cell: (r) => time(r.summary?.started_at), sortValue: (r) => r.summary?.started_at ?? '' },
    {
      label: 'Duration',
      numeric: true,
      cell: (r) => seconds(duration(r.summary?.started_at ?? null, r.summary?.ended_at ?? null)),
      sortValue: (r) => duration(r.summary?.started_at ?? null, r.summary?.ended_at ?? null),
    },
    { label: 'Data', cell: (r) => datasetLink(ctx, r.summary?.dataset ?? null) },
    ...params.map(
      (p): Column<RunRow> => ({
        label: p,
        cell: (r) => fmtParam(r.summary?.params[p]),
        sortValue: (r) => sortable(r.summary?.params[p]),
        numeric: rows.some((s) => typeof s.params[p] === 'number'),
      }),
    ),
    ...metrics.map(
      (m): Column<RunRow> => ({
        label: m,
        numeric: true,
        cell: (r) => num(r.summary?.metrics[m]),
        sortValue: (r) => r.summary?.metrics[m] ?? null,
      }),
    ),
  );
  return cols;
}

const fmtParam = (v: number | string | boolean | undefined | null): string =>
  v === undefined || v === null ? '–' : typeof v === 'number' ? num(v) : String(v);
const sortable = (v: number | string | boolean | undefined | null): string | number | null =>
  v === undefined || v === null ? null : typeof v === 'boolean' ? String(v) : v;

/** A runs table; on the server its checkboxes feed a compare form (a static export has no server to ask). */
export function runsTable(ctx: PageContext, rows: RunRow[], opts: { showModel: boolean }): Html {
  const summaries = rows.flatMap((r) => (r.summary ? [r.summary] : []));
  const table = dataTable('runs', 'Runs', runColumns(ctx, summaries, opts.showModel), rows, { filter: true });
  if (ctx.site.mode !== 'server' || rows.length < 2) return table;
  return html`<form id="compare-form" method="get" action="${href(ctx.path, paths.compareForm)}"><div
class="tools"><button type="submit">Compare selected runs</button> <span class="lead">(tick 2 to ${MAX_COMPARE})</span>
</div></form>${table}`;
}

function pager(ctx: PageContext, page: number, hasNext: boolean, target: (page: number) => string): Html {
  if (page === 1 && !hasNext) return html``;
  return html`<nav class="pages" aria-label="Pages">${
    page > 1 ? to(ctx, target(page - 1), '← newer runs') : ''
  }<span>page ${page}</span>${hasNext ? to(ctx, target(page + 1), 'older runs →') : ''}</nav>`;
}

export async function runsPage(ctx: PageContext, page: number): Promise<Page> {
  const ids = await ctx.view.runIds();
  const pageIds = ids.slice((page - 1) * RUNS_PER_PAGE, page * RUNS_PER_PAGE);
  if (page > 1 && pageIds.length === 0)
    throw new NotFoundError(`there is no page ${page} of runs (${ids.length} runs)`);
  const rows = await ctx.view.runRows(pageIds);
  return {
    title: 'Runs',
    section: 'runs',
    body: html`<p class="lead">${ids.length.toLocaleString('en-GB')} runs, newest first${
      ids.length > RUNS_PER_PAGE ? `, ${RUNS_PER_PAGE} a page` : ''
    }. Key params are those that differ between the runs shown.</p>
${runsTable(ctx, rows, { showModel: true })}${pager(ctx, page, ids.length > page * RUNS_PER_PAGE, paths.runs)}`,
  };
}

/** The latest finished runs of a model, newest first, for its "compare latest" link. */
export function latestFinished(rows: RunRow[]): string[] {
  return rows.flatMap((r) => (r.summary?.status === 'FINISHED' ? [r.id] : [])).slice(0, LATEST_COMPARED);
}

export async function modelRunsPage(ctx: PageContext, model: string, page: number): Promise<Page> {
  const { rows, complete } = await ctx.view.modelRuns(model, page * RUNS_PER_PAGE + 1);
  const shown = rows.slice((page - 1) * RUNS_PER_PAGE, page * RUNS_PER_PAGE);
  if (page > 1 && shown.length === 0) throw new NotFoundError(`there is no page ${page} of ${model}'s runs`);
  if (rows.length === 0 && !(await ctx.view.modelKnown(model)))
    throw new NotFoundError(`no model "${model}" in ${ctx.site.storeUrl}`);
  const latest = latestFinished(rows);
  return {
    title: `Runs of ${model}`,
    section: 'runs',
    crumbs: [{ label: 'Models', to: paths.models }, { label: model, to: paths.model(model) }, { label: 'Runs' }],
    body: html`<p class="lead">${complete ? `${rows.length.toLocaleString('en-GB')} runs` : 'Runs'}, newest first.${
      latest.length >= 2
        ? html` ${to(ctx, paths.compare(latest), `Compare the latest ${latest.length} finished runs`)}.`
        : ''
    }</p>
${runsTable(ctx, shown, { showModel: false })}${pager(ctx, page, rows.length > page * RUNS_PER_PAGE, (p) =>
  paths.modelRuns(model, p),
)}`,
  };
}

/** Losses overlaid on one chart; any other stepped metric on its own. */
function historyGroups(names: string[]): { title: string; metrics: string[] }[] {
  const losses = names.filter((n) => /_loss$|^loss$/.test(n));
  const rest = names.filter((n) => !losses.includes(n));
  return [
    ...(losses.length ? [{ title: `Loss per round (${losses.join(', ')})`, metrics: losses }] : []),
    ...rest.map((n) => ({ title: `${n} per step`, metrics: [n] })),
  ];
}

function curves(run: RunManifest): Html {
  const groups = historyGroups(Object.keys(run.metric_history).sort());
  if (groups.length === 0) return html`<p class="empty">No stepped metrics recorded.</p>`;
  return html`<div class="grid">${groups.map((g) =>
    lineChart({
      title: g.title,
      xLabel: 'round',
      series: g.metrics.map((m) => ({
        label: m,
        points: (run.metric_history[m] ?? []).map((p) => ({
          x: p.step,
          y: p.value,
          title: `${m} at ${p.step}: ${num(p.value)}`,
        })),
      })),
    }),
  )}</div>`;
}

function keyValueTable(id: string, caption: string, entries: [string, Content][], numeric: boolean): Html {
  return dataTable(
    id,
    caption,
    [
      { label: 'name', header: true, cell: (e: [string, Content]) => e[0] },
      {
        label: 'value',
        numeric,
        cell: (e) => e[1],
        sortValue: (e) => (typeof e[1] === 'number' || typeof e[1] === 'string' ? e[1] : null),
      },
    ],
    entries,
  );
}

/** Metrics by name, with those that have no value (a constant target's R²) and why. */
export function metricEntries(
  metrics: Record<string, number>,
  undefinedMetrics: Record<string, string> | undefined,
): [string, Content][] {
  const defined: [string, Content][] = Object.entries(metrics).map(([k, v]) => [k, num(v)]);
  const missing: [string, Content][] = Object.entries(undefinedMetrics ?? {}).map(([k, why]) => [
    k,
    `– (undefined: ${why})`,
  ]);
  return [...defined, ...missing].sort(([a], [b]) => a.localeCompare(b));
}

const description = (config: unknown): string | undefined => {
  const d = (config as { description?: unknown } | null)?.description;
  return typeof d === 'string' ? d : undefined;
};

export async function runPage(ctx: PageContext, id: string): Promise<Page> {
  const run = await ctx.view.run(id);
  const previous = await ctx.view.previousRun(run.model, run.id);
  const registered = run.params.registered_version;
  const artifacts = Object.entries(run.artifacts).sort(([a], [b]) => a.localeCompare(b));
  return {
    title: `Run ${run.id}`,
    section: 'runs',
    crumbs: [
      { label: 'Runs', to: paths.runs() },
      { label: run.model, to: paths.modelRuns(run.model) },
      { label: run.id },
    ],
    body: html`${facts([
      ['Model', to(ctx, paths.model(run.model), run.model)],
      ['Description', description(run.config.copy)],
      ['Status', status(run.status)],
      ['Started', time(run.started_at)],
      ['Ended', run.ended_at ? time(run.ended_at) : null],
      ['Duration', seconds(duration(run.started_at, run.ended_at))],
      ['Data', datasetLink(ctx, run.dataset)],
      [
        'Registered',
        typeof registered === 'number' && Number.isInteger(registered) && registered > 0
          ? to(ctx, paths.version(run.model, registered), `${run.model} v${registered}`)
          : null,
      ],
      ['Config', html`<code>${run.config.source}</code>, sha256 <code>${run.config.sha256}</code>`],
      [
        'Git',
        run.git
          ? html`<code>${run.git.commit}</code>${run.git.dirty ? ' (dirty: uncommitted changes)' : ' (clean)'}`
          : 'not recorded',
      ],
      [
        'Compare',
        previous
          ? to(ctx, paths.compare([run.id, previous.id]), `with the previous run of ${run.model} (${previous.id})`)
          : null,
      ],
    ])}
${run.error ? html`<h2>Error</h2><pre class="error">${run.error}</pre>` : ''}
<h2>Metrics</h2>${keyValueTable('metrics', 'Metrics', metricEntries(run.metrics, run.undefined_metrics), true)}
<h2>Curves</h2>${curves(run)}
<h2>Params</h2>${keyValueTable(
      'params',
      'Params',
      Object.entries(run.params)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => [k, fmtParam(v)]),
      false,
    )}
<h2>Artifacts</h2>${dataTable(
      'artifacts',
      'Artifacts',
      [
        { label: 'name', header: true, cell: ([name]: [string, { sha256: string; bytes: number }]) => name },
        { label: 'sha256', cell: ([, a]) => html`<code>${a.sha256}</code>` },
        {
          label: 'bytes',
          numeric: true,
          cell: ([, a]) => a.bytes.toLocaleString('en-GB'),
          sortValue: ([, a]) => a.bytes,
        },
      ],
      artifacts,
    )}
<details><summary>Config as recorded</summary><pre>${JSON.stringify(run.config.copy, null, 2)}</pre></details>`,
  };
}

function compareIds(ids: string[]): string[] {
  if (ids.length < 2 || ids.length > MAX_COMPARE)
    throw new InvalidInputError(`compare takes 2 to ${MAX_COMPARE} runs, got ${ids.length}`);
  if (new Set(ids).size !== ids.length) throw new InvalidInputError('compare: a run is named twice');
  return ids;
}

/** The best value in a metric row, where the metric's name says which way is better. */
function bestIndex(metric: string, values: (number | null)[]): number {
  const dir = betterDirection(metric);
  if (!dir) return -1;
  let best = -1;
  values.forEach((v, i) => {
    if (v === null || !Number.isFinite(v)) return;
    if (best < 0 || (dir === 'lower' ? v < values[best]! : v > values[best]!)) best = i;
  });
  return best;
}

export async function comparePage(ctx: PageContext, requested: string[]): Promise<Page> {
  const runs = await Promise.all(compareIds(requested).map((id) => ctx.view.run(id)));
  const cmp = compareRuns(runs);
  const head = html`<thead><tr><th scope="col">run</th>${runs.map(
    (r) => html`<th scope="col">${runLink(ctx, r.id)}</th>`,
  )}</tr></thead>`;
  const info: [string, (r: RunManifest) => Content][] = [
    ['model', (r) => to(ctx, paths.model(r.model), r.model)],
    ['status', (r) => status(r.status)],
    ['started', (r) => time(r.started_at)],
    ['data', (r) => datasetLink(ctx, r.dataset)],
  ];
  const differs = (vals: unknown[]) => new Set(vals.map((v) => JSON.stringify(v))).size > 1;
  const paramRows = Object.entries(cmp.params).map(
    ([k, vals]) =>
      html`<tr${differs(vals) ? html` class="diff"` : ''}><th scope="row">${k}</th>${vals.map(
        (v) => html`<td>${fmtParam(v)}</td>`,
      )}</tr>`,
  );
  const metricRows = Object.entries(cmp.metrics).map(([k, vals]) => {
    const best = bestIndex(k, vals);
    return html`<tr><th scope="row">${k}</th>${vals.map(
      (v, i) => html`<td class="n${i === best ? ' best' : ''}">${num(v)}${i === best ? BEST_MARK : ''}</td>`,
    )}</tr>`;
  });
  // Curves are labelled with the params that tell the runs apart (a few, noise left out).
  const telling = paramColumns(runs)
    .filter((p) => differs(cmp.params[p] ?? []))
    .slice(0, CURVE_LABEL_PARAMS);
  const label = (r: RunManifest) =>
    [r.id, ...telling.flatMap((p) => (p in r.params ? [`${p} ${fmtParam(r.params[p])}`] : []))].join(' · ');
  const names = [...new Set(runs.flatMap((r) => Object.keys(r.metric_history)))].sort();
  const charts = names.map((m) =>
    lineChart({
      title: `${m} per round`,
      xLabel: 'round',
      series: runs.map(
        (r): Series => ({
          label: label(r),
          points: (r.metric_history[m] ?? []).map((p) => ({ x: p.step, y: p.value })),
        }),
      ),
    }),
  );
  const nDiff = Object.values(cmp.params).filter(differs).length;
  return {
    title: `Compare ${runs.length} runs`,
    section: 'runs',
    crumbs: [{ label: 'Runs', to: paths.runs() }, { label: 'Compare' }],
    body: html`<div class="wrap"><table aria-label="Runs compared">${head}<tbody>${info.map(
      ([k, f]) => html`<tr><th
scope="row">${k}</th>${runs.map((r) => html`<td>${f(r)}</td>`)}</tr>`,
    )}</tbody></table></div>
<h2>Curves</h2>${
      charts.length
        ? html`<div class="grid">${charts}</div>`
        : html`<p
class="empty">No stepped metrics recorded.</p>`
    }
<h2>Metrics</h2><p
class="lead">Best in bold where the name says which way is better (errors and losses lower, R² higher).</p>
<div class="wrap"><table aria-label="Metrics compared">${head}<tbody>${metricRows}</tbody></table></div>
<h2>Params</h2><p class="lead">${nDiff} of ${Object.keys(cmp.params).length} params differ (highlighted, marked ≠).</p>
<div class="wrap"><table aria-label="Params compared">${head}<tbody>${paramRows}</tbody></table></div>`,
  };
}
