// A block of whole CSV rows → one validated TableChunk. Two paths, one set of rules: a fast loop
// parses plainly valid unquoted rows field by field as it meets them (numbers digit by digit,
// categories by a hash of their bytes), storing no offsets and making no call per cell; any other
// row (quotes, a missing or out-of-range value, an unknown category, a blank line, a wrong field
// count) is re-read by the tokenizer and converted by convertCell, which holds the rules and writes
// the issues; a row with the wrong field count is a bad row with one issue (field "(row)"). The tests check that both
// paths agree on every kind of row. Pure: runs on any thread.
import { InvalidInputError, quoted, quotedList } from '../errors/index.ts';
import {
  COMMA,
  CR,
  LF,
  MAX_EXACT_MANTISSA,
  MAX_EXACT_SCALE,
  POW10,
  QUOTE,
  UNTERMINATED,
  fieldCountIssue,
  nextRowStart,
  parseNumberBytes,
  spanText,
  tokenizeRow,
  unterminatedError,
} from './csv.ts';
import {
  describeRange,
  ROW_FIELD,
  type Column,
  type ColumnSpec,
  type ColumnType,
  type RowIssue,
  type TableChunk,
} from './table.ts';

/** What the fast path does with each header column (TablePlan.kinds). */
const KIND_SKIP = 0;
const KIND_NUMBER = 1;
const KIND_BOOLEAN = 2;
const KIND_CATEGORY = 3;
const KIND_TEXT = 4;
const KIND_OF: Record<ColumnType, number> = {
  numeric: KIND_NUMBER,
  boolean: KIND_BOOLEAN,
  categorical: KIND_CATEGORY,
  text: KIND_TEXT,
};
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

/** A header matched to specs, ready to parse blocks: plain data, so it can be posted to a worker. */
export interface TablePlan {
  source: string;
  header: string[];
  specs: ColumnSpec[];
  /** Per spec: where its column is in the header. */
  columnOf: Int32Array;
}

/** Checks the header against the specs (every missing column named at once) and plans the parse. */
export function planTable(header: string[], specs: readonly ColumnSpec[], source: string): TablePlan {
  const missing = specs.filter((s) => !header.includes(s.name)).map((s) => s.name);
  if (missing.length) {
    throw new InvalidInputError(
      `${source}: missing column${missing.length > 1 ? 's' : ''} ${quotedList(missing, missing.length)} ` +
        `(header has: ${quotedList(header)})`,
      missing.map((m) => ({ row: 0, field: m, issue: 'missing column' })),
    );
  }
  return {
    source,
    header,
    specs: specs.map((s) => ({ ...s, ...(s.values ? { values: [...s.values] } : {}) })),
    columnOf: Int32Array.from(specs, (s) => header.indexOf(s.name)),
  };
}

/**
 * Category lookup by a hash of the field's bytes, computed while the fast path scans them:
 * slot (hash & mask) holds candidate index + 1 (0 = empty), probed linearly, then confirmed byte by byte.
 */
interface CategoryTable {
  slots: Int32Array;
  hashes: Int32Array;
  mask: number;
  encoded: Uint8Array[];
}

const HASH_MULTIPLIER = 31;

function hashBytes(bytes: Uint8Array): number {
  let h = 0;
  for (let i = 0; i < bytes.length; i++) h = (Math.imul(h, HASH_MULTIPLIER) + bytes[i]!) | 0;
  return h;
}

function categoryTable(values: readonly string[]): CategoryTable {
  const encoded = values.map((v) => Buffer.from(v, 'utf8'));
  let size = 8;
  while (size < values.length * 4) size *= 2;
  const slots = new Int32Array(size),
    hashes = new Int32Array(size);
  encoded.forEach((bytes, k) => {
    const h = hashBytes(bytes);
    let i = h & (size - 1);
    while (slots[i] !== 0) i = (i + 1) & (size - 1);
    slots[i] = k + 1;
    hashes[i] = h;
  });
  return { slots, hashes, mask: size - 1, encoded };
}

