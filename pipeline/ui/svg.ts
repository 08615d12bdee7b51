// Inline SVG charts: curves (loss per round, drift over time), a PSI heatmap and the lineage graph.
// Colours and dashes are SVG presentation attributes, never style attributes, so the pages' CSP
// needs no 'unsafe-inline'; every label goes through `html`, so store text is escaped here too.
import { html, join, num, type Html } from './html.ts';

/** Okabe–Ito: told apart with the common colour-vision deficiencies; dashes tell series apart in grey too. */
const PALETTE = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#56b4e9', '#000000', '#882255'];
const DASHES = ['', '6 3', '2 3', '9 3 2 3'];
const AXIS = '#57606a';
const GRID = '#eaeef2';
const TICKS = 5;
/** Fraction of the data range added above and below a curve, so lines do not run along the frame. */
const PAD = 0.05;

const seriesColour = (i: number): string => PALETTE[i % PALETTE.length]!;
const seriesDash = (i: number): string => DASHES[i % DASHES.length]!;

const f1 = (x: number): string => x.toFixed(1);

/** About `count` round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = TICKS): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Number(t.toPrecision(12)));
  return out;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** A time tick as precise as the span it covers needs. */
function timeLabel(ms: number, spanMs: number): string {
  const iso = new Date(ms).toISOString();
  if (spanMs < HOUR) return iso.slice(11, 19);
  return spanMs < 2 * DAY ? `${iso.slice(5, 10)} ${iso.slice(11, 16)}` : iso.slice(0, 10);
}

export interface Series {
  label: string;
  points: { x: number; y: number; title?: string }[];
}

export interface Threshold {
  y: number;
  label: string;
  level: 'warn' | 'alert';
}

export interface LineChartOptions {
  title: string;
  series: Series[];
  xLabel: string;
  /** x values are epoch milliseconds: ticks are dates. */
  xTime?: boolean;
  /** x values are whole numbers (versions): no ticks between them. */
  xIntegers?: boolean;
  /** Include 0 in the y range (shares, PSI), rather than fitting the data (losses). */
  yFromZero?: boolean;
  thresholds?: Threshold[];
  markers?: boolean;
}

const W = 640,
  H = 260,
  LEFT = 56,
  RIGHT = 16,
  TOP = 12,
  BOTTOM = 44;

function legend(series: Series[]): Html {
  if (series.length < 2) return html``;
  return html`<ul class="legend">${series.map(
    (s, i) => html`<li><svg width="28" height="10" aria-hidden="true"><line x1="1" x2="27" y1="5" y2="5"
stroke="${seriesColour(i)}" stroke-width="2.5" stroke-dasharray="${seriesDash(i)}"/></svg>${s.label}</li>`,
  )}</ul>`;
}

/** Curves on shared axes, with a legend when there are several and optional threshold lines. */
export function lineChart(o: LineChartOptions): Html {
  const pts = o.series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  if (pts.length === 0) return html`<p class="empty">No values for ${o.title}.</p>`;
  const xs = pts.map((p) => p.x);
  const ys = [...pts.map((p) => p.y), ...(o.thresholds ?? []).map((t) => t.y), ...(o.yFromZero ? [0] : [])];
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (x1 === x0) {
    x0 -= 1;
    x1 += 1;
  }
  if (y1 === y0) {
    y0 -= Math.abs(y0) * 0.1 || 1;
    y1 += Math.abs(y1) * 0.1 || 1;
  }
  const pad = (y1 - y0) * PAD;
  y1 += pad;
  if (!(o.yFromZero && y0 === 0)) y0 -= pad;
  const sx = (x: number) => LEFT + ((x - x0) / (x1 - x0)) * (W - LEFT - RIGHT);
  const sy = (y: number) => TOP + (1 - (y - y0) / (y1 - y0)) * (H - TOP - BOTTOM);
  const yTicks = niceTicks(y0, y1);
  const xTicks = o.xTime
    ? Array.from({ length: TICKS }, (_, i) => x0 + ((x1 - x0) * i) / (TICKS - 1))
    : niceTicks(x0, x1).filter((t) => !o.xIntegers || Number.isInteger(t));
  const xText = (x: number) => (o.xTime ? timeLabel(x, x1 - x0) : num(x));
  const grid = [
    ...yTicks.map(
      (t) =>
        html`<line x1="${LEFT}" x2="${W - RIGHT}" y1="${f1(sy(t))}" y2="${f1(sy(t))}" stroke="${GRID}"/><text x="${
          LEFT - 6
        }" y="${f1(sy(t) + 4)}" text-anchor="end">${num(t)}</text>`,
    ),
    ...xTicks.map(
      (t) =>
        html`<line x1="${f1(sx(t))}" x2="${f1(sx(t))}" y1="${H - BOTTOM}" y2="${H - BOTTOM + 4}" stroke="${AXIS}"/><text
x="${f1(sx(t))}" y="${H - BOTTOM + 16}" text-anchor="middle">${xText(t)}</text>`,
    ),
  ];
  const thresholds = (o.thresholds ?? []).map(
    (t) =>
      html`<line class="threshold ${t.level}" x1="${LEFT}" x2="${W - RIGHT}" y1="${f1(sy(t.y))}" y2="${f1(sy(t.y))}"
stroke-dasharray="4 4"/><text x="${W - RIGHT - 4}" y="${f1(sy(t.y) - 4)}" text-anchor="end">${t.label}</text>`,
  );
  const lines = o.series.map((s, i) => {
    const good = s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
    const d = good.map((p) => `${f1(sx(p.x))},${f1(sy(p.y))}`).join(' ');
    const marks =
      o.markers || good.length === 1
        ? good.map(
            (p) =>
              html`<circle cx="${f1(sx(p.x))}" cy="${f1(sy(p.y))}" r="3.5" fill="${seriesColour(i)}"><title>${
                p.title ?? `${s.label}: ${num(p.y)}`
              }</title></circle>`,
          )
        : [];
    return html`<g><title>${s.label}</title><polyline points="${d}" fill="none" stroke="${seriesColour(i)}"
stroke-width="2" stroke-dasharray="${seriesDash(i)}"/>${marks}</g>`;
  });
  return html`<figure class="chart"><svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${o.title}">
<g class="axis">${grid}<line x1="${LEFT}" x2="${W - RIGHT}" y1="${H - BOTTOM}" y2="${H - BOTTOM}" stroke="${AXIS}"/>
<line x1="${LEFT}" x2="${LEFT}" y1="${TOP}" y2="${H - BOTTOM}" stroke="${AXIS}"/>
<text x="${(LEFT + W - RIGHT) / 2}" y="${H - 6}" text-anchor="middle">${o.xLabel}</text></g>${thresholds}${lines}</svg>
<figcaption>${o.title}</figcaption>${legend(o.series)}</figure>`;
}

