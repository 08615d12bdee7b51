// `mltk ui` in a real browser: Debian's headless Chromium driven over the DevTools protocol
// (playwright-core, no browser download). Every page is crawled through its links, on the server
// and from a static export on disk: each link must resolve, no page may log a console error, the
// store's untrusted text must show as text, and only 127.0.0.1 or file:// may be requested.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { quoted } from '../errors/index.ts';
import { readDriftReport, readQuality } from '../monitor/index.ts';
import { openStore } from '../store/index.ts';
import { num } from './html.ts';
import { runMltk } from '../testing/cli.ts';
import { motoUnavailable, startMoto, useMotoEnv, type MotoServer } from '../testing/moto.ts';
import { SERVER_CSP, startUiServer, type UiServer } from './index.ts';
import { buildUiFixture, XSS, type UiFixture } from './testdata.ts';

import { CHROMIUM } from '../testing/chromium.ts';
const skip = existsSync(CHROMIUM)
  ? motoUnavailable()
  : `${CHROMIUM} not installed (Debian package chromium, or set MLTK_CHROMIUM)`;
const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
const VIEWPORT = { width: 1280, height: 900 };

let moto: MotoServer;
let fx: UiFixture;
let browser: BrowserContext;
let server: UiServer;
let emptyServer: UiServer;
const profile = mkdtempSync(join(tmpdir(), 'mltk-ui-chromium-'));
/** Requests to anywhere but 127.0.0.1, file:// and data: (aborted; there must be none). */
const outside: string[] = [];

before(async () => {
  if (skip) return;
  moto = await startMoto();
  useMotoEnv(moto);
  fx = await buildUiFixture({ cloudwatchEndpoint: moto.endpoint });
  server = await startUiServer({ store: fx.store, predictions: fx.predictions }, { port: 0, log: () => {} });
  emptyServer = await startUiServer(
    { store: openStore(join(fx.dir, 'empty')), predictions: openStore(join(fx.dir, 'empty')) },
    { port: 0 },
  );
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: VIEWPORT,
  });
  await browser.route('**/*', (route) => {
    const u = new URL(route.request().url());
    if (u.protocol === 'file:' || u.protocol === 'data:' || u.hostname === '127.0.0.1') return route.continue();
    outside.push(u.href);
    return route.abort();
  });
});

after(async () => {
  await browser?.close();
  await server?.close();
  await emptyServer?.close();
  await moto?.stop();
  await rm(profile, { recursive: true, force: true });
  if (fx) await rm(fx.dir, { recursive: true, force: true });
});

// Browser-side code is passed as source text: it runs in the page, not under Node's types.
const PAGE_FACTS = `({
  xss: window.__xss,
  text: document.body.innerText,
  links: [...document.querySelectorAll('a[href]')].map((a) => new URL(a.getAttribute('href'), document.baseURI).href),
  ids: [...document.querySelectorAll('[id]')].map((e) => e.id),
  unlabelled: [...document.querySelectorAll('input, select, textarea')]
    .filter((e) => !e.labels?.length && !e.getAttribute('aria-label')).map((e) => e.outerHTML),
  emptyButtons: [...document.querySelectorAll('button, a[href]')]
    .filter((e) => !e.textContent.trim() && !e.getAttribute('aria-label') && !e.querySelector('title'))
    .map((e) => e.outerHTML),
  h1: document.querySelectorAll('h1').length,
})`;

interface PageFacts {
  xss: unknown;
  text: string;
  links: string[];
  ids: string[];
  unlabelled: string[];
  emptyButtons: string[];
  h1: number;
}

const FOCUSED_OUTLINE =
  `(() => { const s = getComputedStyle(document.activeElement); return s.outlineStyle + ' ' + ` +
  `s.outlineWidth; })()`;
const matchesFocused = (selector: string) =>
  `document.activeElement ? document.activeElement.matches(${JSON.stringify(selector)}) : false`;

/** Decodes a PNG in the page and measures it: a blank or near-blank capture has few colours and little ink. */
const INK = (b64: string) => `(async () => {
  const img = new Image();
  img.src = 'data:image/png;base64,${b64}';
  await img.decode();
  const canvas = document.createElement('canvas');
  canvas.width = img.width; canvas.height = img.height;
  const g = canvas.getContext('2d');
  g.drawImage(img, 0, 0);
  const d = g.getImageData(0, 0, img.width, img.height).data;
  const colours = new Set();
  let dark = 0;
  for (let i = 0; i < d.length; i += 4) {
    colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
    if (d[i] + d[i + 1] + d[i + 2] < 600) dark++;
  }
  return { colours: colours.size, dark: dark / (d.length / 4) };
})()`;

