import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { InvalidInputError } from '../errors/index.ts';
import {
  inputFormat,
  jsonLines,
  LINE_TOO_LONG,
  LINE_TOO_LONG_ISSUE,
  openJsonlTables,
  type ColumnSpec,
  type TableChunk,
} from './index.ts';
import { HEADER_MAX_BYTES } from './csv.ts';

const specs: ColumnSpec[] = [
  { name: 'id', type: 'text', nullable: true },
  { name: 'area', type: 'numeric', nullable: true },
  { name: 'pv', type: 'boolean', nullable: true },
  { name: 'form', type: 'text', nullable: true },
  { name: 'fuel', type: 'categorical', nullable: false, values: ['gas', 'oil'] },
];

async function chunks(text: string | Iterable<Buffer>, chunkRows = 100): Promise<TableChunk[]> {
  const input = Readable.from(typeof text === 'string' ? [Buffer.from(text)] : text);
  const out: TableChunk[] = [];
  for await (const c of (await openJsonlTables(input, specs, { source: 'b.jsonl', chunkRows })).chunks) out.push(c);
  return out;
}

test('JSON-lines records become the typed columns the CSV reader yields (absent or null = missing)', async () => {
  const [c, ...rest] = await chunks(
    '\uFEFF{"id":"H1","area":71.5,"pv":true,"form":"Detached","fuel":"gas","extra":[1]}\r\n\n' +
      '{"id":7,"area":null,"pv":0,"fuel":"oil"}\n   \n{"id":"H3","pv":false,"form":"","fuel":"gas"}',
  );
  assert.equal(rest.length, 0);
  assert.equal(c!.table.rows, 3);
  assert.deepEqual(c!.issues, []);
  assert.deepEqual(c!.table.columns.get('id'), { kind: 'text', values: ['H1', '7', 'H3'] });
  assert.deepEqual([...(c!.table.columns.get('area') as { values: Float64Array }).values], [71.5, NaN, NaN]);
  assert.deepEqual([...(c!.table.columns.get('pv') as { values: Float64Array }).values], [1, 0, 0]);
  assert.deepEqual(c!.table.columns.get('form'), { kind: 'text', values: ['Detached', '', ''] });
  assert.deepEqual(c!.table.columns.get('fuel'), {
    kind: 'categorical',
    codes: Int32Array.of(0, 1, 0),
    categories: ['gas', 'oil'],
  });
});

test('bad values are issues naming the line and field; a line that is not JSON is a bad record', async () => {
  const [c] = await chunks(
    '{"id":"a","area":"big","pv":2,"form":{"x":1},"fuel":"coal"}\n{"id":"b","fuel":"gas"\n[1,2]\n{"id":"d"}\n',
  );
  assert.deepEqual(
    c!.issues.map((i) => [i.row, i.field]),
    [
      [1, 'area'],
      [1, 'pv'],
      [1, 'form'],
      [1, 'fuel'],
      [2, '(record)'],
      [3, '(record)'],
      [4, 'fuel'],
    ],
  );
  assert.match(c!.issues[0]!.issue, /expected a number, got "big"/);
  assert.match(c!.issues[1]!.issue, /expected true, false, 0 or 1, got 2/);
  assert.match(c!.issues[3]!.issue, /value "coal" is not one of gas\|oil/);
  assert.match(c!.issues[4]!.issue, /^not JSON: /);
  assert.match(c!.issues[5]!.issue, /expected an object, got an array/);
  assert.match(c!.issues[6]!.issue, /missing value \(column is not nullable\)/);
  assert.deepEqual([...c!.bad], [1, 1, 1, 1]);
});

test('records split across reads and chunk boundaries keep their row numbers', async () => {
  const text = Array.from({ length: 250 }, (_, i) => JSON.stringify({ id: `H${i + 1}`, area: i, fuel: 'gas' })).join(
    '\n',
  );
  const bytes = Buffer.from(text);
  const pieces = Array.from({ length: Math.ceil(bytes.length / 37) }, (_, i) => bytes.subarray(i * 37, (i + 1) * 37));
  const out = await chunks(pieces, 100);
  assert.deepEqual(
    out.map((c) => [c.firstRow, c.table.rows]),
    [
      [1, 100],
      [101, 100],
      [201, 50],
    ],
  );
  assert.equal((out[2]!.table.columns.get('id') as { values: string[] }).values[49], 'H250');
  const lines: string[] = [];
  for await (const l of jsonLines(Readable.from(pieces), 'b.jsonl')) if (typeof l === 'string') lines.push(l);
  assert.equal(lines.length, 250);
});

