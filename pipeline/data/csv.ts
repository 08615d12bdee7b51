// Streaming CSV tokenizer over raw bytes (RFC 4180: quotes, "" escapes, CRLF).
// It yields chunks of complete rows as field offsets into one Buffer, so the hot paths
// (scoring 1M rows, training, drift) parse numbers and match categories straight from
// bytes without allocating a string or an object per cell.
import type { Readable } from 'node:stream';
import { InvalidInputError } from '../errors/index.ts';

const QUOTE = 0x22;
const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;

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
  chunkRows?: number;
}

/** Splits one buffer's complete lines into fields; returns the offset just past the last complete row. */
function tokenize(buf: Buffer, end: number, final: boolean, cols: number, maxRows: number, out: { starts: Int32Array; ends: Int32Array; escaped: Uint8Array }, source: string, firstRow: number): { rows: number; consumed: number } {
  const { starts, ends, escaped } = out;
  let pos = 0;
  let rows = 0;
  while (rows < maxRows && pos < end) {
    const rowStart = pos;
    let c = 0;
    const base = rows * cols;
    let complete = false;
    for (;;) {
      if (pos >= end) break;
      let s: number;
      let e: number;
      let esc = 0;
      if (buf[pos] === QUOTE) {
        s = ++pos;
        for (;;) {
          if (pos >= end) { e = -1; break; }
          if (buf[pos] === QUOTE) {
            if (pos + 1 < end && buf[pos + 1] === QUOTE) { esc = 1; pos += 2; continue; }
            if (pos + 1 >= end && !final) { e = -1; break; }
            e = pos++;
            break;
          }
          pos++;
        }
        if (e === -1) break; // quoted field runs past the buffer: wait for more bytes
      } else {
        s = pos;
        while (pos < end) {
          const b = buf[pos]!;
          if (b === COMMA || b === LF || b === CR) break;
          pos++;
        }
        e = pos;
      }
      if (c < cols) { starts[base + c] = s; ends[base + c] = e; escaped[base + c] = esc; }
      c++;
      if (pos >= end) {
        if (!final) break;
        complete = true;
        break;
      }
      const b = buf[pos]!;
      if (b === COMMA) { pos++; continue; }
      if (b === CR) { if (pos + 1 >= end && !final) break; pos++; if (pos < end && buf[pos] === LF) pos++; complete = true; break; }
      if (b === LF) { pos++; complete = true; break; }
      throw new InvalidInputError(`${source}: row ${firstRow + rows}: unexpected character after a quoted field`, [{ row: firstRow + rows, issue: 'malformed quoting' }]);
    }
    if (!complete) { pos = rowStart; break; }
    if (c === 1 && ends[base] === starts[base] && buf[rowStart] !== QUOTE) continue; // blank line
    if (c !== cols) {
      throw new InvalidInputError(`${source}: row ${firstRow + rows}: expected ${cols} fields as in the header, found ${c}`, [{ row: firstRow + rows, issue: `expected ${cols} fields, found ${c}` }]);
    }
    rows++;
  }
  return { rows, consumed: pos };
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
  const text = chunk.buf.toString('utf8', chunk.starts[i]!, chunk.ends[i]!);
  return chunk.escaped[i] ? text.replaceAll('""', '"') : text;
}

const POW10 = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];
const NUMBER_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Parses a decimal number from bytes; NaN when the bytes are not a number.
 * Fast path (≤15 significant digits, |exponent| ≤ 22) is exact: both operands are exact
 * doubles and one IEEE multiply or divide rounds correctly (Clinger). Otherwise Number().
 */
export function parseNumberBytes(buf: Buffer, s: number, e: number): number {
  let p = s;
  let neg = false;
  if (p < e && (buf[p] === 0x2d || buf[p] === 0x2b)) { neg = buf[p] === 0x2d; p++; }
  let mant = 0;
  let digits = 0;
  let scale = 0;
  let any = false;
  while (p < e) {
    const d = buf[p]! - 0x30;
    if (d < 0 || d > 9) break;
    if (digits > 0 || d !== 0) digits++;
    mant = mant * 10 + d; p++; any = true;
  }
  if (p < e && buf[p] === 0x2e) {
    p++;
    while (p < e) {
      const d = buf[p]! - 0x30;
      if (d < 0 || d > 9) break;
      if (digits > 0 || d !== 0) digits++;
      mant = mant * 10 + d; scale--; p++; any = true;
    }
  }
  if (!any) return NaN;
  if (p < e && (buf[p] === 0x65 || buf[p] === 0x45)) return slowNumber(buf, s, e);
  if (p !== e) return NaN;
  if (digits > 15 || scale < -22) return slowNumber(buf, s, e);
  const v = scale === 0 ? mant : mant / POW10[-scale]!;
  return neg ? -v : v;
}