interface Crawl {
  /** Every page reached, with its visible text. */
  pages: Map<string, string>;
  problems: string[];
}

/** Opens `start` and every page its links reach within `inside`, checking each as it goes. */
async function crawl(start: string, inside: (url: string) => boolean): Promise<Crawl> {
  const page = await browser.newPage();
  const problems: string[] = [];
  let current = start;
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`${current}: console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`${current}: page error: ${e.message}`));
  const pages = new Map<string, string>();
  const ids = new Map<string, string[]>();
  const fragments: { target: string; id: string; from: string }[] = [];
  const queue: { url: string; from: string }[] = [{ url: start, from: '(start)' }];
  const seen = new Set([start]);
  for (let next = queue.shift(); next; next = queue.shift()) {
    current = next.url;
    const res = await page.goto(next.url).catch((e: Error) => e);
    if (res instanceof Error || (res && res.status() !== 200)) {
      problems.push(
        `${next.url} (linked from ${next.from}): ${res instanceof Error ? res.message.split('\n')[0] : res?.status()}`,
      );
      continue;
    }
    const found = (await page.evaluate(PAGE_FACTS)) as PageFacts;
    if (found.xss !== undefined)
      problems.push(`${next.url}: injected markup ran (window.__xss = ${String(found.xss)})`);
    for (const u of found.unlabelled) problems.push(`${next.url}: input without a label: ${u}`);
    for (const b of found.emptyButtons) problems.push(`${next.url}: control without a name: ${b}`);
    if (found.h1 !== 1) problems.push(`${next.url}: ${found.h1} h1 elements`);
    pages.set(next.url, found.text);
    ids.set(next.url, found.ids);
    for (const l of found.links) {
      const u = new URL(l);
      if (u.hash)
        fragments.push({
          target: `${u.origin === 'null' ? 'file://' : u.origin}${u.pathname}`,
          id: decodeURIComponent(u.hash.slice(1)),
          from: next.url,
        });
      u.hash = '';
      if (inside(u.href) && !seen.has(u.href)) {
        seen.add(u.href);
        queue.push({ url: u.href, from: next.url });
      }
    }
  }
  for (const f of fragments)
    if (ids.has(f.target) && !ids.get(f.target)!.includes(f.id))
      problems.push(`${f.from}: link to #${f.id} on ${f.target}, which has no such id`);
  await page.close();
  return { pages, problems };
}

const textOf = (c: Crawl, suffix: string): string => {
  const hit = [...c.pages.entries()].find(([u]) => u.endsWith(suffix));
  assert.ok(hit, `no page ${suffix}; pages: ${[...c.pages.keys()].join(' ')}`);
  return hit[1];
};

const batchPage = (c: Crawl, slug: string): string => {
  const hit = [...c.pages.entries()].find(([u]) => new RegExp(`batches/${slug}-[0-9a-f]+\\.html$`).test(u));
  assert.ok(hit, `no page for batch ${slug}`);
  return hit[1];
};

/** Quality over time: realized (labels) and estimated (no labels) error drawn and tabled with their values. */
async function assertQualityShown(c: Crawl): Promise<void> {
  const monitoring = textOf(c, 'models/sap_change/monitoring.html');
  assert.match(monitoring, /3 batches with an estimate .*, 2 with labels/);
  assert.match(monitoring, /RMSE per batch: realized \(labels\), estimated \(no labels\), test/);
  assert.match(monitoring, /RMSE \/ test RMSE of the version that scored the batch/);
  const first = (await readQuality(fx.predictions, '2026/01/05/batch.csv'))!;
  const shifted = (await readQuality(fx.predictions, '2026/01/07/batch.csv'))!;
  const estimated = (await readDriftReport(fx.predictions, '2026/01/06/batch.csv'))!.estimated!;
  assert.equal(first.labels.coverage, 1);
  assert.equal(shifted.labels.joined, 300);
  assert.ok(shifted.realized.rmse > first.realized.rmse, 'the shifted batch is the worse one');
  for (const value of [first.realized.rmse, shifted.realized.rmse, first.estimated!.rmse, first.test.rmse!])
    assert.ok(monitoring.includes(num(value)), `the monitoring page shows ${num(value)}`);
  const labelled = batchPage(c, '2026_01_07_batch_csv');
  assert.match(labelled, /Quality \(labels\)/);
  assert.ok(labelled.includes(`${num(300)} of ${num(600)} predictions (50.0%)`), 'labelled rows and coverage');
  assert.ok(labelled.includes(num(shifted.realized.rmse)));
  for (const band of Object.keys(shifted.by_band!)) assert.match(labelled, new RegExp(`\\b${band}\\b`));
  const unlabelled = batchPage(c, '2026_01_06_batch_csv');
  assert.match(unlabelled, /No labels for this batch yet/);
  assert.ok(unlabelled.includes(num(estimated.rmse)), 'its estimate');
}

