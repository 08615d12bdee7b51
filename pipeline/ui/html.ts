// Safe HTML for the UI. Everything read from the store is untrusted, so text reaches a page only
// through `html`, which escapes every interpolated value that is not already Html; the only raw
// strings are this module's own constants. Escaping & < > " ' makes a value safe in element text
// and in quoted attribute values alike, in HTML and in inline SVG.

export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

export type Content = Html | string | number | boolean | null | undefined | readonly Content[];

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

function render(value: Content): string {
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return (value as readonly Content[]).map(render).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
}

/** Tagged template: `html\`<td>${untrusted}</td>\`` escapes the value; nested Html passes through. */
export function html(strings: TemplateStringsArray, ...values: Content[]): Html {
  let out = strings[0]!;
  values.forEach((v, i) => {
    out += render(v) + strings[i + 1]!;
  });
  return new Html(out);
}

/** Joins fragments (each escaped unless Html) with a separator. */
export function join(parts: readonly Content[], separator: Content = ''): Html {
  return new Html(parts.map(render).join(render(separator)));
}

/** Trusted markup: only for this folder's own constants (CSS, the script), never for store text. */
export function trusted(text: string): Html {
  return new Html(text);
}

const SIGNIFICANT = 4;

/** A metric or statistic for display: 4 significant digits, exponent for tiny values, '–' when absent. */
export function num(x: number | null | undefined, digits = SIGNIFICANT): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  if (Number.isInteger(x) && Math.abs(x) < 1e9) return x.toLocaleString('en-GB');
  if (x !== 0 && Math.abs(x) < 1e-3) return x.toExponential(digits - 2);
  return String(Number(x.toPrecision(digits)));
}

export function pct(x: number | null | undefined): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '–' : `${(100 * x).toFixed(1)}%`;
}

/** ISO timestamps as `2026-11-25 15:10:11Z`; anything else is shown as it is. */
export function when(iso: string | null | undefined): string {
  if (!iso) return '–';
  const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(?:\.\d+)?Z$/.exec(iso);
  return m ? `${m[1]} ${m[2]}Z` : iso;
}

/** First `n` characters of a long hash, the whole in a tooltip. */
export function shortHash(sha: string, n = 12): Html {
  return html`<code title="${sha}">${sha.slice(0, n)}</code>`;
}
