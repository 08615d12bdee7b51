// Models: the registry's models, a model's versions (metrics overall and by SAP band) and aliases
// with every move, and a version's page with its lineage drawn as a graph.
import { NotFoundError } from '../../errors/index.ts';
import type { Alias, AliasMove, ModelVersion } from '../../registry/index.ts';
import { html, num, shortHash, type Content, type Html } from '../html.ts';
import { href, paths } from '../paths.ts';
import { graph, lineChart, type GraphNode } from '../svg.ts';
import { batchModel, batchTime, type Batch } from '../view.ts';
import { latestFinished, metricEntries } from './runs.ts';
import {
  dataTable,
  datasetLink,
  facts,
  runLink,
  time,
  to,
  versionColumn,
  versionLink,
  type Column,
  type Page,
  type PageContext,
} from './common.ts';

const MODEL_METRICS = ['rmse', 'mae', 'r2'];
/** Scored batches drawn in a version's lineage graph; the rest are counted and linked. */
const GRAPH_BATCHES = 8;

export interface ModelSummary {
  name: string;
  versions: ModelVersion[];
  aliases: Alias[];
}

async function modelSummary(ctx: PageContext, name: string): Promise<ModelSummary> {
  const [versions, aliases] = await Promise.all([ctx.view.versions(name), ctx.view.aliases(name)]);
  return { name, versions, aliases };
}

function aliasList(ctx: PageContext, aliases: Alias[]): Content {
  if (aliases.length === 0) return '–';
  return aliases.map(
    (a, i) => html`${i ? ', ' : ''}${a.alias} → ${versionLink(ctx, a.name, a.version, `v${a.version}`)}`,
  );
}

export function modelsTable(ctx: PageContext, models: ModelSummary[]): Html {
  const latest = (m: ModelSummary) => m.versions.at(-1);
  return dataTable<ModelSummary>(
    'models',
    'Models',
    [
      { label: 'Model', header: true, cell: (m) => to(ctx, paths.model(m.name), m.name), sortValue: (m) => m.name },
      { label: 'Versions', numeric: true, cell: (m) => m.versions.length, sortValue: (m) => m.versions.length },
      {
        label: 'Latest',
        cell: (m) => {
          const v = latest(m);
          return v ? versionLink(ctx, m.name, v.version, `v${v.version}`) : '–';
        },
      },
      { label: 'Aliases', cell: (m) => aliasList(ctx, m.aliases) },
      ...MODEL_METRICS.map(
        (k): Column<ModelSummary> => ({
          label: `${k} (latest)`,
          numeric: true,
          cell: (m) => num(latest(m)?.metrics[k]),
          sortValue: (m) => latest(m)?.metrics[k] ?? null,
        }),
      ),
      {
        label: 'Pages',
        cell: (m) =>
          html`${to(ctx, paths.modelRuns(m.name), 'runs')} · ${to(ctx, paths.modelMonitoring(m.name), 'monitoring')}`,
      },
    ],
    models,
  );
}

export async function allModels(ctx: PageContext): Promise<ModelSummary[]> {
  return Promise.all((await ctx.view.modelNames()).map((n) => modelSummary(ctx, n)));
}

export async function modelsPage(ctx: PageContext): Promise<Page> {
  return { title: 'Models', section: 'models', body: modelsTable(ctx, await allModels(ctx)) };
}

function versionsTable(ctx: PageContext, m: ModelSummary): Html {
  const pointing = (v: number) =>
    m.aliases
      .filter((a) => a.version === v)
      .map((a) => a.alias)
      .join(', ');
  return dataTable<ModelVersion>(
    'versions',
    'Versions',
    [
      versionColumn(ctx),
      { label: 'Aliases', cell: (v) => pointing(v.version) || '–' },
      { label: 'Created', cell: (v) => time(v.created_at), sortValue: (v) => v.created_at },
      { label: 'Run', cell: (v) => (v.run_id ? runLink(ctx, v.run_id) : '–') },
      { label: 'Data', cell: (v) => datasetLink(ctx, v.dataset) },
      { label: 'Trainer', cell: (v) => v.trainer },
      ...MODEL_METRICS.map(
        (k): Column<ModelVersion> => ({
          label: k,
          numeric: true,
          cell: (v) => num(v.metrics[k]),
          sortValue: (v) => v.metrics[k] ?? null,
        }),
      ),
    ],
    [...m.versions].reverse(),
    { filter: m.versions.length > 10 },
  );
}

/**
 * What metrics_by_band is cut by: the versions' segment (the config's evaluation.segment), else SAP band, as before it
 * existed.
 */
