// The one CSV reader's byte layer (RFC 4180: quotes, "" escapes, CRLF, a UTF-8 BOM): a stream is cut
// into blocks of whole rows, and a block is tokenized into field offsets into its Buffer, so the hot
// paths parse numbers and match categories straight from bytes without a string per cell. The header
// row goes through the same tokenizer as the data rows, so every command reads the same names.
// Blocks are plain bytes: they can be parsed here or on a worker thread (see parallel.ts).
import type { Readable } from 'node:stream';
import { InvalidInputError, quoted } from '../errors/index.ts';

/** The bytes the reader acts on. */
export const QUOTE = 0x22;
export const COMMA = 0x2c;
export const LF = 0x0a;
export const CR = 0x0d;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

export const DEFAULT_CHUNK_ROWS = 65_536;
/**
 * The header row must end within this many bytes (10,000 columns of 100 characters). Past it the file
 * is not a CSV with a header (a 50 MB line without a row end, binary data): refused without reading on.
 */
export const HEADER_MAX_BYTES = 1 << 20;
const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);
const ZIP_MAGIC = Buffer.from('PK\x03\x04', 'latin1');

/**
 * Refuses a file whose first bytes say it is not text (compressed, or with NUL bytes, as binary data
 * and UTF-16 text have): read as UTF-8 it would only give junk names and junk errors.
 */
export function checkTextStart(start: Buffer, source: string): void {
  const why = start.subarray(0, 2).equals(GZIP_MAGIC)
    ? 'it starts with the gzip signature 1f 8b: decompress it first'
    : start.subarray(0, 4).equals(ZIP_MAGIC)
      ? 'it starts with the zip signature 50 4b 03 04: extract it first'
      : start.includes(0)
        ? 'it holds NUL bytes: binary data, or text in UTF-16 rather than UTF-8'
        : undefined;
  if (why) throw new InvalidInputError(`${source}: not a UTF-8 text file (${why})`, [{ row: 0, issue: why }]);
}

export interface CsvChunk {
  buf: Buffer;
  rows: number;
  cols: number;
  /** 1-based data row number (header excluded) of the chunk's first row. */
  firstRow: number;
  /** Field r*cols+c spans buf[starts[i], ends[i]) with surrounding quotes removed. */
  starts: Int32Array;
  ends: Int32Array;
  /** 1 where a quoted field holds "" escapes that fieldText must undo. */
  escaped: Uint8Array;
}

export interface CsvReadOptions {
  /** Name of the file or object, used in every error message. */
  source: string;
  /** At most this many rows per block (default DEFAULT_CHUNK_ROWS). */
  chunkRows?: number;
  /** Where blocks are assembled: buffers a worker can read in place, handed back when their block is done. */
  buffers?: BlockBuffers;
}

/** Headroom of a new block buffer over the bytes it is first asked for, so it fits the next blocks too. */
const BUFFER_HEADROOM = 1.25;

/**
 * Reusable block buffers in shared memory. openCsvBlocks copies the bytes it reads into one of these
 * (one copy in all), so a block can go to a worker thread as it is, and a buffer given back once its
 * block is scored serves a later block: no fresh pages to fault in, no garbage per block.
 */
export class BlockBuffers {
  private readonly free: Buffer[] = [];

  /** A buffer of at least `bytes` bytes (its whole length is the caller's). */
  take(bytes: number): Buffer {
    const i = this.free.findIndex((b) => b.length >= bytes);
    if (i >= 0) return this.free.splice(i, 1)[0]!;
    return Buffer.from(new SharedArrayBuffer(Math.ceil(bytes * BUFFER_HEADROOM)));
  }

  /** Gives back the buffer a block came from; the block's bytes must not be used after. */
  give(block: Buffer): void {
    if (block.buffer instanceof SharedArrayBuffer) this.free.push(Buffer.from(block.buffer));
  }
}

/** One field as the tokenizer saw it; `next` is the offset of the byte after it (a delimiter or the end). */
interface FieldScan {
  s: number;
  e: number;
  esc: number;
  next: number;
}

/**
 * Scans the field starting at `pos` into `out`. Returns false when a quoted field is not closed
 * before `end`. Unquoted fields run to the next comma, CR or LF; a quote inside one is literal.
 */
