import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { inputFormat, jsonLines, openJsonlTables, type ColumnSpec, type TableChunk } from './index.ts';

const specs: ColumnSpec[] = [
  { name: 'id', type: 'text', nullable: true },
  { name: 'area', type: 'numeric', nullable: true },
  { name: 'pv', type: 'boolean', nullable: true },
  { name: 'form', type: 'text', nullable: true },
  { name: 'fuel', type: 'categorical', nullable: false, values: ['gas', 'oil'] },
];

async function chunks(text: string | Buffer[], chunkRows = 100): Promise<TableChunk[]> {
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
  for await (const l of jsonLines(Readable.from(pieces))) lines.push(l);
  assert.equal(lines.length, 250);
});

test('the input format comes from the file or key name', () => {
  assert.equal(inputFormat('incoming/a/b.CSV'), 'csv');
  assert.equal(inputFormat('b.jsonl'), 'jsonl');
  assert.equal(inputFormat('b.ndjson'), 'jsonl');
  assert.equal(inputFormat('b.json'), undefined);
});
