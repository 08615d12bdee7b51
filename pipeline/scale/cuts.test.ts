import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { fieldText, jsonLines, openCsv, type InputFormat } from '../data/index.ts';
import { rowCutter, type ShardRange } from './cuts.ts';

/** Cuts `bytes` fed in pieces of the given sizes (cycled). */
function cut(bytes: Buffer, format: InputFormat, shardBytes: number, pieces: number[] = [bytes.length || 1]) {
  const cutter = rowCutter({ format, shardBytes });
  for (let at = 0, k = 0; at < bytes.length; k++) {
    const n = Math.max(1, pieces[k % pieces.length]!);
    cutter.push(bytes.subarray(at, at + n));
    at += n;
  }
  const ranges = cutter.finish();
  return { ranges, headerEnd: cutter.headerEnd!, rows: cutter.rows };
}

/** Every row of a CSV stream as the one CSV reader reads it (fields joined by a tab). */
async function csvRows(bytes: Buffer): Promise<string[]> {
  const { chunks } = await openCsv(Readable.from([bytes]), { source: 't.csv', chunkRows: 3 });
  const rows: string[] = [];
  for await (const c of chunks)
    for (let r = 0; r < c.rows; r++)
      rows.push(Array.from({ length: c.cols }, (_, k) => fieldText(c, r * c.cols + k)).join('\t'));
  return rows;
}

async function jsonlRows(bytes: Buffer): Promise<string[]> {
  const rows: string[] = [];
  for await (const line of jsonLines(Readable.from([bytes]), 't.jsonl'))
    if (typeof line === 'string' && line.trim() !== '') rows.push(line.trim());
  return rows;
}

/** Shards read as the shard step reads them (header + range) give the whole file's rows, numbered on. */
async function assertShardsReadAsWhole(bytes: Buffer, format: InputFormat, shardBytes: number) {
  const { ranges, headerEnd } = cut(bytes, format, shardBytes);
  const read = format === 'csv' ? csvRows : jsonlRows;
  const whole = await read(bytes);
  const header = bytes.subarray(0, headerEnd);
  let next = headerEnd;
  const pieces: string[] = [];
  for (const r of ranges) {
    assert.equal(r.start, next, 'ranges are contiguous');
    assert.ok(r.end > r.start);
    assert.equal(r.first_row, pieces.length, 'first_row counts the data rows before the range');
    const rows = await read(Buffer.concat([header, bytes.subarray(r.start, r.end)]));
    assert.equal(rows.length, r.rows, `shard ${JSON.stringify(r)}: rows`);
    pieces.push(...rows);
    next = r.end;
  }
  assert.equal(next, bytes.length, 'the last range ends at the end of the input');
  assert.deepEqual(pieces, whole);
  return ranges;
}

/** The same cuts however the stream is chunked (every chunk edge lands somewhere inside a row or a quote). */
function assertChunkingIrrelevant(bytes: Buffer, format: InputFormat, shardBytes: number) {
  const whole = cut(bytes, format, shardBytes);
  for (const pieces of [[1], [2], [3], [7], [1, 5, 2], [64]]) {
    assert.deepEqual(cut(bytes, format, shardBytes, pieces), whole, `pieces ${pieces}`);
  }
}

const TRICKY_CSV = [
  'id,"na\r\nme",v\r\n',
  '1,plain,10\r\n',
  '2,"quoted, comma",20\r\n',
  '3,"line\nbreak ""and"" quote\r\nagain",30\r\n',
  '\r\n',
  '4,mid"quote,40\n',
  '\n',
  '5,"",50\r',
  '6,lone cr,60\r',
  '"7","x",70\r\n',
  '8,"ends with quote""",80\n',
  '9,"multi\n\n\nline",90\n',
  '10,last,100',
].join('');

test(
  'CSV: ranges end on row ends (quoted newlines, "" escapes, CRLF, lone CR, blank lines, no final ' + 'newline)',
  async () => {
    const bytes = Buffer.from(TRICKY_CSV);
    assert.equal((await csvRows(bytes)).length, 10);
    for (const shardBytes of [1, 5, 13, 20, 40, 64, 1000]) {
      await assertShardsReadAsWhole(bytes, 'csv', shardBytes);
      assertChunkingIrrelevant(bytes, 'csv', shardBytes);
    }
    // Every row alone in its shard when shards are one byte: blank lines belong to the row before them.
    const single = cut(bytes, 'csv', 1).ranges;
    assert.deepEqual(
      single.map((r) => r.rows),
      Array(10).fill(1),
    );
    const third = single[2]!;
    assert.equal(String(bytes.subarray(third.start, third.end)), '3,"line\nbreak ""and"" quote\r\nagain",30\r\n\r\n');
  },
);

