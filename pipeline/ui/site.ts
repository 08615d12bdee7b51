// The site: a site path (and, on the server, a query) in, a page out. Both the server and the
// static export render through here, so they serve the same pages at the same relative paths.
import { InvalidInputError, MltkError, NotFoundError } from '../errors/index.ts';
import { html } from './html.ts';
import { renderPage, type SiteInfo } from './layout.ts';
import { COMPARE_SEPARATOR, href, paths } from './paths.ts';
import { ManifestCache, StoreView, type UiStores } from './view.ts';
import type { Page, PageContext } from './pages/common.ts';
import { datasetPage, datasetsPage, datasetVersionPage } from './pages/data.ts';
import { modelPage, modelsPage, versionPage } from './pages/models.ts';
import { batchPage, modelMonitoringPage, monitoringPage } from './pages/monitoring.ts';
import { overviewPage } from './pages/overview.ts';
import { comparePage, MAX_COMPARE, modelRunsPage, runPage, runsPage } from './pages/runs.ts';

const RUN = '[A-Za-z0-9_.-]+';
const MODEL = '[A-Za-z_][A-Za-z0-9_]*';
const DATASET = '[A-Za-z0-9][A-Za-z0-9_.-]*';
const PAGE = '[2-9]|[1-9][0-9]+';

type Route = [RegExp, (ctx: PageContext, m: string[]) => Promise<Page>];

const ROUTES: Route[] = [
  [/^index\.html$/, (ctx) => overviewPage(ctx)],
  [/^runs\/index\.html$/, (ctx) => runsPage(ctx, 1)],
  [new RegExp(`^runs/page-(${PAGE})\\.html$`), (ctx, m) => runsPage(ctx, Number(m[1]))],
  [new RegExp(`^run/(${RUN})\\.html$`), (ctx, m) => runPage(ctx, m[1]!)],
  [
    new RegExp(`^compare/(${RUN}(?:${COMPARE_SEPARATOR}${RUN})+)\\.html$`),
    (ctx, m) => comparePage(ctx, m[1]!.split(COMPARE_SEPARATOR)),
  ],
  [/^models\/index\.html$/, (ctx) => modelsPage(ctx)],
  [new RegExp(`^models/(${MODEL})/index\\.html$`), (ctx, m) => modelPage(ctx, m[1]!)],
  [new RegExp(`^models/(${MODEL})/runs\\.html$`), (ctx, m) => modelRunsPage(ctx, m[1]!, 1)],
  [new RegExp(`^models/(${MODEL})/runs-(${PAGE})\\.html$`), (ctx, m) => modelRunsPage(ctx, m[1]!, Number(m[2]))],
  [new RegExp(`^models/(${MODEL})/versions/([1-9][0-9]*)\\.html$`), (ctx, m) => versionPage(ctx, m[1]!, Number(m[2]))],
  [new RegExp(`^models/(${MODEL})/monitoring\\.html$`), (ctx, m) => modelMonitoringPage(ctx, m[1]!)],
  [/^monitoring\/index\.html$/, (ctx) => monitoringPage(ctx)],
  [/^batches\/([A-Za-z0-9_-]+)\.html$/, (ctx, m) => batchPage(ctx, m[1]!)],
  [/^data\/index\.html$/, (ctx) => datasetsPage(ctx)],
  [new RegExp(`^data/(${DATASET})/index\\.html$`), (ctx, m) => datasetPage(ctx, m[1]!)],
  [new RegExp(`^data/(${DATASET})/([0-9a-f]{64})\\.html$`), (ctx, m) => datasetVersionPage(ctx, m[1]!, m[2]!)],
];

export type Rendered =
  | { status: number; html: string; links: string[]; error?: string }
  | { status: 303; location: string };

/** The one place an error becomes the UI's HTTP status. */
export function statusFor(e: unknown): number {
  if (e instanceof NotFoundError) return 404;
  if (e instanceof InvalidInputError) return 400;
  return 500;
}

const STATUS_TITLE: Record<number, string> = { 400: 'Bad request', 404: 'Not found', 500: 'Cannot show this page' };

/** Site paths this page links to (relative links resolved; fragments and data: URLs left out). */
export function linksOf(pagePath: string, text: string): string[] {
  const base = new URL(pagePath, 'http://site/');
  const out = new Set<string>();
  for (const m of text.matchAll(/\shref="([^"]*)"/g)) {
    const raw = m[1]!.replace(/&amp;/g, '&');
    if (!raw.startsWith('./') && !raw.startsWith('../')) continue;
    const u = new URL(raw, base);
    out.add(decodeURIComponent(u.pathname.slice(1)));
  }
  return [...out];
}

export interface UiSiteOptions {
  stores: UiStores;
  mode: 'server' | 'static';
  /** Immutable manifests kept between renders; one per store. */
  cache?: ManifestCache;
  now?: () => Date;
}

export class UiSite {
  readonly cache: ManifestCache;
  constructor(private readonly opts: UiSiteOptions) {
    this.cache = opts.cache ?? new ManifestCache();
  }

  get info(): SiteInfo {
    return {
      storeUrl: this.opts.stores.store.url,
      predictionsUrl: this.opts.stores.predictions.url,
      mode: this.opts.mode,
      generatedAt: this.opts.now?.().toISOString(),
    };
  }

  /** A view for one request (server) or one export (static): mutable reads are shared only within it. */
  newView(): StoreView {
    return new StoreView(this.opts.stores, this.cache);
  }

  /** Renders site path `path` (no leading slash). */
  async render(path: string, query: URLSearchParams = new URLSearchParams(), view = this.newView()): Promise<Rendered> {
    const site = this.info;
    const ctx: PageContext = { view, site, path };
    const seen = view.problems.length;
    try {
      if (path === paths.compareForm && site.mode === 'server') return this.compareRedirect(query);
      const route = ROUTES.find(([re]) => re.test(path));
      if (!route) throw new NotFoundError(`there is no page "${path}"`);
      const page = await route[1](ctx, route[0].exec(path)!.slice());
      const problems = [...new Set(view.problems.slice(seen))];
      const body = problems.length
        ? html`<section class="problem" aria-label="Unreadable manifests"><p>${problems.length} manifest${
            problems.length === 1 ? ' was' : 's were'
          } left out because ${problems.length === 1 ? 'it' : 'they'} could not be read:</p><ul>${problems.map(
            (p) => html`<li>${p}</li>`,
          )}</ul></section>${page.body}`
        : page.body;
      const text = renderPage({ ...page, body, path }, site);
      return { status: 200, html: text, links: linksOf(path, text) };
    } catch (e) {
      const status = statusFor(e);
      if (!(e instanceof MltkError)) throw e;
      const text = renderPage(
        {
          path,
          section: 'overview',
          title: STATUS_TITLE[status] ?? 'Error',
          body: html`<pre class="error">${e.message}</pre><p><a href="${href(
            path,
            paths.home,
          )}">Back to the overview</a></p>`,
        },
        site,
      );
      return { status, html: text, links: linksOf(path, text), error: e.message };
    }
  }

  private compareRedirect(query: URLSearchParams): Rendered {
    const ids = query.getAll('run');
    if (ids.length < 2 || ids.length > MAX_COMPARE)
      throw new InvalidInputError(
        `tick 2 to ${MAX_COMPARE} runs to compare (got ${ids.length}); go back to the runs table and choose again`,
      );
    if (!ids.every((id) => new RegExp(`^${RUN}$`).test(id))) throw new InvalidInputError('compare: not a run id');
    return { status: 303, location: paths.compare(ids) };
  }
}