function scanField(buf: Uint8Array, pos: number, end: number, out: FieldScan): boolean {
  out.esc = 0;
  if (pos < end && buf[pos] === QUOTE) {
    const s = ++pos;
    for (;;) {
      if (pos >= end) return false;
      if (buf[pos] === QUOTE) {
        if (pos + 1 < end && buf[pos + 1] === QUOTE) {
          out.esc = 1;
          pos += 2;
          continue;
        }
        out.s = s;
        out.e = pos;
        out.next = pos + 1;
        return true;
      }
      pos++;
    }
  }
  const s = pos;
  while (pos < end) {
    const b = buf[pos]!;
    if (b === COMMA || b === LF || b === CR) break;
    pos++;
  }
  out.s = s;
  out.e = pos;
  out.next = pos;
  return true;
}

function malformed(source: string, row: number, issue: string, message: string): InvalidInputError {
  return new InvalidInputError(`${source}: row ${row}: ${message}`, [{ row, issue }]);
}

/** Offset of the first byte after the row end at `pos` (CRLF, LF or CR), or `pos` itself at the end of the data. */
function afterRowEnd(buf: Uint8Array, pos: number, end: number): number {
  if (pos >= end) return pos;
  if (buf[pos] === CR) return pos + 1 < end && buf[pos + 1] === LF ? pos + 2 : pos + 1;
  return pos + 1;
}

const rowScan: FieldScan = { s: 0, e: 0, esc: 0, next: 0 };

/** tokenizeRow's answer for a row whose quoted field is not closed before the end of the data. */
export const UNTERMINATED = -1;

/**
 * Tokenizes the one row starting at `pos` into `starts`/`ends`/`escaped` at `base` (at most `cols`
 * fields are stored). Returns the number of fields the row has (0 for a blank line, UNTERMINATED
 * when a quoted field runs past `end`); nextRowStart() is then the start of the next row.
 */
export function tokenizeRow(
  buf: Uint8Array,
  pos: number,
  end: number,
  cols: number,
  starts: Int32Array,
  ends: Int32Array,
  escaped: Uint8Array,
  base: number,
  source: string,
  row: number,
): number {
  if (pos < end && (buf[pos] === LF || buf[pos] === CR)) {
    rowScan.next = afterRowEnd(buf, pos, end);
    return 0;
  }
  let c = 0;
  for (;;) {
    if (!scanField(buf, pos, end, rowScan)) return UNTERMINATED;
    if (c < cols) {
      starts[base + c] = rowScan.s;
      ends[base + c] = rowScan.e;
      escaped[base + c] = rowScan.esc;
    }
    c++;
    pos = rowScan.next;
    if (pos >= end) break;
    const b = buf[pos]!;
    if (b === COMMA) {
      pos++;
      continue;
    }
    if (b === LF || b === CR) break;
    throw malformed(source, row, 'malformed quoting', 'unexpected character after a quoted field');
  }
  rowScan.next = afterRowEnd(buf, pos, end);
  return c;
}

/** Where the row last tokenized by tokenizeRow ends (the start of the next one). */
export function nextRowStart(): number {
  return rowScan.next;
}

export function fieldCountIssue(cols: number, found: number): string {
  return `expected ${cols} fields as in the header, found ${found}`;
}

function fieldCountError(source: string, row: number, cols: number, found: number): InvalidInputError {
  return new InvalidInputError(`${source}: row ${row}: ${fieldCountIssue(cols, found)}`, [
    { row, issue: fieldCountIssue(cols, found) },
  ]);
}

export function unterminatedError(source: string, row: number): InvalidInputError {
  return malformed(source, row, 'unterminated quote', 'unterminated quoted field at end of file');
}

/**
 * Tokenizes a block of whole rows, buf[start, end), into one chunk. Blank lines are skipped (they
 * are not rows); a row with another field count than the header is an error naming it.
 */
