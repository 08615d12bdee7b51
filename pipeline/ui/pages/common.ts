// What several pages share: the page context, sortable and filterable tables, and small pieces
// (status badges, links to runs, versions and dataset versions).
import { html, num, when, type Content, type Html } from '../html.ts';
import { link, type PageFrame, type SiteInfo } from '../layout.ts';
import { paths } from '../paths.ts';
import type { RunSummary, StoreView } from '../view.ts';

export interface PageContext {
  view: StoreView;
  site: SiteInfo;
  /** The site path being rendered (links are relative to it). */
  path: string;
}

export type Page = Omit<PageFrame, 'path'>;

/** A link from the page being rendered. */
export const to = (ctx: PageContext, target: string, text: Content): Html => link(ctx.path, target, text);

export interface Column<T> {
  label: string;
  numeric?: boolean;
  cell(row: T): Content;
  /** Sort key when the cell's text is not it (numbers with units, times, links). */
  sortValue?(row: T): string | number | null;
  /** A row header (th) rather than a data cell. */
  header?: boolean;
}

/**
 * A table whose column headers are sort buttons and, with `filter`, a labelled search box that
 * hides rows not containing its text (the page script does both; without it the table still reads).
 */
export function dataTable<T>(
  id: string,
  caption: string,
  columns: Column<T>[],
  rows: T[],
  opts: { filter?: boolean; rowClass?: (row: T) => string } = {},
): Html {
  if (rows.length === 0) return html`<p class="empty">No ${caption.toLowerCase()}.</p>`;
  const head = columns.map(
    (c) =>
      html`<th scope="col"${c.numeric ? html` class="n" data-type="num"` : ''}><button type="button" class="sort">${
        c.label
      }</button></th>`,
  );
  const body = rows.map(
    (r) =>
      html`<tr${opts.rowClass ? html` class="${opts.rowClass(r)}"` : ''}>${columns.map((c) => {
        const v = c.sortValue?.(r);
        const attrs = html`${c.numeric ? html` class="n"` : ''}${v !== undefined ? html` data-v="${v ?? ''}"` : ''}`;
        return c.header ? html`<th scope="row"${attrs}>${c.cell(r)}</th>` : html`<td${attrs}>${c.cell(r)}</td>`;
      })}</tr>`,
  );
  const tools = opts.filter
    ? html`<div class="tools"><label for="${id}-q">Filter ${caption.toLowerCase()}</label><input type="search" id="${
        id
      }-q" data-filter="${id}" autocomplete="off"><span id="${id}-count" role="status"></span></div>`
    : '';
  return html`${tools}<div class="wrap"><table id="${id}" class="sortable"><caption class="visually-hidden">${
    caption
  }</caption><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></div>`;
}

/** Facts as a definition list; rows whose value is null or undefined are left out. */
export function facts(rows: [string, Content][]): Html {
  return html`<dl class="facts">${rows
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}</dl>`;
}

export function status(s: string): Html {
  return html`<span class="status ${/^[A-Za-z]+$/.test(s) ? s : ''}">${s}</span>`;
}

export function runLink(ctx: PageContext, id: string): Html {
  return html`<code>${to(ctx, paths.run(id), id)}</code>`;
}

export function versionLink(
  ctx: PageContext,
  model: string,
  version: number,
  text: Content = `${model} v${version}`,
): Html {
  return to(ctx, paths.version(model, version), text);
}

/** The first column of a table of a model's versions: each version, linked to its page, sorted by number. */
export function versionColumn(ctx: PageContext): Column<{ name: string; version: number }> {
  return {
    label: 'Version',
    header: true,
    numeric: true,
    cell: (v) => versionLink(ctx, v.name, v.version, `v${v.version}`),
    sortValue: (v) => v.version,
  };
}

export function datasetLink(ctx: PageContext, ds: { name: string; version: string } | null): Content {
  return ds ? to(ctx, paths.datasetVersion(ds.name, ds.version), `${ds.name}@${ds.version.slice(0, 12)}`) : '–';
}

/** Seconds between two ISO times, for display. */
export function duration(start: string | null, end: string | null): number | null {
  if (!start || !end) return null;
  const s = (Date.parse(end) - Date.parse(start)) / 1000;
  return Number.isFinite(s) ? s : null;
}

export const seconds = (s: number | null): string =>
  s === null ? '–' : s < 120 ? `${num(s, 3)} s` : `${num(s / 60, 3)} min`;

/**
 * The metrics a runs table shows: the evaluation ones first, then others, band and history ones left to the run page.
 */
const PREFERRED_METRICS = ['rmse', 'mae', 'r2'];
const MAX_METRIC_COLUMNS = 5;
const MAX_PARAM_COLUMNS = 5;
/** Params that differ on every run and say nothing about the model. */
const NOISE_PARAMS = new Set(['train_seconds', 'registered_version']);

export function metricColumns(runs: RunSummary[]): string[] {
  const all = [...new Set(runs.flatMap((r) => Object.keys(r.metrics)))];
  const rest = all.filter((m) => !PREFERRED_METRICS.includes(m) && !/^rmse_band_|_loss$/.test(m)).sort();
  return [...PREFERRED_METRICS.filter((m) => all.includes(m)), ...rest].slice(0, MAX_METRIC_COLUMNS);
}

/** Key params: those that differ between the runs shown, then the rest, a handful at most. */
export function paramColumns(runs: RunSummary[]): string[] {
  const all = [...new Set(runs.flatMap((r) => Object.keys(r.params)))].filter((p) => !NOISE_PARAMS.has(p)).sort();
  // Among the runs that have it: a param only some runs log (a notebook's note) is not "varying".
  const varies = (p: string) => new Set(runs.flatMap((r) => (p in r.params ? [String(r.params[p])] : []))).size > 1;
  return [...all.filter(varies), ...all.filter((p) => !varies(p))].slice(0, MAX_PARAM_COLUMNS);
}

/** Which way is better for a metric, where the name says (error metrics and losses down, R² up). */
export function betterDirection(metric: string): 'lower' | 'higher' | undefined {
  if (/^(rmse|mae|mse)(_|$)|_loss$|^loss$/.test(metric)) return 'lower';
  if (/^r2(_|$)/.test(metric)) return 'higher';
  return undefined;
}

export const time = (iso: string | null | undefined): Html => html`<time datetime="${iso ?? ''}">${when(iso)}</time>`;
