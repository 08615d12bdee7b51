// One streaming pass over a data file (or any byte stream): its sha256, byte count, row count and
// inferred column types, the facts a dataset-version manifest records. Never holds the file.
import { createHash } from 'node:crypto';
import { localFileStream } from '../store/index.ts';
import { openCsv, parseNumberBytes, fieldText, matchBytes } from './csv.ts';

export interface ColumnSummary {
  name: string;
  type: 'numeric' | 'boolean' | 'categorical' | 'text';
  missing: number;
  min?: number;
  max?: number;
  /** Distinct values, for categorical columns (at most MAX_CATEGORIES). */
  values?: string[];
}

export interface FileSummary {
  sha256: string;
  bytes: number;
  rows: number;
  columns: ColumnSummary[];
}

const MAX_CATEGORIES = 50;

class ColumnStats {
  missing = 0;
  numeric = true;
  boolean = true;
  min = Infinity;
  max = -Infinity;
  /** Distinct values as bytes: comparing bytes avoids decoding a string per cell. */
  distinct: { raw: Buffer; text: string }[] | undefined = [];
  private readonly raw: Buffer[] = [];
  constructor(readonly name: string) {}

  addDistinct(buf: Buffer, s: number, e: number, decode: () => string): void {
    const seen = this.distinct!;
    if (matchBytes(buf, s, e - s, this.raw) >= 0) return;
    if (seen.length >= MAX_CATEGORIES) {
      this.distinct = undefined;
      return;
    }
    const text = decode();
    if (!seen.some((d) => d.text === text)) {
      seen.push({ raw: Buffer.from(buf.subarray(s, e)), text });
      this.raw.push(seen.at(-1)!.raw);
    }
  }

  summary(): ColumnSummary {
    const base = { name: this.name, missing: this.missing };
    const seen = this.min <= this.max;
    if (this.numeric && seen && this.boolean) return { ...base, type: 'boolean', min: this.min, max: this.max };
    if (this.numeric && seen) return { ...base, type: 'numeric', min: this.min, max: this.max };
    if (this.distinct && this.distinct.length > 0)
      return { ...base, type: 'categorical', values: this.distinct.map((d) => d.text).sort() };
    return { ...base, type: 'text' };
  }
}

async function* hashing(
  chunks: AsyncIterable<Buffer>,
  hash: ReturnType<typeof createHash>,
  counter: { bytes: number },
): AsyncGenerator<Buffer> {
  for await (const chunk of chunks) {
    hash.update(chunk);
    counter.bytes += chunk.length;
    yield chunk;
  }
}

export async function summarizeCsvFile(path: string): Promise<FileSummary> {
  return summarizeCsv(await localFileStream(path, 'data file'), path);
}

/** The same pass over any byte stream (an S3 object as it downloads); `source` names it in errors. */
export async function summarizeCsv(input: AsyncIterable<Buffer>, source: string): Promise<FileSummary> {
  const hash = createHash('sha256');
  const counter = { bytes: 0 };
  const csv = await openCsv(hashing(input, hash, counter), { source });
  const stats = csv.header.map((h) => new ColumnStats(h));
  let rows = 0;
  for await (const chunk of csv.chunks) {
    rows += chunk.rows;
    const { cols, starts, ends, buf } = chunk;
    for (let c = 0; c < cols; c++) {
      const st = stats[c]!;
      for (let r = 0; r < chunk.rows; r++) {
        const i = r * cols + c;
        const s = starts[i]!;
        const e = ends[i]!;
        if (s === e) {
          st.missing++;
          continue;
        }
        if (st.numeric) {
          const v = parseNumberBytes(buf, s, e);
          // 1e400 reads as Infinity: not a number a manifest (JSON) can hold, so not a numeric column either.
          if (!Number.isFinite(v)) st.numeric = false;
          else {
            if (v < st.min) st.min = v;
            if (v > st.max) st.max = v;
            if (v !== 0 && v !== 1) st.boolean = false;
            continue;
          }
        }
        if (st.distinct) st.addDistinct(buf, s, e, () => fieldText(chunk, i));
      }
    }
  }
  return { sha256: hash.digest('hex'), bytes: counter.bytes, rows, columns: stats.map((s) => s.summary()) };
}