test('CSV: a shard holds whole rows up to the shard size; a row longer than a shard is a shard of its own', () => {
  const row = (i: number) => `${i},${'x'.repeat(5)}\n`; // 8 bytes for i < 10
  const bytes = Buffer.from(`id,v\n${[0, 1, 2, 3, 4].map(row).join('')}9,${'y'.repeat(30)}\n${row(5)}`);
  const { ranges, headerEnd } = cut(bytes, 'csv', 20);
  assert.equal(headerEnd, 5);
  const spans: [number, number, number, number][] = ranges.map((r) => [r.start, r.end, r.first_row, r.rows]);
  assert.deepEqual(spans, [
    [5, 21, 0, 2],
    [21, 37, 2, 2],
    [37, 45, 4, 1],
    [45, 78, 5, 1],
    [78, 86, 6, 1],
  ]);
});

test('a file smaller than one shard is one shard; a header alone or an empty file is none', () => {
  const bytes = Buffer.from('id,v\n1,2\n3,4\n');
  assert.deepEqual(cut(bytes, 'csv', 1 << 20).ranges, [{ start: 5, end: 13, first_row: 0, rows: 2 }]);
  assert.deepEqual(cut(Buffer.from('id,v\n'), 'csv', 10).ranges, []);
  assert.deepEqual(cut(Buffer.from('id,v'), 'csv', 10), { ranges: [], headerEnd: 4, rows: 0 });
  assert.deepEqual(cut(Buffer.alloc(0), 'csv', 10), { ranges: [], headerEnd: 0, rows: 0 });
  assert.deepEqual(cut(Buffer.from('{"a":1}'), 'jsonl', 1 << 20).ranges, [{ start: 0, end: 7, first_row: 0, rows: 1 }]);
});

test('CSV: a quote left open runs to the end of the input (the shard holding it reports it, as one pass would)', () => {
  const bytes = Buffer.from('id,v\n1,2\n2,"open\n3,4\n5,6\n');
  const { ranges } = cut(bytes, 'csv', 4);
  assert.deepEqual(ranges.at(-1), { start: 9, end: bytes.length, first_row: 1, rows: 1 });
});

test('JSON lines: ranges end on LF; lines blank after trim (spaces, CR, NBSP, U+2028, BOM) are not rows', async () => {
  const bytes = Buffer.from(
    [
      '\uFEFF{"id":1}\n',
      '  \r\n',
      '{"id":"two\\nlines"}\r\n',
      '\u00a0\u2028 \t\n',
      'not json\n',
      '\n',
      '\u00a0x\n',
      '{"id":4,"s":"\u00e9\u4e2d"}\n',
      '   ',
    ].join(''),
  );
  assert.equal((await jsonlRows(bytes)).length, 5);
  for (const shardBytes of [1, 4, 9, 25, 1000]) {
    await assertShardsReadAsWhole(bytes, 'jsonl', shardBytes);
    assertChunkingIrrelevant(bytes, 'jsonl', shardBytes);
  }
});

test('cuts of a large generated CSV match the reader at every shard size', async () => {
  const lines = ['id,a,b'];
  for (let i = 0; i < 2000; i++) {
    const text = i % 7 === 0 ? `"q${i}\nline, ""x"""` : `t${i}`;
    lines.push(`${i},${text},${i * 3}`);
    if (i % 97 === 0) lines.push('');
  }
  for (const eol of ['\n', '\r\n']) {
    const bytes = Buffer.from(lines.join(eol));
    for (const shardBytes of [100, 1_000, 7_777]) {
      const ranges: ShardRange[] = await assertShardsReadAsWhole(bytes, 'csv', shardBytes);
      assert.ok(ranges.length > bytes.length / shardBytes - 1);
      for (const r of ranges.slice(0, -1)) assert.ok(r.end - r.start <= shardBytes);
      assertChunkingIrrelevant(bytes, 'csv', shardBytes);
    }
  }
});