function lookupCategory(t: CategoryTable, h: number, buf: Uint8Array, s: number, len: number): number {
  for (let i = h & t.mask; ; i = (i + 1) & t.mask) {
    const k = t.slots[i]! - 1;
    if (k < 0) return -1;
    if (t.hashes[i] !== h) continue;
    const cat = t.encoded[k]!;
    if (cat.length !== len) continue;
    let j = 0;
    while (j < len && cat[j] === buf[s + j]) j++;
    if (j === len) return k;
  }
}

/** One block's output columns (indexed by spec) and the per-header-column views the fast loop reads. */
interface BlockState {
  specs: ColumnSpec[];
  numbers: (Float64Array | undefined)[];
  codes: (Int32Array | undefined)[];
  texts: (string[] | undefined)[];
  issues: RowIssue[];
  bad: Uint8Array;
  /** 1 where the row went through convertCell (its text cells are decoded there). */
  slow: Uint8Array;
  /** Fast path's text spans: (start, end) per row per text column, decoded after the loop. */
  textSpans: Int32Array;
  textColumns: number[];
  kinds: Uint8Array;
  nums: (Float64Array | undefined)[];
  codeCols: (Int32Array | undefined)[];
  categories: (CategoryTable | undefined)[];
  /** Per spec: the lookup of categorical columns. */
  tables: (CategoryTable | undefined)[];
  /** Per spec with keepUnlisted: the block's values not in its list, in the order met (codes after the list's). */
  unlisted: (Map<string, number> | undefined)[];
  nullable: Uint8Array;
  lo: Float64Array;
  hi: Float64Array;
  capacity: number;
}

function blockState(plan: TablePlan, capacity: number): BlockState {
  const { specs, header, columnOf } = plan;
  const specAt = new Int32Array(header.length).fill(-1);
  columnOf.forEach((c, k) => {
    specAt[c] = k;
  });
  const spec = (c: number) => (specAt[c]! >= 0 ? specs[specAt[c]!] : undefined);
  const tables = specs.map((s) => (s.type === 'categorical' ? categoryTable(s.values ?? []) : undefined));
  const textColumns = [...specAt.keys()].filter((c) => spec(c)?.type === 'text');
  const st: BlockState = {
    specs,
    numbers: [],
    codes: [],
    texts: [],
    issues: [],
    bad: new Uint8Array(0),
    slow: new Uint8Array(0),
    textSpans: new Int32Array(0),
    textColumns,
    kinds: Uint8Array.from(specAt, (k) => (k >= 0 ? KIND_OF[specs[k]!.type] : KIND_SKIP)),
    nums: [],
    codeCols: [],
    categories: Array.from(specAt, (k) => (k >= 0 ? tables[k] : undefined)),
    tables,
    unlisted: specs.map((s) => (s.keepUnlisted ? new Map<string, number>() : undefined)),
    nullable: Uint8Array.from(specAt, (_, c) => (spec(c)?.nullable ? 1 : 0)),
    lo: Float64Array.from(specAt, (_, c) => spec(c)?.min ?? -Infinity),
    hi: Float64Array.from(specAt, (_, c) => spec(c)?.max ?? Infinity),
    capacity: 0,
  };
  allocate(st, specAt, capacity);
  return st;
}

/** (Re)allocates the outputs for `capacity` rows, keeping what is written. */
function allocate(st: BlockState, specAt: Int32Array, capacity: number): void {
  const keep = <T extends Float64Array | Int32Array | Uint8Array>(old: T | undefined, next: T): T => {
    if (old) next.set(old);
    return next;
  };
  st.numbers = st.specs.map((s, k) =>
    s.type === 'numeric' || s.type === 'boolean' ? keep(st.numbers[k], new Float64Array(capacity)) : undefined,
  );
  st.codes = st.specs.map((s, k) =>
    s.type === 'categorical' ? keep(st.codes[k], new Int32Array(capacity)) : undefined,
  );
  st.texts = st.specs.map((s, k) => {
    if (s.type !== 'text') return undefined;
    const t = st.texts[k] ?? [];
    t.length = capacity;
    return t;
  });
  st.bad = keep(st.bad, new Uint8Array(capacity));
  st.slow = keep(st.slow, new Uint8Array(capacity));
  st.textSpans = keep(st.textSpans, new Int32Array(capacity * 2 * st.textColumns.length));
  st.nums = Array.from(specAt, (k) => (k >= 0 ? st.numbers[k] : undefined));
  st.codeCols = Array.from(specAt, (k) => (k >= 0 ? st.codes[k] : undefined));
  st.capacity = capacity;
}

