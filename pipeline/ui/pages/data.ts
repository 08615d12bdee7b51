// Data: the datasets, a dataset's versions, and a version's columns with the runs and model
// versions that used it.
import { NotFoundError } from '../../errors/index.ts';
import type { DatasetVersion } from '../../data/index.ts';
import type { ModelVersion } from '../../registry/index.ts';
import { html, num, shortHash, type Html } from '../html.ts';
import { paths } from '../paths.ts';
import { runsTable } from './runs.ts';
import { dataTable, facts, time, to, versionLink, type Page, type PageContext } from './common.ts';

type Column = DatasetVersion['columns'][number];

function versionsTable(ctx: PageContext, versions: DatasetVersion[]): Html {
  return dataTable<DatasetVersion>(
    'versions',
    'Versions',
    [
      {
        label: 'Version',
        header: true,
        cell: (v) => to(ctx, paths.datasetVersion(v.dataset, v.version), v.version.slice(0, 12)),
        sortValue: (v) => v.version,
      },
      { label: 'Created', cell: (v) => time(v.created_at), sortValue: (v) => v.created_at },
      { label: 'Rows', numeric: true, cell: (v) => num(v.rows), sortValue: (v) => v.rows },
      { label: 'Columns', numeric: true, cell: (v) => v.columns.length, sortValue: (v) => v.columns.length },
      { label: 'Bytes', numeric: true, cell: (v) => num(v.bytes), sortValue: (v) => v.bytes },
      { label: 'Source', cell: (v) => html`<code>${v.source}</code>` },
    ],
    [...versions].reverse(),
    { filter: versions.length > 10 },
  );
}

export async function datasetsPage(ctx: PageContext): Promise<Page> {
  const names = await ctx.view.datasetNames();
  const rows = await Promise.all(names.map(async (name) => ({ name, versions: await ctx.view.datasetVersions(name) })));
  type Row = (typeof rows)[number];
  return {
    title: 'Data',
    section: 'data',
    body: dataTable<Row>(
      'datasets',
      'Datasets',
      [
        {
          label: 'Dataset',
          header: true,
          cell: (r) => to(ctx, paths.dataset(r.name), r.name),
          sortValue: (r) => r.name,
        },
        { label: 'Versions', numeric: true, cell: (r) => r.versions.length, sortValue: (r) => r.versions.length },
        {
          label: 'Latest',
          cell: (r) => {
            const v = r.versions.at(-1);
            return v ? to(ctx, paths.datasetVersion(r.name, v.version), v.version.slice(0, 12)) : '–';
          },
        },
        {
          label: 'Rows (latest)',
          numeric: true,
          cell: (r) => num(r.versions.at(-1)?.rows),
          sortValue: (r) => r.versions.at(-1)?.rows ?? null,
        },
        {
          label: 'Created (latest)',
          cell: (r) => time(r.versions.at(-1)?.created_at),
          sortValue: (r) => r.versions.at(-1)?.created_at ?? '',
        },
      ],
      rows,
    ),
  };
}

export async function datasetPage(ctx: PageContext, name: string): Promise<Page> {
  const versions = await ctx.view.datasetVersions(name);
  if (versions.length === 0 && !(await ctx.view.datasetNames()).includes(name))
    throw new NotFoundError(`no dataset "${name}" in ${ctx.site.storeUrl}`);
  return {
    title: `Dataset ${name}`,
    section: 'data',
    crumbs: [{ label: 'Data', to: paths.datasets }, { label: name }],
    body: html`<p class="lead">${versions.length} version${versions.length === 1 ? '' : 's'}, newest first.</p>
${versionsTable(ctx, versions)}`,
  };
}

function columnsTable(v: DatasetVersion): Html {
  return dataTable<Column>(
    'columns',
    'Columns',
    [
      { label: 'column', header: true, cell: (c) => c.name },
      { label: 'type', cell: (c) => c.type },
      {
        label: 'missing',
        numeric: true,
        cell: (c) => `${num(c.missing)} (${v.rows ? ((100 * c.missing) / v.rows).toFixed(1) : '0.0'}%)`,
        sortValue: (c) => c.missing,
      },
      { label: 'min', numeric: true, cell: (c) => num(c.min), sortValue: (c) => c.min ?? null },
      { label: 'max', numeric: true, cell: (c) => num(c.max), sortValue: (c) => c.max ?? null },
      { label: 'values', cell: (c) => c.values?.join(', ') ?? '' },
    ],
    v.columns,
    { filter: v.columns.length > 12 },
  );
}

/** Model versions trained on this dataset version, across every model. */
async function versionsTrainedOn(ctx: PageContext, v: DatasetVersion): Promise<ModelVersion[]> {
  const all = await Promise.all((await ctx.view.modelNames()).map((m) => ctx.view.versions(m)));
  return all.flat().filter((mv) => mv.dataset?.name === v.dataset && mv.dataset.version === v.version);
}

export async function datasetVersionPage(ctx: PageContext, name: string, version: string): Promise<Page> {
  const v = await ctx.view.datasetVersion(name, version);
  const [runs, trained] = await Promise.all([ctx.view.allRuns(), versionsTrainedOn(ctx, v)]);
  const used = runs.filter((r) => r.dataset?.name === name && r.dataset.version === version);
  return {
    title: `${name}@${version.slice(0, 12)}`,
    section: 'data',
    crumbs: [
      { label: 'Data', to: paths.datasets },
      { label: name, to: paths.dataset(name) },
      { label: version.slice(0, 12) },
    ],
    body: html`${facts([
      ['Version (sha256)', html`<code>${v.version}</code>`],
      ['Created', time(v.created_at)],
      ['Rows', num(v.rows)],
      ['Bytes', num(v.bytes)],
      ['Source', html`<code>${v.source}</code>`],
      ['Blob', shortHash(v.version)],
    ])}
<h2>Columns</h2>${columnsTable(v)}
<h2>Model versions trained on it</h2>${
      trained.length
        ? html`<ul>${trained.map(
            (mv) => html`<li>${versionLink(ctx, mv.name, mv.version)} (${time(mv.created_at)})</li>`,
          )}</ul>`
        : html`<p class="empty">None.</p>`
    }
<h2>Runs that used it</h2>${runsTable(
      ctx,
      used.map((summary) => ({ id: summary.id, summary })),
      { showModel: true },
    )}`,
  };
}
