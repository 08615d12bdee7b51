// `mltk ui --output DIR`: the site as plain files with relative links, opened from disk or
// published to a bucket. The pages are found by following every link from the overview, so the
// export holds exactly the pages its links reach, and a link that reaches no page is reported.
//
// The export is built in a sibling folder and swapped in by two renames, so DIR is always either
// the previous export or the new one, whole. A crash (kill -9) leaves at most DIR.tmp-PID-* (the
// new export, unfinished) or DIR.old-PID-* (the previous one, being replaced); the next export of
// DIR removes the first, puts the second back when DIR is missing, and then writes as usual.
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { InvalidInputError } from '../errors/index.ts';
import { paths } from './paths.ts';
import { UiSite } from './site.ts';
import type { UiStores } from './view.ts';

/** Written last into every export: marks a folder this command may replace. */
export const EXPORT_MARKER = '.mltk-ui.json';

export interface ExportResult {
  output: string;
  pages: number;
  /** Pages rendered with an error status (an unreadable manifest, a link to nothing). */
  problems: { path: string; status: number; error: string; linkedFrom: string }[];
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

/** Cleans up after an export of `dir` that crashed; leaves alone the work of one still running. */
export async function recoverExport(dir: string): Promise<void> {
  const parent = dirname(dir),
    name = basename(dir);
  const leftovers = (await readdir(parent).catch(() => [] as string[]))
    .map((f) => ({
      f,
      m: new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(tmp|old)-(\\d+)-[0-9a-f]+$`).exec(f),
    }))
    .filter((x) => x.m && !alive(Number(x.m[2])));
  for (const { f, m } of leftovers) {
    if (m![1] === 'old' && !(await exists(dir))) await rename(join(parent, f), dir);
    else await rm(join(parent, f), { recursive: true, force: true });
  }
}

/** DIR may be replaced when it is absent, empty, or an earlier export (it has the marker). */
async function checkReplaceable(dir: string): Promise<void> {
  const info = await stat(dir).catch(() => undefined);
  if (!info) return;
  if (!info.isDirectory()) throw new InvalidInputError(`--output ${dir} is a file, not a folder`);
  const entries = await readdir(dir);
  if (entries.length && !entries.includes(EXPORT_MARKER)) {
    throw new InvalidInputError(
      `--output ${dir} is a folder that is not an mltk ui export (no ${EXPORT_MARKER}); choose an empty or new ` +
        `folder, nothing was written`,
    );
  }
}

function fileOf(root: string, sitePath: string): string {
  const file = resolve(root, ...sitePath.split('/'));
  if (!file.startsWith(root + sep)) throw new Error(`page path escapes the export: ${sitePath}`);
  return file;
}

/** Renders every page the overview's links reach into `tmp`; the export's state is one shared view. */
async function writePages(
  site: UiSite,
  tmp: string,
  onPage?: (path: string) => void,
): Promise<Omit<ExportResult, 'output'>> {
  const view = site.newView();
  const queue: { path: string; from: string }[] = [{ path: paths.home, from: '' }];
  const seen = new Set([paths.home]);
  const problems: ExportResult['problems'] = [];
  for (let next = queue.shift(); next; next = queue.shift()) {
    const out = await site.render(next.path, undefined, view);
    if ('location' in out) throw new Error(`${next.path}: a redirect in a static export`);
    if (out.status !== 200)
      problems.push({ path: next.path, status: out.status, error: out.error ?? '', linkedFrom: next.from });
    const file = fileOf(tmp, next.path);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, out.html);
    onPage?.(next.path);
    for (const l of out.links)
      if (!seen.has(l)) {
        seen.add(l);
        queue.push({ path: l, from: next.path });
      }
  }
  return { pages: seen.size, problems };
}

export async function writeStaticSite(
  stores: UiStores,
  output: string,
  opts: { now?: () => Date; onPage?: (path: string) => void } = {},
): Promise<ExportResult> {
  const dir = resolve(output);
  await mkdir(dirname(dir), { recursive: true });
  await recoverExport(dir);
  await checkReplaceable(dir);
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const tmp = `${dir}.tmp-${tag}`;
  const site = new UiSite({ stores, mode: 'static', now: opts.now ?? (() => new Date()) });
  try {
    await mkdir(tmp);
    const result = await writePages(site, tmp, opts.onPage);
    await writeFile(
      join(tmp, EXPORT_MARKER),
      `${JSON.stringify(
        {
          kind: 'mltk.ui_export',
          store: stores.store.url,
          predictions: stores.predictions.url,
          generated_at: site.info.generatedAt,
          pages: result.pages,
        },
        null,
        2,
      )}\n`,
    );
    const old = `${dir}.old-${tag}`;
    const had = await exists(dir);
    if (had) await rename(dir, old);
    await rename(tmp, dir);
    if (had) await rm(old, { recursive: true, force: true });
    return { output: dir, ...result };
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}