/**
 * The validation rules, one cell at a time: the value of spec `k` for row `r` from buf[s, e), and
 * an issue for anything wrong. Every cell the fast path does not accept as plainly valid comes here.
 */
function convertCell(
  st: BlockState,
  k: number,
  r: number,
  row: number,
  buf: Buffer,
  s: number,
  e: number,
  esc: number,
): void {
  const spec = st.specs[k]!;
  const note = (issue: string) => {
    st.issues.push({ row, field: spec.name, issue });
    st.bad[r] = 1;
  };
  const shown = () => quoted(spanText(buf, s, e, esc));
  if (spec.type === 'numeric' || spec.type === 'boolean') {
    const values = st.numbers[k]!;
    values[r] = NaN;
    if (s === e) {
      if (!spec.nullable) note('missing value (column is not nullable)');
      return;
    }
    const v = parseNumberBytes(buf, s, e);
    if (Number.isNaN(v)) {
      note(`expected a number, got ${shown()}`);
      return;
    }
    // Digits past a double's range (1e400) read as ±Infinity: no statistic, loss or metric survives one.
    if (!Number.isFinite(v)) {
      note(`${shown()} is beyond the range of a number (it reads as ${v})`);
      return;
    }
    if (spec.type === 'boolean' && v !== 0 && v !== 1) {
      note(`expected 0 or 1, got ${shown()}`);
      return;
    }
    if (spec.type === 'numeric' && (v < (spec.min ?? -Infinity) || v > (spec.max ?? Infinity))) {
      note(`value ${v} out of range (expected ${describeRange(spec)})`);
    }
    values[r] = v;
  } else if (spec.type === 'categorical') {
    const codes = st.codes[k]!;
    codes[r] = -1;
    if (s === e) {
      if (!spec.nullable) note('missing value (column is not nullable)');
      return;
    }
    const text = spanText(buf, s, e, esc);
    const table = st.tables[k]!;
    const code = esc ? spec.values!.indexOf(text) : lookupCategory(table, hashBytes(buf.subarray(s, e)), buf, s, e - s);
    const unlisted = st.unlisted[k];
    if (code < 0 && unlisted) {
      // Rows with such a value come here from the fast path: rare in a batch worth counting them in.
      const extra = unlisted.get(text) ?? spec.values!.length + unlisted.size;
      unlisted.set(text, extra);
      codes[r] = extra;
      return;
    }
    if (code < 0) note(`value ${quoted(text)} is not one of ${spec.values!.join('|')}`);
    codes[r] = code;
  } else {
    const text = spanText(buf, s, e, esc);
    st.texts[k]![r] = text;
    if (text === '' && !spec.nullable) note('missing value (column is not nullable)');
  }
}

/**
 * The fast loop: parses plainly valid rows from `cursor.pos` on, as long as they are; row `first` is the
 * first one written. Returns the number of rows parsed; `cursor.pos` is where it stopped (a row the slow
 * path must read, or `safeEnd`). Every row it reads ends with a LF before `safeEnd`, so the scans need
 * no bounds checks.
 */
type FastRows = (st: BlockState, buf: Uint8Array, cursor: { pos: number }, safeEnd: number, first: number) => number;
/** Compiled loops by header shape (kinds, nullability, ranges): a process compiles each shape once. */
const compiledFastRows = new Map<string, FastRows>();