export function tokenizeBlock(
  buf: Buffer,
  start: number,
  end: number,
  cols: number,
  firstRow: number,
  source: string,
  rowsHint: number,
): CsvChunk {
  let capacity = Math.max(1, rowsHint);
  let starts = new Int32Array(capacity * cols);
  let ends = new Int32Array(capacity * cols);
  let escaped = new Uint8Array(capacity * cols);
  let rows = 0;
  let pos = start;
  while (pos < end) {
    if (rows === capacity) {
      // Only a block cut by another rule than this tokenizer's (CR-only line ends) has more rows than its hint.
      capacity *= 2;
      const grow = <T extends Int32Array | Uint8Array>(a: T, make: (n: number) => T): T => {
        const b = make(capacity * cols);
        b.set(a);
        return b;
      };
      starts = grow(starts, (n) => new Int32Array(n));
      ends = grow(ends, (n) => new Int32Array(n));
      escaped = grow(escaped, (n) => new Uint8Array(n));
    }
    const row = firstRow + rows;
    const n = tokenizeRow(buf, pos, end, cols, starts, ends, escaped, rows * cols, source, row);
    if (n === UNTERMINATED) throw unterminatedError(source, row);
    pos = rowScan.next;
    if (n === 0) continue;
    if (n !== cols) throw fieldCountError(source, row, cols, n);
    rows++;
  }
  const used = rows * cols;
  return {
    buf,
    rows,
    cols,
    firstRow,
    starts: starts.subarray(0, used),
    ends: ends.subarray(0, used),
    escaped: escaped.subarray(0, used),
  };
}

/**
 * Index of the category whose bytes equal buf[s, s+len), or -1. A JS byte loop: for the short
 * strings of categorical columns it beats Buffer.compare, whose native call costs more than the compare.
 */
export function matchBytes(buf: Uint8Array, s: number, len: number, candidates: readonly Uint8Array[]): number {
  outer: for (let k = 0; k < candidates.length; k++) {
    const cat = candidates[k]!;
    if (cat.length !== len) continue;
    for (let j = 0; j < len; j++) if (cat[j] !== buf[s + j]) continue outer;
    return k;
  }
  return -1;
}

export function fieldText(chunk: CsvChunk, i: number): string {
  return spanText(chunk.buf, chunk.starts[i]!, chunk.ends[i]!, chunk.escaped[i]!);
}

/** A field's text: UTF-8, with "" escapes undone where the field had them. */
export function spanText(buf: Buffer, s: number, e: number, escaped: number): string {
  const text = buf.toString('utf8', s, e);
  return escaped ? text.replaceAll('""', '"') : text;
}

/** Exact powers of ten as doubles (10^22 is the largest that is). */
export const POW10 = [
  1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20,
  1e21, 1e22,
];
/** Integer mantissas below this are exact doubles (and so was every partial sum that built them). */
export const MAX_EXACT_MANTISSA = 2 ** 53;
/** Decimal places the fast path divides away exactly: 10^22 is the largest exact power of ten. */
export const MAX_EXACT_SCALE = 22;
const NUMBER_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Parses a decimal number from bytes; NaN when the bytes are not a number.
 * Fast path (mantissa below 2^53, at most 22 decimals) is exact: both operands are exact
 * doubles and one IEEE multiply or divide rounds correctly (Clinger). Otherwise Number().
 */
export function parseNumberBytes(buf: Uint8Array, s: number, e: number): number {
  let p = s;
  let neg = false;
  if (p < e && (buf[p] === 0x2d || buf[p] === 0x2b)) {
    neg = buf[p] === 0x2d;
    p++;
  }
  let mant = 0;
  let scale = 0;
  let any = false;
  while (p < e) {
    const d = buf[p]! - 0x30;
    if (d < 0 || d > 9) break;
    mant = mant * 10 + d;
    p++;
    any = true;
  }
  if (p < e && buf[p] === 0x2e) {
    p++;
    while (p < e) {
      const d = buf[p]! - 0x30;
      if (d < 0 || d > 9) break;
      mant = mant * 10 + d;
      scale--;
      p++;
      any = true;
    }
  }
  if (!any) return NaN;
  if (p < e && (buf[p] === 0x65 || buf[p] === 0x45)) return slowNumber(buf, s, e);
  if (p !== e) return NaN;
  // A rounded mantissa is never below 2^53 when the exact one is not (rounding is monotonic), so this test is exact.
  if (mant >= MAX_EXACT_MANTISSA || scale < -MAX_EXACT_SCALE) return slowNumber(buf, s, e);
  const v = scale === 0 ? mant : mant / POW10[-scale]!;
  return neg ? -v : v;
}

function slowNumber(buf: Uint8Array, s: number, e: number): number {
  const text = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('latin1', s, e);
  return NUMBER_RE.test(text) ? Number(text) : NaN;
}