function segmentOf(versions: ModelVersion[]): { title: string; order: string[] } {
  const seg = [...versions].reverse().find((v) => v.segment)?.segment;
  return seg ? { title: `${seg.name} (${seg.column})`, order: seg.labels ?? [] } : { title: 'SAP band', order: [] };
}

function bandTable(versions: ModelVersion[]): Html {
  const { title, order } = segmentOf(versions);
  const rank = (b: string) => (order.includes(b) ? order.indexOf(b) : order.length);
  const bands = [...new Set(versions.flatMap((v) => Object.keys(v.metrics_by_band ?? {})))].sort(
    (a, b) => rank(a) - rank(b) || a.localeCompare(b),
  );
  if (bands.length === 0) return html`<p class="empty">No test error by segment recorded.</p>`;
  const cell = (v: ModelVersion, b: string) => {
    const m = v.metrics_by_band?.[b];
    return m
      ? html`<td class="n" title="${m.rows} rows, MAE ${num(m.mae)}">${num(m.rmse)}</td>`
      : html`<td class="n">–</td>`;
  };
  return html`<h3>Test RMSE by ${title}</h3><div class="wrap"><table aria-label="Test RMSE by ${title}"><thead><tr><th
scope="col">version</th>${bands.map((b) => html`<th scope="col" class="n">${b}</th>`)}</tr></thead>
<tbody>${[...versions]
    .reverse()
    .map(
      (v) => html`<tr><th scope="row">v${v.version}</th>${bands.map((b) => cell(v, b))}</tr>`,
    )}</tbody></table></div>`;
}

function historyTable(ctx: PageContext, alias: Alias, moves: AliasMove[]): Html {
  const v = (n: number) => versionLink(ctx, alias.name, n, `v${n}`);
  return dataTable<AliasMove>(
    `history-${alias.alias}`,
    `Moves of ${alias.alias}`,
    [
      { label: '#', numeric: true, header: true, cell: (m) => m.seq, sortValue: (m) => m.seq },
      { label: 'When', cell: (m) => time(m.at), sortValue: (m) => m.at },
      { label: 'From', cell: (m) => (m.from === null ? '(none)' : v(m.from)), sortValue: (m) => m.from },
      { label: 'To', cell: (m) => v(m.to), sortValue: (m) => m.to },
      { label: 'Why', cell: (m) => m.reason },
      { label: 'Who', cell: (m) => m.by ?? 'not recorded' },
    ],
    [...moves].reverse(),
  );
}

async function aliasSections(ctx: PageContext, m: ModelSummary): Promise<Html> {
  if (m.aliases.length === 0) return html`<p class="empty">No aliases.</p>`;
  return html`${await Promise.all(
    m.aliases.map(
      async (
        a,
      ) => html`<h3 id="alias-${a.alias}">${a.alias} → ${versionLink(ctx, m.name, a.version, `v${a.version}`)}</h3>
<p>Moved ${a.seq} time${a.seq === 1 ? '' : 's'}, last on ${time(a.updated_at)}${a.by ? ` by ${a.by}` : ''} (${
        a.reason
      }). Newest move first.</p>${historyTable(ctx, a, await ctx.view.history(a))}`,
    ),
  )}`;
}

/** The model's description, from the config its latest version was trained with (when the run is readable). */
async function modelDescription(ctx: PageContext, versions: ModelVersion[]): Promise<string | undefined> {
  const runId = versions.at(-1)?.run_id;
  if (!runId) return undefined;
  const run = await ctx.view.run(runId).catch(() => undefined);
  const d = (run?.config.copy as { description?: unknown } | undefined)?.description;
  return typeof d === 'string' ? d : undefined;
}

function metricsByVersion(versions: ModelVersion[]): Html {
  if (versions.length < 2) return html``;
  const metrics = MODEL_METRICS.filter((k) => k !== 'r2' && versions.some((v) => v.metrics[k] !== undefined));
  return lineChart({
    title: 'Test error by version',
    xLabel: 'version',
    markers: true,
    xIntegers: true,
    series: metrics.map((k) => ({
      label: k,
      points: versions.flatMap((v) =>
        v.metrics[k] === undefined
          ? []
          : [{ x: v.version, y: v.metrics[k]!, title: `v${v.version} ${k}: ${num(v.metrics[k])}` }],
      ),
    })),
  });
}