/**
 * The fast loop compiled for one header shape: one loop over the bytes, the column loop unrolled with
 * each field's parser inlined and its kind, nullability and range written in as constants, so nothing
 * is dispatched or looked up per cell (1.4–1.5× the interpreted loop it replaced, which was itself 2–3×
 * tokenize-then-convert). The same rules as the slow path, which the tests check both paths agree on;
 * the source holds only numbers from the plan, never text from the file.
 */
function fastRowsFor(st: BlockState): FastRows {
  const { kinds, nullable, lo, hi } = st;
  const key = `${kinds.join()}|${nullable.join()}|${lo.join()}|${hi.join()}`;
  const cached = compiledFastRows.get(key);
  if (cached) return cached;
  const cols = kinds.length;
  const lit = (x: number) => (Number.isFinite(x) ? String(x) : x > 0 ? 'Infinity' : '-Infinity');
  const body: string[] = [];
  let text = 0;
  for (let c = 0; c < cols; c++) {
    const kind = kinds[c]!;
    body.push(`start = p; b = buf[p]; if (b === ${QUOTE}) break rowLoop;`);
    if (kind === KIND_NUMBER || kind === KIND_BOOLEAN) {
      const range =
        kind === KIND_BOOLEAN
          ? 'v !== 0 && v !== 1'
          : [lo[c]! > -Infinity ? `v < ${lit(lo[c]!)}` : '', hi[c]! < Infinity ? `v > ${lit(hi[c]!)}` : '']
              .filter(Boolean)
              .join(' || ');
      body.push(
        `neg = b === ${MINUS}; if (neg || b === ${PLUS}) b = buf[++p];`,
        'mant = 0; scale = 0; any = false;',
        `while (b >= ${ZERO} && b <= ${NINE}) { mant = mant * 10 + (b - ${ZERO}); any = true; b = buf[++p]; }`,
        `if (b === ${DOT}) { b = buf[++p]; while (b >= ${ZERO} && b <= ${NINE}) ` +
          `{ mant = mant * 10 + (b - ${ZERO}); scale--; any = true; b = buf[++p]; } }`,
        'if (any) {',
        `  if (mant >= ${MAX_EXACT_MANTISSA} || scale < ${-MAX_EXACT_SCALE}) break rowLoop;`,
        '  v = scale === 0 ? mant : mant / POW10[-scale]; if (neg) v = -v;',
        range ? `  if (${range}) break rowLoop;` : '',
        `} else if (p !== start${nullable[c] === 0 ? ' || true' : ''}) break rowLoop; else v = NaN;`,
        `n${c}[rows] = v;`,
      );
    } else if (kind === KIND_CATEGORY) {
      body.push(
        `h = 0; while (b !== ${COMMA} && b !== ${LF} && b !== ${CR}) ` +
          `{ h = (Math.imul(h, ${HASH_MULTIPLIER}) + b) | 0; b = buf[++p]; }`,
        `if (p !== start) { code = lookup(t${c}, h, buf, start, p - start); if (code < 0) break rowLoop; }`,
        `else ${nullable[c] === 0 ? 'break rowLoop;' : 'code = -1;'}`,
        `k${c}[rows] = code;`,
      );
    } else {
      body.push(`while (b !== ${COMMA} && b !== ${LF} && b !== ${CR}) b = buf[++p];`);
      if (kind === KIND_TEXT) {
        if (nullable[c] === 0) body.push('if (p === start) break rowLoop;');
        body.push('spans[t++] = start; spans[t++] = p;');
        text++;
      }
    }
    body.push(
      c < cols - 1
        ? `if (b !== ${COMMA}) break rowLoop; p++;`
        : `if (b === ${LF}) p++; else if (b === ${CR}) p += buf[p + 1] === ${LF} ? 2 : 1; else break rowLoop;`,
    );
  }
  const locals = [...kinds.keys()].flatMap((c) =>
    kinds[c] === KIND_NUMBER || kinds[c] === KIND_BOOLEAN
      ? [`const n${c} = st.nums[${c}];`]
      : kinds[c] === KIND_CATEGORY
        ? [`const k${c} = st.codeCols[${c}], t${c} = st.categories[${c}];`]
        : [],
  );
  const source = `
${locals.join('\n')}
const spans = st.textSpans;
let rows = first, pos = cursor.pos, p = 0, t = 0, start = 0, b = 0, neg = false, mant = 0, scale = 0, any = false,
  v = 0, h = 0, code = 0;
rowLoop: while (pos < safeEnd && rows < st.capacity) {
  p = pos; t = rows * ${text * 2};
${body.join('\n')}
  pos = p; rows++;
}
cursor.pos = pos;
return rows - first;`;
  const make = new Function(
    'POW10',
    'lookup',
    `return function fastRows(st, buf, cursor, safeEnd, first) {${source}};`,
  );
  const compiled = make(POW10, lookupCategory) as FastRows;
  compiledFastRows.set(key, compiled);
  return compiled;
}