/** Untrusted text from the store, shown as text on the pages that carry it. */
function assertShownAsText(c: Crawl): void {
  const [r1, , , , notebook] = fx.runIds;
  assert.ok(textOf(c, 'models/sap_change/index.html').includes(XSS.description));
  assert.ok(textOf(c, 'models/sap_change/index.html').includes(XSS.reason));
  assert.ok(textOf(c, `run/${notebook}.html`).includes(XSS.param));
  // The failed run's error quotes the bad cell as every message quotes input (JSON-escaped, errors/quote.ts).
  assert.ok(textOf(c, `run/${fx.failedRunId}.html`).includes(quoted(XSS.error)));
  assert.ok(textOf(c, `run/${r1}.html`).includes(XSS.description));
  const versions = [...c.pages.entries()].filter(([u]) => /data\/epc_retrofit\/[0-9a-f]{64}\.html$/.test(u));
  assert.ok(
    versions.some(([, t]) => t.includes(XSS.source)),
    'the dataset source shows as text',
  );
  const batch = [...c.pages.entries()].find(([u]) => /batches\/2026_01_06_batch_csv-[0-9a-f]+\.html$/.test(u));
  assert.ok(batch?.[1].includes(XSS.category), 'an unseen category from a scored batch shows as text');
}

test('an empty store: every page renders, links resolve, no console errors', { skip }, async () => {
  const c = await crawl(`${emptyServer.url}/`, (u) => u.startsWith(emptyServer.url));
  assert.deepEqual(c.problems, []);
  assert.ok(c.pages.size >= 5, [...c.pages.keys()].join(' '));
  assert.match(textOf(c, '/'), /This store is empty/);
});

test('the server: every link on every page resolves, no console errors, untrusted text stays text, nothing leaves ' +
  '127.0.0.1', {
  skip,
}, async () => {
  const c = await crawl(`${server.url}/`, (u) => u.startsWith(server.url));
  assert.deepEqual(c.problems, []);
  assert.deepEqual(outside, []);
  for (const id of [...fx.runIds, fx.failedRunId]) textOf(c, `run/${id}.html`);
  for (const v of [1, 2, 3]) textOf(c, `models/sap_change/versions/${v}.html`);
  assert.equal([...c.pages.keys()].filter((u) => /\/batches\//.test(u)).length, 4);
  assert.ok([...c.pages.keys()].some((u) => /\/compare\//.test(u)));
  assertShownAsText(c);
  const version = textOf(c, 'models/sap_change/versions/1.html');
  assert.match(version, /2026\/01\/05\/batch/, 'the lineage graph names the batches v1 scored');
  assert.match(textOf(c, 'models/sap_change/index.html'), /rollback from 2/);
  const monitoring = textOf(c, 'models/sap_change/monitoring.html');
  assert.match(monitoring, /Share of drifted features per batch/);
  assert.match(
    monitoring,
    /Batches scored/,
    'quality over time: the test error of the versions that scored the batches',
  );
  await assertQualityShown(c);
  const res = await fetch(`${server.url}/`);
  assert.equal(res.headers.get('content-security-policy'), SERVER_CSP);
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
});

test('the server refuses writes, foreign Host headers and paths outside the site', { skip }, async () => {
  assert.equal((await fetch(`${server.url}/`, { method: 'POST', body: 'x' })).status, 405);
  assert.equal(await statusWithHost(`${server.url}/index.html`, 'rebound.example:80'), 421);
  assert.equal(await statusWithHost(`${server.url}/index.html`, new URL(server.url).host), 200);
  assert.equal((await fetch(`${server.url}/run/..%2F..%2Fetc%2Fpasswd.html`)).status, 400);
  const missing = await fetch(`${server.url}/run/20990101T000000Z-ffffff.html`);
  assert.equal(missing.status, 404);
  assert.match(await missing.text(), /no run &quot;20990101T000000Z-ffffff&quot;/);
  assert.equal((await fetch(`${server.url}/compare.html?run=${fx.runIds[0]}`)).status, 400);
});

/** fetch cannot set Host; a DNS-rebinding page's request carries its own name there. */
function statusWithHost(url: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    request(url, { headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    })
      .on('error', reject)
      .end();
  });
}

/** Presses Tab until `selector` has focus (a keyboard user's path to it); fails after `max` presses. */
async function tabTo(page: Page, selector: string, max = 80): Promise<void> {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate(matchesFocused(selector))) return;
  }
  assert.fail(`Tab never reached ${selector}`);
}