export async function modelPage(ctx: PageContext, name: string): Promise<Page> {
  if (!(await ctx.view.modelKnown(name)))
    throw new NotFoundError(
      `no model "${name}" in ${ctx.site.storeUrl} (no versions, aliases, runs or scored batches)`,
    );
  const m = await modelSummary(ctx, name);
  const { rows } = await ctx.view.modelRuns(name, 5);
  const latest = latestFinished(rows);
  return {
    title: `Model ${name}`,
    section: 'models',
    crumbs: [{ label: 'Models', to: paths.models }, { label: name }],
    body: html`${facts([
      ['Description', await modelDescription(ctx, m.versions)],
      ['Versions', m.versions.length],
      ['Aliases', aliasList(ctx, m.aliases)],
      [
        'Runs',
        html`${to(ctx, paths.modelRuns(name), `runs of ${name}`)}${
          latest.length >= 2
            ? html` · ${to(ctx, paths.compare(latest), `compare the latest ${latest.length} finished`)}`
            : ''
        }`,
      ],
      ['Monitoring', to(ctx, paths.modelMonitoring(name), `drift of ${name} over time`)],
    ])}
<h2>Versions</h2>${metricsByVersion(m.versions)}${versionsTable(ctx, m)}
${bandTable(m.versions)}
<h2>Aliases</h2>${await aliasSections(ctx, m)}`,
  };
}

function signatureTable(mv: ModelVersion): Html {
  type Row = ModelVersion['signature']['features'][number];
  const range = (f: Row): string =>
    f.type === 'numeric'
      ? `${f.min ?? '−∞'} … ${f.max ?? '∞'}`
      : f.type === 'categorical'
        ? f.values.join(', ')
        : '0 / 1';
  return dataTable<Row>(
    'features',
    'Features',
    [
      { label: 'feature', header: true, cell: (f) => f.name },
      { label: 'type', cell: (f) => f.type },
      { label: 'nullable', cell: (f) => (f.nullable ? 'yes' : 'no') },
      { label: 'range or values', cell: (f) => range(f) },
      { label: 'description', cell: (f) => f.description ?? '' },
    ],
    mv.signature.features,
    { filter: mv.signature.features.length > 12 },
  );
}

/** Batches this version scored (by their lineage, else their report), oldest first. */
async function batchesOfVersion(ctx: PageContext, mv: ModelVersion): Promise<Batch[]> {
  const all = await ctx.view.batches();
  return all
    .filter((b) => {
      const m = batchModel(b);
      return m?.name === mv.name && String(m.version) === String(mv.version);
    })
    .sort((a, b) => batchTime(a).localeCompare(batchTime(b)));
}

function lineage(ctx: PageContext, mv: ModelVersion, batches: Batch[]): Html {
  const nodes: GraphNode[] = [];
  const edges: { from: string; to: string }[] = [];
  const at = (p: string) => href(ctx.path, p);
  if (mv.dataset) {
    nodes.push({
      id: 'data',
      column: 0,
      kind: 'dataset',
      label: mv.dataset.name,
      detail: mv.dataset.version.slice(0, 12),
      href: at(paths.datasetVersion(mv.dataset.name, mv.dataset.version)),
    });
  }
  if (mv.run_id) {
    nodes.push({ id: 'run', column: 1, kind: 'run', label: 'run', detail: mv.run_id, href: at(paths.run(mv.run_id)) });
    if (mv.dataset) edges.push({ from: 'data', to: 'run' });
  }
  nodes.push({
    id: 'version',
    column: 2,
    kind: 'version',
    label: `${mv.name} v${mv.version}`,
    detail: `ONNX ${mv.artifact.sha256.slice(0, 12)}`,
  });
  edges.push({ from: mv.run_id ? 'run' : 'data', to: 'version' });
  const shown = batches.slice(-GRAPH_BATCHES);
  shown.forEach((b, i) => {
    const page = at(paths.batch(b.path));
    nodes.push({
      id: `b${i}`,
      column: 3,
      kind: 'batch',
      label: b.path,
      detail: b.lineage?.status === 'scored' ? `${b.lineage.rows} rows` : (b.lineage?.status ?? 'no lineage'),
      href: page,
    });
    edges.push({ from: 'version', to: `b${i}` });
    if (b.report) {
      nodes.push({
        id: `r${i}`,
        column: 4,
        kind: 'report',
        label: `drift ${b.report.level}`,
        detail: `share ${(100 * b.report.drift_share).toFixed(0)}%`,
        href: `${page}#drift`,
      });
      edges.push({ from: `b${i}`, to: `r${i}` });
    }
  });
  if (batches.length > shown.length) {
    nodes.push({
      id: 'more',
      column: 3,
      kind: 'more',
      label: `${batches.length - shown.length} earlier batches`,
      detail: 'on the monitoring page',
      href: at(paths.modelMonitoring(mv.name)),
    });
  }
  return graph(
    `Lineage of ${mv.name} v${mv.version}: dataset version → run → model version → scored batches → drift reports`,
    ['dataset version', 'run', 'model version', 'scored batches', 'drift reports'],
    nodes,
    edges,
  );
}