export interface HeatmapOptions {
  title: string;
  rows: string[];
  /** `at`: epoch ms, for the column's time label. */
  columns: { at: number; title: string }[];
  /** values[row][column]; null where a batch has no value for the row. */
  values: (number | null)[][];
  warn: number;
  alert: number;
}

/** Sequential classes from "well under warn" to "twice alert" (light to dark). */
const HEAT = ['#f0f3f6', '#fde2a7', '#f9a65a', '#e5533d', '#9c1c2e'];
const HEAT_EMPTY = '#ffffff';
const CELL_H = 18,
  MAX_CELL_W = 40,
  LABEL_W = 190,
  HEAT_TOP = 8,
  HEAT_BOTTOM = 70,
  HEAT_W = 640;
const MAX_COLUMN_LABELS = 12;

function heatClass(v: number, warn: number, alert: number): number {
  return v < warn / 2 ? 0 : v < warn ? 1 : v < alert ? 2 : v < 2 * alert ? 3 : 4;
}

/** One row per feature, one column per batch, each cell coloured by its PSI class. */
export function heatmap(o: HeatmapOptions): Html {
  if (o.rows.length === 0 || o.columns.length === 0) return html`<p class="empty">No values for ${o.title}.</p>`;
  const cw = Math.min(MAX_CELL_W, (HEAT_W - LABEL_W - 8) / o.columns.length);
  const span = (o.columns.at(-1)?.at ?? 0) - (o.columns[0]?.at ?? 0);
  const h = HEAT_TOP + o.rows.length * CELL_H + HEAT_BOTTOM;
  const every = Math.ceil(o.columns.length / MAX_COLUMN_LABELS);
  const cells = o.rows.map((row, r) => {
    const y = HEAT_TOP + r * CELL_H;
    return html`<text x="${LABEL_W - 6}" y="${y + CELL_H - 5}" text-anchor="end">${
      row.length > 28 ? `${row.slice(0, 27)}…` : row
    }</text>${o.columns.map((c, k) => {
      const v = o.values[r]?.[k] ?? null;
      const fill = v === null ? HEAT_EMPTY : HEAT[heatClass(v, o.warn, o.alert)]!;
      return html`<rect x="${f1(LABEL_W + k * cw)}" y="${y}" width="${f1(Math.max(cw - 1, 1))}" height="${CELL_H - 1}"
fill="${fill}" stroke="${v === null ? GRID : 'none'}"><title>${row} · ${c.title}: PSI ${num(v)}</title></rect>`;
    })}`;
  });
  const labels = o.columns.map((c, k) =>
    k % every === 0 || k === o.columns.length - 1
      ? html`<text transform="translate(${f1(LABEL_W + k * cw + cw / 2)},${
          HEAT_TOP + o.rows.length * CELL_H + 8
        }) rotate(40)">${Number.isFinite(c.at) ? timeLabel(c.at, span) : ''}</text>`
      : html``,
  );
  const ranges = [
    `< ${num(o.warn / 2)}`,
    `< ${num(o.warn)} (warn)`,
    `< ${num(o.alert)} (alert)`,
    `< ${num(2 * o.alert)}`,
    `≥ ${num(2 * o.alert)}`,
  ];
  return html`<figure class="chart"><svg viewBox="0 0 ${HEAT_W} ${h}" role="img" aria-label="${o.title}"><g
class="axis">${cells}${labels}</g></svg>
<figcaption>${o.title}</figcaption><ul class="legend">${ranges.map(
    (r, i) => html`<li><svg width="14" height="14"
aria-hidden="true"><rect width="14" height="14" fill="${HEAT[i]!}" stroke="${GRID}"/></svg>PSI ${r}</li>`,
  )}<li><svg width="14" height="14" aria-hidden="true"><rect width="14" height="14" fill="${HEAT_EMPTY}" stroke="${
    GRID
  }"/></svg>no value</li></ul></figure>`;
}