test('the input format comes from the file or key name', () => {
  assert.equal(inputFormat('incoming/a/b.CSV'), 'csv');
  assert.equal(inputFormat('b.jsonl'), 'jsonl');
  assert.equal(inputFormat('b.ndjson'), 'jsonl');
  assert.equal(inputFormat('b.json'), undefined);
});

/** `bytes` in reads of `size` bytes, as a stream delivers them (S3 gives 16 KiB and less). */
function* reads(bytes: Buffer, size: number): Generator<Buffer> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

test('a line over the CSV header bound is one bad record, not parsed; rows around it keep their numbers', async () => {
  const record = (id: string) => JSON.stringify({ id, area: 1, fuel: 'gas' });
  // A record of exactly the bound is read; one byte more is not.
  const atBound = `{"id":"B","fuel":"gas"${' '.repeat(HEADER_MAX_BYTES - 23)}}`;
  assert.equal(Buffer.byteLength(atBound), HEADER_MAX_BYTES);
  const text = [
    record('A'),
    atBound,
    `${atBound} `,
    record('C'),
    'x'.repeat(3 << 20),
    record('D'),
    'y'.repeat(5 << 20),
  ];
  const bytes = Buffer.from(text.join('\n'));
  for (const size of [16 << 10, 1 << 20, bytes.length]) {
    const out = await chunks(reads(bytes, size), 4);
    assert.deepEqual(
      out.map((c) => [c.firstRow, c.table.rows]),
      [
        [1, 4],
        [5, 3],
      ],
    );
    assert.deepEqual(
      out.flatMap((c) => c.issues),
      [3, 5, 7].map((row) => ({ row, field: '(record)', issue: LINE_TOO_LONG_ISSUE })),
      `reads of ${size} bytes`,
    );
    assert.deepEqual(
      out.flatMap((c) => (c.table.columns.get('id') as { values: string[] }).values),
      ['A', 'B', '', 'C', '', 'D', ''],
    );
  }
  assert.equal(LINE_TOO_LONG_ISSUE, 'line longer than 1048576 bytes: not read as a record');
  // A 50 MB line without a newline (the file #17 measured) is one bad record too, in 64 KiB reads.
  const lines: unknown[] = [];
  for await (const l of jsonLines(Readable.from(reads(Buffer.alloc(50_000_000, 'x'), 1 << 16)), 'l.jsonl'))
    lines.push(l);
  assert.deepEqual(lines, [LINE_TOO_LONG]);
});

test('a .jsonl that is gzip, zip or holds NUL bytes in its first line is refused whole, as a CSV is', async () => {
  const text = `${JSON.stringify({ id: 'H1', fuel: 'gas' })}\n${JSON.stringify({ id: 'H2', fuel: 'oil' })}\n`;
  const refused: [Buffer, RegExp][] = [
    [
      gzipSync(text),
      /^b\.jsonl: not a UTF-8 text file \(it starts with the gzip signature 1f 8b: decompress it first\)$/,
    ],
    [Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), Buffer.from(text)]), /the zip signature 50 4b 03 04/],
    [Buffer.from(text, 'utf16le'), /it holds NUL bytes: binary data, or text in UTF-16/],
    // A NUL byte past the first read of a first line that has no row end within the bound.
    [Buffer.concat([Buffer.alloc(200 << 10, ' '), Buffer.alloc(1), Buffer.alloc(2 << 20, ' ')]), /it holds NUL bytes/],
  ];
  for (const [bytes, message] of refused) {
    for (const size of [1 << 16, bytes.length]) {
      await assert.rejects(
        chunks(reads(bytes, size)),
        (e: unknown) => e instanceof InvalidInputError && message.test(e.message),
        `${message} in reads of ${size}`,
      );
      const lines = jsonLines(Readable.from(reads(bytes, size)), 'b.jsonl');
      await assert.rejects(
        async () => {
          for await (const _ of lines);
        },
        (e: unknown) => e instanceof InvalidInputError && message.test(e.message),
      );
    }
  }
  // A NUL byte in a later line is a bad record of that row, not a binary file (as in CSV).
  const [c] = await chunks(`${text}{"id":"H3\u0000"}\n{"id":"H4",\u0000}\n`);
  assert.deepEqual(
    c!.issues.map((i) => [i.row, i.field]),
    [
      [3, '(record)'],
      [4, '(record)'],
    ],
  );
});
