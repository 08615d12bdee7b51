import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { html, join, num } from './html.ts';
import { PAGE_CSP, renderPage, SERVER_CSP } from './layout.ts';
import { batchSlug, href, paths } from './paths.ts';
import { sitePath } from './server.ts';
import { linksOf, statusFor } from './site.ts';
import { graph, heatmap, lineChart, niceTicks } from './svg.ts';
import { InvalidInputError, IntegrityError, NotFoundError } from '../errors/index.ts';

const EVIL = `"'><script>alert(1)</script><img src=x onerror=alert(2)>&amp;`;

test('interpolated text is escaped in element text and in attributes; nested Html passes once', () => {
  const out = html`<p title="${EVIL}">${EVIL}</p>${html`<b>${EVIL}</b>`}${[EVIL, 1, null, undefined, false]}`.text;
  assert.doesNotMatch(out, /<script|<img|onerror="|"'>/);
  assert.equal(out.match(/&lt;script&gt;/g)?.length, 4);
  assert.match(out, /&amp;amp;/, 'an entity in store text shows as typed, not decoded');
  assert.equal(join([EVIL, html`<br>`], html`<hr>`).text, `${html`${EVIL}`.text}<hr><br>`);
});

test('charts escape their labels and titles, and draw only finite numbers', () => {
  const svg = [
    lineChart({
      title: EVIL,
      xLabel: EVIL,
      series: [
        {
          label: EVIL,
          points: [
            { x: 1, y: 2, title: EVIL },
            { x: 2, y: Number.NaN },
            { x: 3, y: 4 },
          ],
        },
        { label: 'b', points: [{ x: 1, y: 3 }] },
      ],
    }),
    heatmap({ title: EVIL, rows: [EVIL], columns: [{ at: 0, title: EVIL }], values: [[0.3]], warn: 0.1, alert: 0.25 }),
    graph(EVIL, [EVIL], [{ id: 'a', column: 0, label: EVIL, detail: EVIL, kind: 'run', href: './x.html' }], []),
  ]
    .map((h) => h.text)
    .join('');
  assert.doesNotMatch(svg, /<script|<img|NaN|Infinity/);
  assert.match(svg, /<polyline points="[\d., ]+"/);
});

test('links are relative, encoded and never read as a URL scheme', () => {
  assert.equal(href('index.html', paths.run('a')), './run/a.html');
  assert.equal(href('models/m/versions/3.html', paths.run('a')), '../../../run/a.html');
  assert.equal(href('run/x.html', 'javascript:alert(1)/x.html'), '../javascript%3Aalert(1)/x.html');
  assert.equal(href('index.html', 'data/<x>/index.html'), './data/%3Cx%3E/index.html');
  assert.deepEqual(
    linksOf(
      'models/m/index.html',
      '<a href="../../run/a.html#top"> <a href="data:,"> <a href="https://x.test/"> <a href="../../run/a.html">',
    ),
    ['run/a.html'],
  );
});

test('a batch path of any text becomes a distinct, safe file name', () => {
  const names = ['2026/01/05/batch', '2026_01_05_batch', '../../etc/passwd', '<script>', ''].map(batchSlug);
  assert.equal(new Set(names).size, names.length);
  for (const n of names) assert.match(n, /^[A-Za-z0-9_-]+$/);
});

test('server paths: traversal, encoded slashes and NUL are refused; folders serve their index', () => {
  assert.equal(sitePath('/'), 'index.html');
  assert.equal(sitePath('/runs/'), 'runs/index.html');
  assert.equal(sitePath('/run/a%2Eb.html'), 'run/a.b.html');
  for (const bad of ['/../x', '/a/%2e%2e/x', '/a%2Fb', '/a%00', '/%E0%A4%A'])
    assert.equal(sitePath(bad), undefined, bad);
});

test('the policy allows exactly the shipped script and style, by hash', () => {
  const page = renderPage(
    { path: 'index.html', title: 'T', section: 'overview', body: html`<p>x</p>` },
    { storeUrl: 's', predictionsUrl: 's', mode: 'static' },
  );
  const script = /<script>([\s\S]*?)<\/script>/.exec(page)![1]!;
  const style = /<style>([\s\S]*?)<\/style>/.exec(page)![1]!;
  const hash = (t: string) => `'sha256-${createHash('sha256').update(t).digest('base64')}'`;
  assert.match(PAGE_CSP, new RegExp(`script-src ${hash(script).replace(/[+/]/g, '\\$&')}(;|$)`));
  assert.match(PAGE_CSP, new RegExp(`style-src ${hash(style).replace(/[+/]/g, '\\$&')}(;|$)`));
  assert.match(PAGE_CSP, /default-src 'none'/);
  assert.doesNotMatch(PAGE_CSP, /unsafe-inline|unsafe-eval|frame-ancestors/);
  assert.match(SERVER_CSP, /frame-ancestors 'none'$/);
  assert.equal(page.match(/<script/g)?.length, 1);
  assert.doesNotMatch(page, /\sstyle="/, 'no inline style attributes (the policy would block them)');
});

test('errors map to statuses in one place', () => {
  assert.equal(statusFor(new NotFoundError('x')), 404);
  assert.equal(statusFor(new InvalidInputError('x')), 400);
  assert.equal(statusFor(new IntegrityError('x')), 500);
  assert.equal(statusFor(new Error('x')), 500);
});

test('numbers: ticks are round and cover the range; metrics show 4 significant digits', () => {
  assert.deepEqual(niceTicks(0, 1), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(3.7, 10.2), [4, 5, 6, 7, 8, 9, 10]);
  assert.deepEqual(niceTicks(-0.3, 12), [0, 2, 4, 6, 8, 10, 12]);
  assert.deepEqual(niceTicks(5, 5), [5]);
  assert.equal(num(5.6432), '5.643');
  assert.equal(num(0.00012345), '1.23e-4');
  assert.equal(num(12000), '12,000');
  assert.equal(num(null), '–');
  assert.equal(num(Number.NaN), '–');
});