function slowNumber(buf: Buffer, s: number, e: number): number {
  const text = buf.toString('latin1', s, e);
  return NUMBER_RE.test(text) ? Number(text) : NaN;
}

export interface CsvStream {
  header: string[];
  chunks: AsyncGenerator<CsvChunk>;
}

function parseHeader(line: Buffer, source: string): string[] {
  const text = line.toString('utf8').replace(/^\uFEFF/, '').replace(/\r$/, '');
  if (text.trim() === '') throw new InvalidInputError(`${source}: empty file or missing header row`);
  const names = text.split(',').map((h) => h.replace(/^"(.*)"$/, '$1').trim());
  const seen = new Set<string>();
  for (const n of names) {
    if (n === '') throw new InvalidInputError(`${source}: header has an empty column name`, [{ row: 0, issue: 'empty column name' }]);
    if (seen.has(n)) throw new InvalidInputError(`${source}: header names column "${n}" twice`, [{ row: 0, field: n, issue: 'duplicate column' }]);
    seen.add(n);
  }
  return names;
}

/**
 * Reads a CSV stream: resolves once the header is read, then yields chunks of up to
 * `chunkRows` rows. Memory is bounded by the chunk size, never by the file.
 */
export async function openCsv(input: Readable | AsyncIterable<Buffer>, opts: CsvReadOptions): Promise<CsvStream> {
  const chunkRows = opts.chunkRows ?? 65536;
  const it = input[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let pending: Buffer = Buffer.alloc(0);
  let done = false;
  // Header: read until the first newline.
  for (;;) {
    const nl = pending.indexOf(LF);
    if (nl >= 0) {
      const header = parseHeader(pending.subarray(0, nl), opts.source);
      pending = pending.subarray(nl + 1);
      return { header, chunks: chunks(header.length) };
    }
    const next = await it.next();
    if (next.done) {
      if (pending.length === 0) throw new InvalidInputError(`${opts.source}: empty file (no header row)`);
      const header = parseHeader(pending, opts.source);
      pending = Buffer.alloc(0);
      done = true;
      return { header, chunks: chunks(header.length) };
    }
    pending = pending.length ? Buffer.concat([pending, toBuffer(next.value)]) : toBuffer(next.value);
  }

  async function* chunks(cols: number): AsyncGenerator<CsvChunk> {
    let firstRow = 1;
    const starts = new Int32Array(chunkRows * cols);
    const ends = new Int32Array(chunkRows * cols);
    const escaped = new Uint8Array(chunkRows * cols);
    const scratch = { starts, ends, escaped };
    // Aim each tokenize call at roughly a chunk's worth of bytes, learned from the first rows.
    let bytesPerRow = 0;
    for (;;) {
      const want = bytesPerRow ? bytesPerRow * chunkRows : 1 << 20;
      // Gather reads into one concat: concatenating per read would copy the pending bytes over and over.
      const parts: Buffer[] = pending.length ? [pending] : [];
      let length = pending.length;
      while (!done && length < want) {
        const next = await it.next();
        if (next.done) { done = true; break; }
        const b = toBuffer(next.value);
        parts.push(b);
        length += b.length;
      }
      if (parts.length > 1) pending = Buffer.concat(parts, length);
      else if (parts.length === 1) pending = parts[0]!;
      if (pending.length === 0 && done) return;
      const { rows, consumed } = tokenize(pending, pending.length, done, cols, chunkRows, scratch, opts.source, firstRow);
      if (rows === 0 && consumed === 0) {
        if (done) {
          if (pending.length && pending.toString('utf8').trim() !== '') throw new InvalidInputError(`${opts.source}: row ${firstRow}: unterminated quoted field at end of file`, [{ row: firstRow, issue: 'unterminated quote' }]);
          return;
        }
        // A row longer than what is buffered: read more.
        const next = await it.next();
        if (next.done) done = true; else pending = Buffer.concat([pending, toBuffer(next.value)]);
        continue;
      }
      if (rows > 0) {
        bytesPerRow = Math.max(1, Math.ceil(consumed / rows));
        const buf = pending.subarray(0, consumed);
        yield {
          buf, rows, cols, firstRow,
          starts: starts.slice(0, rows * cols), ends: ends.slice(0, rows * cols), escaped: escaped.slice(0, rows * cols),
        };
        firstRow += rows;
      }
      pending = pending.subarray(consumed);
      if (done && pending.length === 0) return;
    }
  }
}

function toBuffer(v: unknown): Buffer {
  return Buffer.isBuffer(v) ? v : Buffer.from(v as string);
}
