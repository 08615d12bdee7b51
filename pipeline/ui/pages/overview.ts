// The overview: models with their aliases and latest metrics, the latest runs, the datasets.
// It reads only the newest runs, so it opens as fast with thousands of runs as with ten.
import { html, num } from '../html.ts';
import { paths } from '../paths.ts';
import { allModels, modelsTable } from './models.ts';
import { runsTable } from './runs.ts';
import { to, type Page, type PageContext } from './common.ts';

const LATEST_RUNS = 10;

export async function overviewPage(ctx: PageContext): Promise<Page> {
  const [models, ids, datasets, batches] = await Promise.all([
    allModels(ctx),
    ctx.view.runIds(),
    ctx.view.datasetNames(),
    ctx.view.batchPaths(),
  ]);
  const latest = await ctx.view.runRows(ids.slice(0, LATEST_RUNS));
  const empty = models.length === 0 && ids.length === 0 && datasets.length === 0;
  return {
    title: 'Overview',
    section: 'overview',
    body: html`<p class="lead">${num(models.length)} model${models.length === 1 ? '' : 's'} · ${to(
      ctx,
      paths.runs(),
      `${num(ids.length)} run${ids.length === 1 ? '' : 's'}`,
    )} · ${to(ctx, paths.datasets, `${num(datasets.length)} dataset${datasets.length === 1 ? '' : 's'}`)} · ${to(
      ctx,
      paths.monitoring,
      `${num(batches.length)} scored batch${batches.length === 1 ? '' : 'es'}`,
    )}</p>
${
  empty
    ? html`<p
class="empty">This store is empty. <code>mltk run --config configs/sap_change.json</code>
trains, registers and promotes a first model.</p>`
    : ''
}
<h2>Models</h2>${modelsTable(ctx, models)}
<h2>Latest runs</h2>${runsTable(ctx, latest, { showModel: true })}${
      ids.length > LATEST_RUNS ? html`<p>${to(ctx, paths.runs(), `All ${num(ids.length)} runs`)}</p>` : ''
    }
<h2>Datasets</h2>${
      datasets.length
        ? html`<ul>${datasets.map((d) => html`<li>${to(ctx, paths.dataset(d), d)}</li>`)}</ul>`
        : html`<p class="empty">No datasets.</p>`
    }`,
  };
}