/**
 * Parses buf[start, end), a block of whole rows, into one chunk. `rowsHint`: at most how many rows
 * the block holds (the cutter's count; blank lines make it fewer). Row numbers start at `firstRow`.
 */
export function parseTableBlock(
  plan: TablePlan,
  buf: Buffer,
  start: number,
  end: number,
  firstRow: number,
  rowsHint: number,
): TableChunk {
  const { source, columnOf } = plan;
  const cols = plan.header.length;
  const specAt = new Int32Array(cols).fill(-1);
  columnOf.forEach((c, k) => {
    specAt[c] = k;
  });
  const st = blockState(plan, Math.max(1, rowsHint));
  const scratch = { starts: new Int32Array(cols), ends: new Int32Array(cols), escaped: new Uint8Array(cols) };
  // Rows that start before the block's last LF end with a LF inside it: the fast path's guarantee.
  const lastLf = buf.lastIndexOf(LF, end - 1);
  const safeEnd = lastLf >= start ? lastLf + 1 : start;
  const cursor = { pos: start };
  const fastRows = fastRowsFor(st);
  let rows = 0;
  while (cursor.pos < end) {
    if (rows === st.capacity) allocate(st, specAt, st.capacity * 2); // only CR-only line ends outgrow the hint
    rows += fastRows(st, buf, cursor, safeEnd, rows);
    if (cursor.pos >= end) break;
    if (rows === st.capacity) continue;
    // The slow path: tokenize the row, then convert each cell by the rules.
    const row = firstRow + rows;
    const n = tokenizeRow(buf, cursor.pos, end, cols, scratch.starts, scratch.ends, scratch.escaped, 0, source, row);
    if (n === UNTERMINATED) throw unterminatedError(source, row);
    cursor.pos = nextRowStart();
    if (n === 0) continue;
    if (n !== cols) {
      // A row whose cells cannot be matched to the header: a bad row, so the rest of the file still counts.
      badRow(st, rows, { row, field: ROW_FIELD, issue: fieldCountIssue(cols, n) });
      rows++;
      continue;
    }
    st.bad[rows] = 0;
    for (let k = 0; k < columnOf.length; k++) {
      const c = columnOf[k]!;
      convertCell(st, k, rows, row, buf, scratch.starts[c]!, scratch.ends[c]!, scratch.escaped[c]!);
    }
    st.slow[rows] = 1;
    rows++;
  }
  return finishChunk(st, specAt, buf, rows, firstRow);
}

/** Row `r` holds no values (each column's missing value) and is flagged bad with `issue`. */
function badRow(st: BlockState, r: number, issue: RowIssue): void {
  st.issues.push(issue);
  st.bad[r] = 1;
  st.slow[r] = 1;
  st.specs.forEach((spec, k) => {
    if (spec.type === 'categorical') st.codes[k]![r] = -1;
    else if (spec.type === 'text') st.texts[k]![r] = '';
    else st.numbers[k]![r] = NaN;
  });
}

/** Decodes the fast path's text spans and trims every output to `rows`. */
/** Distinct values a text column remembers per block; a column with more is not a repeating one (an id). */
const INTERNED_VALUES = 32;
const INTERN_KEY_BITS = 10;
const INTERN_KEY_MASK = (1 << INTERN_KEY_BITS) - 1;

