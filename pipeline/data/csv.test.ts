import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { openCsv, parseNumberBytes, fieldText } from './csv.ts';
import { readCsvTable, openCsvTables } from './read-table.ts';

function bytes(text: string, pieces = 1): Readable {
  const buf = Buffer.from(text);
  const size = Math.max(1, Math.ceil(buf.length / pieces));
  const parts: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) parts.push(buf.subarray(i, i + size));
  return Readable.from(parts);
}

async function allRows(text: string, pieces: number, chunkRows = 3): Promise<string[][]> {
  const csv = await openCsv(bytes(text, pieces), { source: 't.csv', chunkRows });
  const rows: string[][] = [];
  for await (const ch of csv.chunks) {
    for (let r = 0; r < ch.rows; r++) rows.push(Array.from({ length: ch.cols }, (_, c) => fieldText(ch, r * ch.cols + c)));
  }
  return rows;
}

test('quoted fields, escaped quotes, CRLF and a missing final newline parse the same however the bytes are split', async () => {
  const text = 'a,b,c\r\n1,"x, y",3\r\n"say ""hi""",,\r\n4,5,"multi\nline"';
  const want = [['1', 'x, y', '3'], ['say "hi"', '', ''], ['4', '5', 'multi\nline']];
  for (const pieces of [1, 2, 5, 17, text.length]) assert.deepEqual(await allRows(text, pieces), want, `split into ${pieces}`);
});

test('a row with the wrong number of fields names the file and row', async () => {
  await assert.rejects(allRows('a,b\n1,2\n3\n', 1), /t\.csv: row 2: expected 2 fields as in the header, found 1/);
});

test('numbers parse exactly like Number() on the fast and slow paths', () => {
  for (const s of ['0', '-1.5', '3.14159', '1e3', '123456789012345678', '0.1', '-0.000001', '+7', '.5', '5.']) {
    const b = Buffer.from(s);
    assert.equal(parseNumberBytes(b, 0, b.length), Number(s), s);
  }
  for (const s of ['abc', '1.2.3', '0x10', '-', '1e', 'NaN']) {
    const b = Buffer.from(s);
    assert.ok(Number.isNaN(parseNumberBytes(b, 0, b.length)), s);
  }
});

test('readCsvTable names file, column and first bad row for each kind of bad cell', async () => {
  const specs = [
    { name: 'x', type: 'numeric' as const, min: 0, max: 10 },
    { name: 'k', type: 'categorical' as const, values: ['a', 'b'] },
    { name: 'f', type: 'boolean' as const },
  ];
  await assert.rejects(readCsvTable(bytes('x,k,f\n1,a,0\nfoo,a,1\n'), specs, { source: 'd.csv' }), /d\.csv: row 2, column "x": expected a number, got "foo"/);
  await assert.rejects(readCsvTable(bytes('x,k,f\n1,c,0\n'), specs, { source: 'd.csv' }), /d\.csv: row 1, column "k": value "c" is not one of a\|b/);
  await assert.rejects(readCsvTable(bytes('x,k,f\n1,a,2\n'), specs, { source: 'd.csv' }), /column "f": expected 0 or 1/);
  await assert.rejects(readCsvTable(bytes('x,k,f\n11,a,1\n'), specs, { source: 'd.csv' }), /column "x": value 11 out of range \(expected between 0 and 10\)/);
  await assert.rejects(readCsvTable(bytes('x,k,f\n,a,1\n'), specs, { source: 'd.csv' }), /column "x": missing value \(column is not nullable\)/);
  await assert.rejects(readCsvTable(bytes('x,f\n1,1\n'), specs, { source: 'd.csv' }), /d\.csv: missing column "k"/);
  await assert.rejects(readCsvTable(bytes(''), specs, { source: 'd.csv' }), /d\.csv: empty file/);
  await assert.rejects(readCsvTable(bytes('x,k,f\n'), specs, { source: 'd.csv' }), /d\.csv: no data rows/);
});

test('chunked reading flags bad rows without stopping and keeps row numbers across chunks', async () => {
  const specs = [{ name: 'x', type: 'numeric' as const }];
  const reader = await openCsvTables(bytes('x\n1\n2\nbad\n4\n5\nno\n'), specs, { source: 'd.csv', chunkRows: 2 });
  const badRows: number[] = [];
  let rows = 0;
  for await (const ch of reader.chunks) { rows += ch.table.rows; for (const i of ch.issues) badRows.push(i.row); }
  assert.equal(rows, 6);
  assert.deepEqual(badRows, [3, 6]);
});
