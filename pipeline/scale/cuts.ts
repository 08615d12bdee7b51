// Where an input is cut into shards: row ends found in one pass over the bytes exactly as the readers
// of pipeline/data find them (CSV: LF, CR or CRLF outside quoted fields, a quote opening a field only
// at its start, "" escaped, blank lines not rows; JSON lines: LF, lines blank after trim not rows), so
// each shard's range parses into the same rows the whole file does. A cut is the last row end within
// `shardBytes` of the shard's start, or, for a row longer than that, the row's own end. The cuts depend
// on the bytes only, never on how the stream was chunked.
import type { InputFormat } from '../data/index.ts';

const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const COMMA = 0x2c;

/** Bytes [start, end) of the input, `rows` data rows, `first_row` data rows before it. */
export interface ShardRange {
  start: number;
  end: number;
  first_row: number;
  rows: number;
}

export interface CutOptions {
  format: InputFormat;
  shardBytes: number;
}

/** Row ends in, shard ranges out. The first row of a CSV is its header: its end is where the data starts. */
abstract class RowCutter {
  /** Bytes pushed so far. */
  offset = 0;
  /** Where the row being read started. */
  protected rowStart = 0;
  /** Data rows ended so far. */
  rows = 0;
  /** End of the header row (CSV), undefined until it is read; 0 for JSON lines. */
  headerEnd: number | undefined;
  readonly ranges: ShardRange[] = [];
  private start = 0;
  private startRows = 0;
  private candidate = -1;
  private candidateRows = 0;

  constructor(
    private readonly shardBytes: number,
    hasHeader: boolean,
  ) {
    if (!(shardBytes >= 1)) throw new Error(`internal: shard size ${shardBytes}`);
    this.headerEnd = hasHeader ? undefined : 0;
  }

  abstract push(buf: Buffer): void;
  protected abstract flush(): void;
  /** Whether the row still open at the end of the input is blank. */
  protected abstract tailBlank(): boolean;

  /** The row that started at rowStart ended; the next one starts at `end`. */
  protected rowEnd(end: number, blank: boolean): void {
    this.rowStart = end;
    if (this.headerEnd === undefined) {
      this.headerEnd = end;
      this.start = this.candidate = end;
      return;
    }
    if (!blank) this.rows++;
    const limit = this.start + this.shardBytes;
    if (end <= limit) {
      this.candidate = end;
      this.candidateRows = this.rows;
      return;
    }
    // Past the limit: cut at the last row end within it, or here when the row alone is longer.
    if (this.candidate > this.start) {
      this.cut(this.candidate, this.candidateRows);
      if (end <= this.start + this.shardBytes) {
        this.candidate = end;
        this.candidateRows = this.rows;
        return;
      }
    }
    this.cut(end, this.rows);
  }

  /** Ends the current shard at `end`; blank lines alone are no shard: they join the one before. */
  private cut(end: number, rows: number): void {
    const last = this.ranges.at(-1);
    if (rows === this.startRows && last) last.end = end;
    else this.ranges.push({ start: this.start, end, first_row: this.startRows, rows: rows - this.startRows });
    this.start = this.candidate = end;
    this.startRows = this.candidateRows = rows;
  }

  /** The end of the input: its last row (even without a line end) and the last shard. */
  finish(): ShardRange[] {
    this.flush();
    if (this.offset > this.rowStart) this.rowEnd(this.offset, this.tailBlank());
    this.headerEnd ??= this.offset;
    if (this.offset > this.start) this.cut(this.offset, this.rows);
    return this.ranges;
  }
}

class CsvCutter extends RowCutter {
  private inQuote = false;
  /** Inside a quoted field, the last byte pushed was a quote: closing, or the first of "". */
  private quoteAtEnd = false;
  /** The last byte pushed was a CR outside quotes: the row ended, with or without the LF still to come. */
  private pendingCr = false;
  private pendingBlank = false;
  private lastByte = LF;