/**
 * Where a block of up to `maxRows` whole rows starting at `from` ends: the offset after its last row
 * end, and how many row ends it holds. `eol` is the byte that ends a row (LF, or CR in a file with
 * CR-only line ends). Quotes are followed as the tokenizer follows them (a quote opens a field only
 * at its start), so a block never ends inside a quoted field. `final`: the data ends at `end`, so a
 * last row without a line end is whole. Returns rows 0 when no row is complete.
 */
function cutRows(
  buf: Buffer,
  from: number,
  end: number,
  maxRows: number,
  final: boolean,
  eol = LF,
): { end: number; rows: number } {
  let pos = from;
  let rows = 0;
  let cut = from;
  let open = false;
  let quote = buf.indexOf(QUOTE, pos);
  while (rows < maxRows) {
    const nl = buf.indexOf(eol, pos);
    if (quote >= 0 && quote < end && (nl < 0 || quote < nl)) {
      const prev = quote > from ? buf[quote - 1] : LF;
      if (prev === COMMA || prev === LF || prev === CR) {
        // A quoted field: find its closing quote ("" is an escaped quote inside it).
        let close = buf.indexOf(QUOTE, quote + 1);
        while (close >= 0 && close + 1 < end && buf[close + 1] === QUOTE) close = buf.indexOf(QUOTE, close + 2);
        if (close < 0 || close >= end || (close + 1 >= end && !final)) {
          open = true;
          break;
        } // not closed in what is buffered
        pos = close + 1;
      } else {
        pos = quote + 1;
      }
      quote = buf.indexOf(QUOTE, pos);
      continue;
    }
    if (nl < 0 || nl >= end) break;
    rows++;
    pos = nl + 1;
    cut = pos;
  }
  // The last row has no line end: it is whole when nothing follows (an open quote is the tokenizer's error to report).
  if (rows < maxRows && final && !open && cut < end) return { end, rows: rows + 1 };
  return { end: cut, rows };
}

export interface CsvBlocks {
  header: string[];
  /** Blocks of whole rows (each at most `chunkRows` rows, blank lines included), in file order. */
  blocks: AsyncGenerator<Buffer>;
}

/**
 * The header row at the start of `buf`, through the same tokenizer as the data: its names (BOM
 * stripped, trimmed), where it ends and which byte ends rows in this file. Undefined while the
 * row may continue past what is buffered.
 */
function parseHeader(
  buf: Buffer,
  final: boolean,
  source: string,
): { names: string[]; end: number; eol: number } | undefined {
  const start = buf.length >= BOM.length && buf.subarray(0, BOM.length).equals(BOM) ? BOM.length : 0;
  let cap = 1;
  for (let i = buf.indexOf(COMMA, start); i >= 0; i = buf.indexOf(COMMA, i + 1)) cap++;
  const starts = new Int32Array(cap),
    ends = new Int32Array(cap),
    escaped = new Uint8Array(cap);
  const n = tokenizeRow(buf, start, buf.length, cap, starts, ends, escaped, 0, source, 0);
  const end = rowScan.next;
  const last = buf[end - 1];
  // A row end seen at the very end of the buffer may be a CR whose LF is still to come.
  if (!final && (n === UNTERMINATED || (end >= buf.length && last !== LF))) return undefined;
  if (n === UNTERMINATED)
    throw new InvalidInputError(`${source}: row 0: unterminated quoted field in the header`, [
      { row: 0, issue: 'unterminated quote' },
    ]);
  const names = Array.from({ length: n }, (_, c) => spanText(buf, starts[c]!, ends[c]!, escaped[c]!).trim());
  if (n === 0 || (n === 1 && names[0] === ''))
    throw new InvalidInputError(`${source}: empty file or missing header row`);
  const seen = new Set<string>();
  for (const name of names) {
    if (name === '')
      throw new InvalidInputError(`${source}: header has an empty column name`, [
        { row: 0, issue: 'empty column name' },
      ]);
    if (seen.has(name))
      throw new InvalidInputError(`${source}: header names column ${quoted(name)} twice`, [
        { row: 0, field: name, issue: 'duplicate column' },
      ]);
    seen.add(name);
  }
  return { names, end, eol: last === CR ? CR : LF };
}

function toBuffer(v: unknown): Buffer {
  return Buffer.isBuffer(v) ? v : Buffer.from(v as string);
}

