// The page frame every UI page shares: header and navigation, the CSS, the one small script (table
// sort and filter) and the Content-Security-Policy that allows exactly that script and that CSS by
// their hashes, nothing else: no other script, no inline style attribute, no external resource.
import { createHash } from 'node:crypto';
import { html, trusted, type Content, type Html } from './html.ts';
import { href, paths } from './paths.ts';

const CSS = `
:root{--fg:#1f2328;--muted:#57606a;--line:#d0d7de;--soft:#f6f8fa;--link:#0550ae;--focus:#0969da;--ok:#1a7f37;
--warn:#9a6700;--alert:#cf222e}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:var(--fg);background:#fff}
a{color:var(--link)}
a:focus-visible,button:focus-visible,input:focus-visible,summary:focus-visible{outline:3px solid var(--focus);
outline-offset:2px;border-radius:3px}
svg a:focus-visible rect,svg a:focus rect{stroke:var(--focus);stroke-width:3}
.skip{position:absolute;left:-999px;top:0;background:#fff;padding:6px 10px;z-index:2}
.skip:focus{left:8px}
header.site{display:flex;flex-wrap:wrap;align-items:baseline;gap:4px 24px;padding:10px 24px;
border-bottom:1px solid var(--line);background:var(--soft)}
header.site .brand{font-weight:700;font-size:16px;color:var(--fg);text-decoration:none}
header.site nav ul{display:flex;gap:4px 16px;list-style:none;margin:0;padding:0;flex-wrap:wrap}
header.site nav a{text-decoration:none;padding:2px 4px}
header.site nav a[aria-current=page]{font-weight:700;border-bottom:2px solid var(--focus)}
header.site .store{color:var(--muted);font-size:12px;margin-left:auto;word-break:break-all}
main{padding:12px 24px 32px;max-width:1400px}
.crumbs{font-size:13px;color:var(--muted);margin:4px 0}
.crumbs ol{list-style:none;display:flex;flex-wrap:wrap;gap:4px;margin:0;padding:0}
.crumbs li+li::before{content:"/";margin-right:4px}
h1{font-size:22px;margin:8px 0 12px;word-break:break-word}
h2{font-size:17px;margin:24px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{font-size:15px;margin:16px 0 6px}
p.lead{color:var(--muted);margin-top:-6px}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:3px 16px;margin:0}
dl.facts dt{color:var(--muted)}dl.facts dd{margin:0;word-break:break-word}
table{border-collapse:collapse;font-size:13px;margin:4px 0 8px}
th,td{text-align:left;padding:4px 10px;border-bottom:1px solid #eaeef2;vertical-align:top}
thead th{background:var(--soft);border-bottom:1px solid var(--line);white-space:nowrap}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
tr.diff td{background:#fff8c5}
tr.diff th::after{content:" ≠";color:var(--warn)}
td.best{font-weight:700}
.wrap{overflow-x:auto}
button.sort{font:inherit;font-weight:600;background:none;border:0;padding:0;cursor:pointer;color:var(--fg)}
th[aria-sort=ascending] button.sort::after{content:" ▲"}
th[aria-sort=descending] button.sort::after{content:" ▼"}
.tools{display:flex;flex-wrap:wrap;gap:8px 16px;align-items:center;margin:8px 0}
.tools input[type=search]{font:inherit;padding:4px 8px;border:1px solid var(--line);border-radius:4px;min-width:260px}
.tools button,.button{font:inherit;padding:4px 12px;border:1px solid var(--line);border-radius:4px;
background:var(--soft);color:var(--fg);cursor:pointer;text-decoration:none}
.status{font-size:12px;padding:1px 8px;border-radius:10px;border:1px solid currentColor;white-space:nowrap}
.status.FINISHED,.status.ok{color:var(--ok)}.status.FAILED,.status.alert{color:var(--alert)}
.status.RUNNING,.status.warn{color:var(--warn)}
.problem{color:var(--alert)}
pre{background:var(--soft);border:1px solid var(--line);border-radius:6px;padding:8px 12px;overflow:auto;
max-height:480px;font-size:12px}
pre.error{border-color:var(--alert);white-space:pre-wrap}
code{font-size:12px}
td time,td code{white-space:nowrap}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:12px 24px}
figure.chart{margin:8px 0 16px;max-width:760px}
figure.graph{max-width:1100px}
figure.chart>svg{width:100%;height:auto;display:block}
figure.chart figcaption{font-size:12px;color:var(--muted)}
.axis text,svg text{font-size:11px;fill:var(--muted)}
svg text.node{font-size:12px;fill:var(--fg);font-weight:600}svg text.head{font-size:12px;font-weight:600;fill:var(--fg)}
line.threshold.warn{stroke:var(--warn)}line.threshold.alert{stroke:var(--alert)}
ul.legend{list-style:none;display:flex;flex-wrap:wrap;gap:4px 16px;padding:0;margin:4px 0;font-size:12px}
ul.legend svg{vertical-align:middle;margin-right:4px}
.pages{display:flex;gap:12px;margin:8px 0}
.empty{color:var(--muted);font-style:italic}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
footer{color:var(--muted);font-size:12px;padding:16px 24px;border-top:1px solid var(--line)}
`.trim();