  push(buf: Buffer): void {
    const n = buf.length;
    if (n === 0) return;
    const base = this.offset;
    let i = 0;
    if (this.pendingCr) {
      this.pendingCr = false;
      if (buf[0] === LF) i = 1;
      this.rowEnd(base + i, this.pendingBlank);
    }
    const find = (byte: number, from: number) => {
      const k = buf.indexOf(byte, from);
      return k < 0 ? n : k;
    };
    let lf = -1;
    let cr = -1;
    let q = -1;
    while (i < n) {
      if (this.inQuote) {
        if (this.quoteAtEnd) {
          this.quoteAtEnd = false;
          if (buf[i] === QUOTE) i++;
          else this.inQuote = false;
          continue;
        }
        if (q < i) q = find(QUOTE, i);
        if (q >= n) break;
        if (q + 1 >= n) {
          this.quoteAtEnd = true;
          break;
        }
        if (buf[q + 1] === QUOTE) i = q + 2;
        else {
          this.inQuote = false;
          i = q + 1;
        }
        continue;
      }
      if (lf < i) lf = find(LF, i);
      if (cr < i) cr = find(CR, i);
      if (q < i) q = find(QUOTE, i);
      const e = Math.min(lf, cr);
      if (q < e) {
        // A quote opens a field only at the field's start; elsewhere it is a literal byte (as the tokenizer reads it).
        if (base + q === this.rowStart || (q > 0 ? buf[q - 1] : this.lastByte) === COMMA) this.inQuote = true;
        i = q + 1;
        continue;
      }
      if (e >= n) break;
      const blank = base + e === this.rowStart;
      if (e === lf) {
        this.rowEnd(base + e + 1, blank);
        i = e + 1;
      } else if (e + 1 >= n) {
        this.pendingCr = true;
        this.pendingBlank = blank;
        break;
      } else {
        i = buf[e + 1] === LF ? e + 2 : e + 1;
        this.rowEnd(base + i, blank);
      }
    }
    this.lastByte = buf[n - 1]!;
    this.offset += n;
  }

  protected tailBlank(): boolean {
    return false; // bytes after the last row end that are neither LF nor CR: a row
  }

  protected flush(): void {
    if (this.pendingCr) {
      this.pendingCr = false;
      this.rowEnd(this.offset, this.pendingBlank);
    }
  }
}

/** JavaScript's trim() whitespace (WhiteSpace and LineTerminator): what makes a JSON line blank. */
const TRIMMED = /^\s$/u;

class JsonlCutter extends RowCutter {
  /** Nothing but whitespace seen on the current line so far. */
  private blank = true;
  /** The bytes of a multi-byte character cut by a chunk's end, while the line is still blank. */
  private partial: number[] = [];

  push(buf: Buffer): void {
    const n = buf.length;
    if (n === 0) return;
    const base = this.offset;
    let i = 0;
    for (;;) {
      const nl = buf.indexOf(LF, i);
      const e = nl < 0 ? n : nl;
      if (this.blank) this.scanBlank(buf, i, e);
      if (nl < 0) break;
      this.rowEnd(base + nl + 1, this.blank);
      this.blank = true;
      this.partial = [];
      i = nl + 1;
    }
    this.offset += n;
  }

  /** Clears `blank` at the first character of buf[from, to) that trim() would keep. */
  private scanBlank(buf: Buffer, from: number, to: number): void {
    for (let i = from; i < to && this.blank; i++) {
      const b = buf[i]!;
      if (this.partial.length === 0) {
        if (b === 0x20 || (b >= 0x09 && b <= 0x0d)) continue;
        if (b < 0x80) {
          this.blank = false;
          return;
        }
      }
      this.partial.push(b);
      const lead = this.partial[0]!;
      const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
      if (this.partial.length < need) continue;
      const char = Buffer.from(this.partial).toString('utf8');
      this.partial = [];
      if (!TRIMMED.test(char)) this.blank = false;
    }
  }

  protected tailBlank(): boolean {
    return this.blank;
  }

  protected flush(): void {
    // A character still cut at the end of the input is invalid UTF-8: decoded, not whitespace.
    if (this.partial.length) this.blank = false;
  }
}

export function rowCutter(opts: CutOptions): RowCutter {
  return opts.format === 'csv' ? new CsvCutter(opts.shardBytes, true) : new JsonlCutter(opts.shardBytes, false);
}

export type { RowCutter };