/**
 * Reads a CSV stream: resolves once the header row is read, then yields blocks of whole rows.
 * Memory is bounded by the block size, never by the file (a single row longer than what is
 * buffered is read whole).
 */
export async function openCsvBlocks(input: Readable | AsyncIterable<Buffer>, opts: CsvReadOptions): Promise<CsvBlocks> {
  const chunkRows = opts.chunkRows ?? DEFAULT_CHUNK_ROWS;
  const it = (input as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  let pending: Buffer = Buffer.alloc(0);
  let done = false;
  const more = async (want: number): Promise<void> => {
    // Gather reads into one concat: concatenating per read would copy the pending bytes over and over.
    const parts: Buffer[] = pending.length ? [pending] : [];
    let length = pending.length;
    while (!done && length < want) {
      const next = await it.next();
      if (next.done) {
        done = true;
        break;
      }
      const b = toBuffer(next.value);
      parts.push(b);
      length += b.length;
    }
    if (opts.buffers) {
      // Into a pooled buffer, the pending tail first. That buffer may be the one the tail is in (its block
      // was given back meanwhile): copy moves overlapping bytes correctly, and nothing else reads it.
      const target = opts.buffers.take(length);
      let at = 0;
      for (const part of parts) {
        part.copy(target, at);
        at += part.length;
      }
      pending = target.subarray(0, length);
    } else {
      pending = parts.length === 1 ? parts[0]! : Buffer.concat(parts, length);
    }
  };
  let header: ReturnType<typeof parseHeader>;
  for (;;) {
    await more(pending.length + 1);
    if (pending.length === 0 && done) throw new InvalidInputError(`${opts.source}: empty file (no header row)`);
    // The first line only: a NUL byte further on is a bad cell of some row, not a binary file.
    const lf = pending.indexOf(LF);
    checkTextStart(pending.subarray(0, lf < 0 ? HEADER_MAX_BYTES : lf), opts.source);
    header = parseHeader(pending, done, opts.source);
    if (header) break;
    if (pending.length >= HEADER_MAX_BYTES)
      throw new InvalidInputError(
        `${opts.source}: no row end in the first ${HEADER_MAX_BYTES} bytes: not a CSV file with a header row`,
        [{ row: 0, issue: `header row longer than ${HEADER_MAX_BYTES} bytes` }],
      );
  }
  const { names, eol } = header;
  pending = pending.subarray(header.end);

  async function* blocks(): AsyncGenerator<Buffer> {
    // Aim each read at roughly a block's worth of bytes, learned from the first block.
    let bytesPerRow = 0;
    for (;;) {
      if (pending.length === 0 && done) return;
      await more(bytesPerRow ? bytesPerRow * chunkRows : 1 << 20);
      const block = cutRows(pending, 0, pending.length, chunkRows, done, eol);
      if (block.rows === 0) {
        if (done) {
          // Only an unterminated quoted field is left: the tokenizer reports it with its row number.
          const rest = pending;
          pending = Buffer.alloc(0);
          yield rest;
          return;
        }
        // A row longer than what is buffered: read more.
        await more(pending.length * 2);
        continue;
      }
      bytesPerRow = Math.max(1, Math.ceil(block.end / block.rows));
      const out = pending.subarray(0, block.end);
      pending = pending.subarray(block.end);
      yield out;
    }
  }
  return { header: names, blocks: blocks() };
}

export interface CsvStream {
  header: string[];
  chunks: AsyncGenerator<CsvChunk>;
}

/** Reads a CSV stream as tokenized chunks of up to `chunkRows` rows (every column, as field offsets). */
export async function openCsv(input: Readable | AsyncIterable<Buffer>, opts: CsvReadOptions): Promise<CsvStream> {
  const { header, blocks } = await openCsvBlocks(input, opts);
  const maxRows = opts.chunkRows ?? DEFAULT_CHUNK_ROWS;
  async function* chunks(): AsyncGenerator<CsvChunk> {
    let firstRow = 1;
    for await (const block of blocks) {
      const chunk = tokenizeBlock(block, 0, block.length, header.length, firstRow, opts.source, maxRows);
      firstRow += chunk.rows;
      if (chunk.rows > 0) yield chunk;
    }
  }
  return { header, chunks: chunks() };
}