const SCRIPT = `
(function () {
  'use strict';
  function value(row, col) {
    var cell = row.cells[col];
    return cell ? (cell.getAttribute('data-v') !== null ? cell.getAttribute('data-v') : cell.textContent.trim()) : '';
  }
  document.querySelectorAll('table.sortable').forEach(function (table) {
    var body = table.tBodies[0];
    if (!body) return;
    table.querySelectorAll('thead th').forEach(function (th, col) {
      var button = th.querySelector('button.sort');
      if (!button) return;
      button.addEventListener('click', function () {
        var asc = th.getAttribute('aria-sort') !== 'ascending';
        table.querySelectorAll('thead th[aria-sort]').forEach(function (h) { h.removeAttribute('aria-sort'); });
        th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
        var numeric = th.getAttribute('data-type') === 'num';
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = value(a, col), y = value(b, col);
          if (numeric) {
            var p = parseFloat(x), q = parseFloat(y);
            if (isNaN(p) || isNaN(q)) return isNaN(p) === isNaN(q) ? 0 : isNaN(p) ? 1 : -1;
            return asc ? p - q : q - p;
          }
          return asc ? x.localeCompare(y) : y.localeCompare(x);
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
  document.querySelectorAll('input[data-filter]').forEach(function (input) {
    var table = document.getElementById(input.getAttribute('data-filter'));
    var count = document.getElementById(input.getAttribute('data-filter') + '-count');
    if (!table || !table.tBodies[0]) return;
    input.addEventListener('input', function () {
      var q = input.value.trim().toLowerCase(), rows = table.tBodies[0].rows, shown = 0;
      for (var i = 0; i < rows.length; i++) {
        var hit = q === '' || rows[i].textContent.toLowerCase().indexOf(q) >= 0;
        rows[i].hidden = !hit;
        if (hit) shown++;
      }
      if (count) count.textContent = shown + ' of ' + rows.length + ' shown';
    });
  });
})();
`.trim();

const sha256 = (text: string): string => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/**
 * The policy of every page (a meta tag, so it holds from disk too). `frame-ancestors` only works
 * as a header, which the server adds (SERVER_CSP).
 */
export const PAGE_CSP = [
  "default-src 'none'",
  `script-src ${sha256(SCRIPT)}`,
  `style-src ${sha256(CSS)}`,
  'img-src data:',
  "form-action 'self'",
  "base-uri 'none'",
].join('; ');
export const SERVER_CSP = `${PAGE_CSP}; frame-ancestors 'none'`;

export type Section = 'overview' | 'runs' | 'models' | 'data' | 'monitoring';

export interface PageFrame {
  /** This page's site path, e.g. runs/ID.html: links are made relative to it. */
  path: string;
  title: string;
  section: Section;
  crumbs?: { label: string; to?: string }[];
  body: Html;
}

export interface SiteInfo {
  storeUrl: string;
  predictionsUrl: string;
  mode: 'server' | 'static';
  generatedAt?: string;
}

const NAV: [Section, string, string][] = [
  ['overview', 'Overview', paths.home],
  ['runs', 'Runs', paths.runs()],
  ['models', 'Models', paths.models],
  ['data', 'Data', paths.datasets],
  ['monitoring', 'Monitoring', paths.monitoring],
];

/** A link from the page at `from` (text escaped, target relative). */
export function link(from: string, to: string, text: Content, attrs: Html = html``): Html {
  return html`<a href="${href(from, to)}"${attrs}>${text}</a>`;
}

export function renderPage(page: PageFrame, site: SiteInfo): string {
  const nav = NAV.map(
    ([section, label, to]) =>
      html`<li>${link(page.path, to, label, section === page.section ? html` aria-current="page"` : html``)}</li>`,
  );
  const crumbs = page.crumbs?.length
    ? html`<nav class="crumbs" aria-label="Breadcrumb"><ol>${page.crumbs.map(
        (c) => html`<li>${c.to ? link(page.path, c.to, c.label) : c.label}</li>`,
      )}</ol></nav>`
    : '';
  const stores =
    site.predictionsUrl === site.storeUrl ? site.storeUrl : `${site.storeUrl} · predictions ${site.predictionsUrl}`;
  const footer =
    site.mode === 'static'
      ? `Static export of ${stores}${site.generatedAt ? `, ${site.generatedAt}` : ''}. Read-only.`
      : `mltk ui over ${stores}. Read-only.`;
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${PAGE_CSP}"><meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,"><title>${page.title} · mltk</title><style>${trusted(CSS)}</style></head>
<body><a class="skip" href="#main">Skip to content</a>
<header class="site">${link(page.path, paths.home, 'mltk', html` class="brand"`)}<nav aria-label="Sections"><ul>${
    nav
  }</ul></nav><span class="store">${stores}</span></header>
<main id="main" tabindex="-1">${crumbs}<h1>${page.title}</h1>
${page.body}</main><footer>${footer}</footer><script>${trusted(SCRIPT)}</script></body></html>
`.text;
}