test('by keyboard: filter and sort the runs table, tick runs and open their comparison', { skip }, async () => {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await page.goto(`${server.url}/runs/index.html`);
  await tabTo(page, '#runs-q');
  const outline = await page.evaluate(FOCUSED_OUTLINE);
  assert.equal(outline, 'solid 3px', 'focus is visible');
  await page.keyboard.type('FAILED');
  assert.equal(await page.locator('#runs tbody tr:visible').count(), 1);
  assert.match((await page.locator('#runs-count').textContent()) ?? '', /^1 of \d+ shown$/);
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Backspace');
  await tabTo(page, '#runs thead th:last-child button');
  await page.keyboard.press('Enter');
  assert.equal(await page.locator('#runs thead th:last-child').getAttribute('aria-sort'), 'ascending');
  const values = (await page.locator('#runs tbody tr td:last-child').allInnerTexts())
    .filter((t) => t !== '–')
    .map(Number);
  assert.deepEqual(
    values,
    [...values].sort((a, b) => a - b),
  );
  await page.keyboard.press('Enter');
  assert.equal(await page.locator('#runs thead th:last-child').getAttribute('aria-sort'), 'descending');
  for (const id of fx.runIds.slice(0, 2)) {
    await tabTo(page, `input[value="${id}"]`);
    await page.keyboard.press('Space');
  }
  await tabTo(page, '#compare-form button');
  await Promise.all([page.waitForURL(/\/compare\/.+\.html$/), page.keyboard.press('Enter')]);
  assert.equal(await page.locator('h1').textContent(), 'Compare 2 runs');
  assert.deepEqual(errors, []);
  await page.close();
});

test('the compare view, screenshotted: loss curves overlaid, params that differ highlighted', { skip }, async () => {
  const page = await browser.newPage();
  const trained = fx.runIds.slice(0, 3);
  await page.goto(`${server.url}/compare/${trained.join('~')}.html`);
  assert.equal(await page.locator('figure.chart polyline').count(), 3, 'one curve per run on the loss chart');
  assert.ok((await page.locator('tr.diff').count()) >= 2, 'trees and learning_rate differ');
  const png = await page.screenshot({ fullPage: false });
  assert.equal(png.subarray(1, 4).toString(), 'PNG');
  assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [VIEWPORT.width, VIEWPORT.height]);
  const ink = (await page.evaluate(INK(png.toString('base64')))) as { colours: number; dark: number };
  assert.ok(ink.colours > 50, `only ${ink.colours} colours`);
  assert.ok(ink.dark > 0.02 && ink.dark < 0.6, `ink ${ink.dark}`);
  if (process.env.MLTK_UI_SCREENSHOT) writeFileSync(process.env.MLTK_UI_SCREENSHOT, png);
  await page.close();
});

test('the static export (the real CLI) opens from disk: every link resolves, no console errors, text stays text', {
  skip,
}, async () => {
  const out = join(fx.dir, 'site');
  const r = await runMltk([
    '--store',
    join(fx.dir, 'store'),
    '--json',
    'ui',
    '--predictions',
    join(fx.dir, 'predictions'),
    '--output',
    out,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.deepEqual(doc.problems, []);
  const root = pathToFileURL(`${out}/`).href;
  const c = await crawl(`${root}index.html`, (u) => u.startsWith(root));
  assert.deepEqual(c.problems, []);
  assert.equal(c.pages.size, doc.pages);
  assertShownAsText(c);
  assert.deepEqual(outside, []);
});