export interface GraphNode {
  id: string;
  column: number;
  label: string;
  detail?: string;
  href?: string;
  kind: 'dataset' | 'run' | 'version' | 'batch' | 'report' | 'more';
}

const NODE_FILL: Record<GraphNode['kind'], string> = {
  dataset: '#ddf4ff',
  run: '#fbefff',
  version: '#dafbe1',
  batch: '#fff8c5',
  report: '#ffebe9',
  more: '#f6f8fa',
};
const NODE_H = 42,
  NODE_GAP = 12,
  COLUMN_GAP = 36,
  GRAPH_W = 980,
  GRAPH_TOP = 28;
/** Roughly how many characters of 12px text fit per pixel of node width. */
const CHARS_PER_PX = 1 / 7;

function clip(text: string, width: number): string {
  const n = Math.max(4, Math.floor(width * CHARS_PER_PX));
  return text.length > n ? `${text.slice(0, n - 1)}…` : text;
}

/**
 * Nodes in columns (left to right: where things come from → what they became), edges as curves.
 * A group, not an image: its nodes are links a keyboard reaches.
 */
export function graph(
  title: string,
  columns: string[],
  nodes: GraphNode[],
  edges: { from: string; to: string }[],
): Html {
  const colW = (GRAPH_W - COLUMN_GAP * (columns.length - 1)) / columns.length;
  const pos = new Map<string, { x: number; y: number }>();
  const perColumn = columns.map((_, c) => nodes.filter((n) => n.column === c));
  perColumn.forEach((list, c) => {
    list.forEach((n, i) => {
      pos.set(n.id, { x: c * (colW + COLUMN_GAP), y: GRAPH_TOP + i * (NODE_H + NODE_GAP) });
    });
  });
  const h = GRAPH_TOP + Math.max(1, ...perColumn.map((l) => l.length)) * (NODE_H + NODE_GAP);
  const heads = columns.map((c, i) => html`<text class="head" x="${f1(i * (colW + COLUMN_GAP))}" y="14">${c}</text>`);
  const curves = edges.flatMap((e) => {
    const a = pos.get(e.from),
      b = pos.get(e.to);
    if (!a || !b) return [];
    const [ax, ay, bx, by] = [a.x + colW, a.y + NODE_H / 2, b.x, b.y + NODE_H / 2];
    const mid = (ax + bx) / 2;
    return [
      html`<path d="M${f1(ax)},${f1(ay)} C${f1(mid)},${f1(ay)} ${f1(mid)},${f1(by)} ${f1(bx - 4)},${f1(by)}" fill="none"
stroke="${AXIS}" stroke-width="1.5" marker-end="url(#arrow)"/>`,
    ];
  });
  const boxes = nodes.map((n) => {
    const p = pos.get(n.id)!;
    const body = html`<rect x="${f1(p.x)}" y="${p.y}" width="${f1(colW)}" height="${NODE_H}" rx="5" fill="${
      NODE_FILL[n.kind]
    }" stroke="${AXIS}"/>
<text x="${f1(p.x + 8)}" y="${p.y + 17}" class="node">${clip(n.label, colW - 16)}</text>${
      n.detail ? html`<text x="${f1(p.x + 8)}" y="${p.y + 33}" class="detail">${clip(n.detail, colW - 16)}</text>` : ''
    }<title>${n.label}${n.detail ? ` — ${n.detail}` : ''}</title>`;
    return n.href ? html`<a href="${n.href}">${body}</a>` : html`<g>${body}</g>`;
  });
  return html`<figure class="chart graph"><svg viewBox="0 0 ${GRAPH_W} ${h}" role="group" aria-label="${title}">
<defs><marker id="arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="8" markerHeight="8" orient="auto"><path
d="M0,0 L8,4 L0,8 z" fill="${AXIS}"/></marker></defs>
<g class="axis">${heads}</g>${curves}${join(boxes)}</svg><figcaption>${title}</figcaption></figure>`;
}