/**
 * A text column's recent distinct values, reused when a cell's bytes equal one: a categorical read as
 * text repeats a few values, and a string made per cell (a native call, then garbage) costs more than
 * parsing the rest of its row. After INTERNED_VALUES distinct values it stops looking.
 */
class TextInterner {
  private readonly bytes: Buffer[] = [];
  private readonly strings: string[] = [];
  /** The latest value with each (length, first byte, last byte): the one to compare first. */
  private readonly latest = new Int8Array(1 << INTERN_KEY_BITS).fill(-1);
  private full = false;

  decode(buf: Buffer, start: number, end: number): string {
    if (this.full) return buf.toString('utf8', start, end);
    const length = end - start;
    const key = length === 0 ? 0 : (length * 961 + buf[start]! * 31 + buf[end - 1]!) & INTERN_KEY_MASK;
    const guess = this.latest[key]!;
    if (guess >= 0 && this.equals(guess, buf, start, length)) return this.strings[guess]!;
    for (let i = 0; i < this.bytes.length; i++) {
      if (i !== guess && this.equals(i, buf, start, length)) {
        this.latest[key] = i;
        return this.strings[i]!;
      }
    }
    const text = buf.toString('utf8', start, end);
    if (this.bytes.length === INTERNED_VALUES) this.full = true;
    else {
      this.latest[key] = this.bytes.length;
      this.bytes.push(Buffer.from(buf.subarray(start, end)));
      this.strings.push(text);
    }
    return text;
  }

  private equals(i: number, buf: Buffer, start: number, length: number): boolean {
    const known = this.bytes[i]!;
    if (known.length !== length) return false;
    let j = 0;
    while (j < length && buf[start + j] === known[j]) j++;
    return j === length;
  }
}

function finishChunk(st: BlockState, specAt: Int32Array, buf: Buffer, rows: number, firstRow: number): TableChunk {
  const texts = st.textColumns.length;
  st.textColumns.forEach((c, t) => {
    const values = st.texts[specAt[c]!]!;
    const interner = new TextInterner();
    for (let r = 0; r < rows; r++) {
      if (st.slow[r]) continue;
      const at = (r * texts + t) * 2;
      values[r] = interner.decode(buf, st.textSpans[at]!, st.textSpans[at + 1]!);
    }
  });
  const columns = new Map<string, Column>();
  st.specs.forEach((spec, k) => {
    if (spec.type === 'categorical')
      columns.set(spec.name, {
        kind: 'categorical',
        codes: st.codes[k]!.subarray(0, rows),
        categories: [...(spec.values ?? []), ...(st.unlisted[k]?.keys() ?? [])],
      });
    else if (spec.type === 'text') {
      const v = st.texts[k]!;
      v.length = rows;
      columns.set(spec.name, { kind: 'text', values: v });
    } else columns.set(spec.name, { kind: 'numeric', values: st.numbers[k]!.subarray(0, rows) });
  });
  return { table: { rows, columns }, firstRow, issues: st.issues, bad: st.bad.subarray(0, rows) };
}

/**
 * A block's rejection numbers rows from the block's first; the file's numbers are `by` more (its
 * message names the row as the CSV reader does: "SOURCE: row N: …").
 */
export function rowsShifted(e: unknown, by: number, source: string): unknown {
  if (!(e instanceof InvalidInputError) || by === 0 || !e.details.some((d) => d.row !== undefined)) return e;
  const prefix = `${source}: row `;
  let message = e.message;
  if (message.startsWith(prefix)) {
    const digits = /^\d+/.exec(message.slice(prefix.length))?.[0];
    if (digits) message = `${prefix}${Number(digits) + by}${message.slice(prefix.length + digits.length)}`;
  }
  return new InvalidInputError(
    message,
    e.details.map((d) => (d.row === undefined ? d : { ...d, row: d.row + by })),
  );
}
