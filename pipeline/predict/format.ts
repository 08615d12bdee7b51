// Output formatting. Batch rows are written as bytes into one growing Buffer per chunk
// (digits computed with integer arithmetic, no string per number); online answers use the
// shortest decimal that reads back as the same float32.

/** The shortest decimal (≤ 9 significant digits) that rounds back to the same float32. */
export function shortestFloat32(v: number): number {
  if (!Number.isFinite(v) || v === 0) return v;
  for (let p = 6; p < 9; p++) {
    const d = Number(v.toPrecision(p));
    if (Math.fround(d) === v) return d;
  }
  return Number(v.toPrecision(9));
}

const COMMA = 0x2c;
const LF = 0x0a;
const NEEDS_QUOTES = /[",\r\n]/;
const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8];

/** A CSV field as RFC 4180 wants it: quoted only when it holds a quote, comma or newline. */
export function csvField(s: string): string {
  return NEEDS_QUOTES.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** Appends CSV bytes; `take()` hands out what was written and starts a fresh buffer. */
export class CsvWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initialBytes = 1 << 16) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** Reserves room for `bytes` more so the row loop does not grow the buffer piecemeal. */
  reserve(bytes: number): void {
    this.ensure(bytes);
  }

  /** A text field, quoted if it needs to be. */
  text(s: string): void {
    const field = NEEDS_QUOTES.test(s) ? csvField(s) : s;
    this.ensure(field.length * 3);
    this.pos += this.buf.write(field, this.pos, 'utf8');
  }

  /** Pre-encoded bytes (a constant suffix such as ",sap_change,3"). */
  bytes(b: Buffer): void {
    this.ensure(b.length);
    b.copy(this.buf, this.pos);
    this.pos += b.length;
  }

  comma(): void {
    this.ensure(1);
    this.buf[this.pos++] = COMMA;
  }

  newline(): void {
    this.ensure(1);
    this.buf[this.pos++] = LF;
  }

  /**
   * A float32 value with 8 significant digits at most, trailing zeros trimmed: fixed-point
   * through integer arithmetic where the scaled value is an exact safe integer (|v| in
   * [1e-2, 1e9)), the engine's formatting elsewhere. Empty for NaN (a missing prediction).
   */
  number(v: number): void {
    this.ensure(32);
    const a = v < 0 ? -v : v;
    if (!(a >= 1e-2 && a < 1e9)) {
      if (Number.isNaN(v)) return;
      this.pos += this.buf.write(v === 0 ? '0' : String(shortestFloat32(v)), this.pos, 'latin1');
      return;
    }
    const intDigits = a < 1 ? 0 : Math.floor(Math.log10(a)) + 1;
    let decimals = 8 - intDigits;
    if (decimals < 0) decimals = 0;
    let scaled = Math.round(a * POW10[decimals]!);
    // Trim trailing zeros of the fraction.
    while (decimals > 0 && scaled % 10 === 0) {
      scaled /= 10;
      decimals--;
    }
    const buf = this.buf;
    if (v < 0) buf[this.pos++] = 0x2d;
    // Digits right to left into place; `len` covers the integer part, the point and the fraction.
    let intPart = Math.floor(scaled / POW10[decimals]!);
    let frac = scaled - intPart * POW10[decimals]!;
    let intLen = 1;
    for (let t = intPart; t >= 10; t = Math.floor(t / 10)) intLen++;
    const len = intLen + (decimals > 0 ? decimals + 1 : 0);
    let p = this.pos + len - 1;
    for (let d = 0; d < decimals; d++) {
      buf[p--] = 0x30 + (frac % 10);
      frac = Math.floor(frac / 10);
    }
    if (decimals > 0) buf[p--] = 0x2e;
    do {
      buf[p--] = 0x30 + (intPart % 10);
      intPart = Math.floor(intPart / 10);
    } while (intPart > 0);
    this.pos += len;
  }

  get length(): number {
    return this.pos;
  }

  take(): Buffer {
    const out = this.buf.subarray(0, this.pos);
    this.buf = Buffer.allocUnsafe(this.buf.length);
    this.pos = 0;
    return out;
  }
}

/** Bytes a predictions line needs at most besides its id: a number and the lineage suffix. */
const LINE_SLACK = 40;

/**
 * Predictions lines (id, prediction, lineage) of the rows not flagged in `bad`; `preds` holds one
 * prediction per such row, in order. The one formatter of the batch output, on any thread.
 */
export function writePredictionLines(
  writer: CsvWriter,
  ids: readonly string[],
  preds: Float32Array,
  bad: Uint8Array,
  lineage: Buffer,
): void {
  writer.reserve(preds.length * (lineage.length + LINE_SLACK));
  for (let r = 0, k = 0; r < bad.length; r++) {
    if (bad[r]) continue;
    writer.text(ids[r] ?? '');
    writer.comma();
    writer.number(preds[k++]!);
    writer.bytes(lineage);
  }
}

/** The constant end of every predictions line: ",<model name>,<version>\n". */
export function lineageSuffix(name: string, version: number): Buffer {
  return Buffer.from(`,${csvField(name)},${version}\n`, 'utf8');
}
