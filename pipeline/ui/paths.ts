// The site's pages as relative file paths: the server answers the same paths the static export
// writes, so a link built once works over HTTP and from disk (file://) alike.
import { createHash } from 'node:crypto';

/** Separates run ids in a compare page's name; never part of a run id. */
export const COMPARE_SEPARATOR = '~';
const BATCH_SLUG_CHARS = 60;
const BATCH_HASH_CHARS = 10;

/**
 * A scored batch's `<path>` (any text, slashes included) as one file name: readable, and made
 * unique by a hash of the whole path.
 */
export function batchSlug(path: string): string {
  const readable = path
    .replace(/[^A-Za-z0-9_-]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(-BATCH_SLUG_CHARS);
  const hash = createHash('sha256').update(path).digest('hex').slice(0, BATCH_HASH_CHARS);
  return readable ? `${readable}-${hash}` : hash;
}

export const paths = {
  home: 'index.html',
  runs: (page = 1): string => (page === 1 ? 'runs/index.html' : `runs/page-${page}.html`),
  run: (id: string): string => `run/${id}.html`,
  compare: (ids: readonly string[]): string => `compare/${ids.join(COMPARE_SEPARATOR)}.html`,
  /** The server's target for the runs table's compare form (a query string; not in a static export). */
  compareForm: 'compare.html',
  models: 'models/index.html',
  model: (name: string): string => `models/${name}/index.html`,
  modelRuns: (name: string, page = 1): string =>
    page === 1 ? `models/${name}/runs.html` : `models/${name}/runs-${page}.html`,
  version: (name: string, version: number): string => `models/${name}/versions/${version}.html`,
  modelMonitoring: (name: string): string => `models/${name}/monitoring.html`,
  monitoring: 'monitoring/index.html',
  batch: (path: string): string => `batches/${batchSlug(path)}.html`,
  datasets: 'data/index.html',
  dataset: (name: string): string => `data/${name}/index.html`,
  datasetVersion: (name: string, version: string): string => `data/${name}/${version}.html`,
};

/**
 * The link from page `from` to page `to`, relative (so it works from disk), each segment
 * percent-encoded, and always starting with ./ or ../ so no segment can be read as a URL scheme.
 */
export function href(from: string, to: string): string {
  const depth = from.split('/').length - 1;
  const target = to.split('/').map(encodeURIComponent).join('/');
  return `${depth === 0 ? './' : '../'.repeat(depth)}${target}`;
}