export async function versionPage(ctx: PageContext, name: string, version: number): Promise<Page> {
  const mv = await ctx.view.version(name, version);
  const [aliases, batches] = await Promise.all([ctx.view.aliases(name), batchesOfVersion(ctx, mv)]);
  const pointing = aliases.filter((a) => a.version === version);
  const moves = (
    await Promise.all(aliases.map(async (a) => (await ctx.view.history(a)).map((m) => ({ alias: a.alias, ...m }))))
  )
    .flat()
    .filter((m) => m.to === version || m.from === version)
    .sort((a, b) => a.at.localeCompare(b.at));
  const sig = mv.signature;
  return {
    title: `${name} v${version}`,
    section: 'models',
    crumbs: [{ label: 'Models', to: paths.models }, { label: name, to: paths.model(name) }, { label: `v${version}` }],
    body: html`${facts([
      ['Created', time(mv.created_at)],
      ['Aliases now', pointing.length ? pointing.map((a) => a.alias).join(', ') : 'none'],
      ['Run', mv.run_id ? runLink(ctx, mv.run_id) : 'not recorded (registered without a run)'],
      [
        'Data',
        html`${datasetLink(ctx, mv.dataset)}${mv.dataset?.pinned ? ' (pinned by the config)' : ''}${
          mv.dataset?.synthetic ? ' (synthetic rows)' : ''
        }`,
      ],
      [
        'Copied from',
        mv.source
          ? html`${mv.source.name} v${mv.source.version} in <code>${mv.source.store}</code>,
${time(mv.source.copied_at)}`
          : null,
      ],
      ['Trainer', mv.trainer],
      ['ONNX', html`${shortHash(mv.artifact.sha256)} (${mv.artifact.bytes.toLocaleString('en-GB')} bytes)`],
      [
        'Baseline profile',
        mv.baseline
          ? html`${shortHash(mv.baseline.sha256)} (${mv.baseline.bytes.toLocaleString('en-GB')} bytes)`
          : 'none: cannot be monitored',
      ],
      ['Config sha256', mv.config_sha256 ? html`<code>${mv.config_sha256}</code>` : null],
      [
        'Monitoring thresholds',
        `PSI warn ${mv.monitoring.psi_warn}, alert ${mv.monitoring.psi_alert}; dataset drift at ` +
          `${(100 * mv.monitoring.drift_share).toFixed(0)}% of features`,
      ],
      ['Target', `${sig.target.column} (${sig.target.unit}); output column ${sig.output.column}`],
    ])}
<h2>Lineage</h2>${lineage(ctx, mv, batches)}
<ul>${mv.dataset ? html`<li>Trained on ${datasetLink(ctx, mv.dataset)}</li>` : ''}${
      mv.run_id ? html`<li>by run ${runLink(ctx, mv.run_id)}</li>` : ''
    }
<li>scored ${batches.length} batch${batches.length === 1 ? '' : 'es'}${
      batches.length ? html` (${to(ctx, paths.modelMonitoring(name), 'drift over time')})` : ''
    }</li></ul>
<h2>Metrics</h2>${dataTable<[string, Content]>(
      'metrics',
      'Metrics',
      [
        { label: 'metric', header: true, cell: ([k]) => k },
        { label: 'value', numeric: true, cell: ([, v]) => v },
      ],
      metricEntries(mv.metrics, mv.undefined_metrics),
    )}
${bandTable([mv])}
<h2>Alias moves</h2>${
      moves.length
        ? html`<ul>${moves.map(
            (m) =>
              html`<li>${time(m.at)}: ${m.alias} ${
                m.from === null ? '' : html`v${m.from} `
              }→ v${m.to} (${m.reason}${m.by ? `, by ${m.by}` : ''})</li>`,
          )}</ul>`
        : html`<p class="empty">No alias ever pointed here.</p>`
    }
<h2>Signature</h2>${signatureTable(mv)}
${
  sig.derived.length
    ? html`<h3>Derived features</h3><ul>${sig.derived.map(
        (d) =>
          html`<li><code>${d.name}</code> = ${
            d.op
          }(${d.inputs.join(', ')})${d.description ? ` — ${d.description}` : ''}</li>`,
      )}</ul>`
    : ''
}`,
  };
}
