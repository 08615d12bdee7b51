import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createReadStream } from 'node:fs';
import { BlockBuffers, openCsv, openCsvBlocks, parseNumberBytes, fieldText, tokenizeBlock } from './csv.ts';
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
    for (let r = 0; r < ch.rows; r++)
      rows.push(Array.from({ length: ch.cols }, (_, c) => fieldText(ch, r * ch.cols + c)));
  }
  return rows;
}

test(
  'quoted fields, escaped quotes, CRLF and a missing final newline parse the same however the ' + 'bytes are split',
  async () => {
    const text = 'a,b,c\r\n1,"x, y",3\r\n"say ""hi""",,\r\n4,5,"multi\nline"';
    const want = [
      ['1', 'x, y', '3'],
      ['say "hi"', '', ''],
      ['4', '5', 'multi\nline'],
    ];
    for (const pieces of [1, 2, 5, 17, text.length])
      assert.deepEqual(await allRows(text, pieces), want, `split into ${pieces}`);
  },
);

test('a row with the wrong number of fields names the file and row', async () => {
  await assert.rejects(allRows('a,b\n1,2\n3\n', 1), /t\.csv: row 2: expected 2 fields as in the header, found 1/);
});

test(
  'a table row with the wrong number of fields is a bad row with its number; a strict read names ' + 'file and row',
  async () => {
    const specs = [
      { name: 'a', type: 'numeric' as const },
      { name: 'b', type: 'text' as const },
    ];
    const text = 'a,b\n1,x\n2\n3,y,extra\n4,z\n';
    const reader = await openCsvTables(bytes(text), specs, { source: 't.csv', chunkRows: 2 });
    const seen: { rows: number; bad: number[]; issues: unknown[] }[] = [];
    for await (const c of reader.chunks) seen.push({ rows: c.table.rows, bad: [...c.bad], issues: c.issues });
    assert.deepEqual(seen, [
      {
        rows: 2,
        bad: [0, 1],
        issues: [{ row: 2, field: '(row)', issue: 'expected 2 fields as in the header, found 1' }],
      },
      {
        rows: 2,
        bad: [1, 0],
        issues: [{ row: 3, field: '(row)', issue: 'expected 2 fields as in the header, found 3' }],
      },
    ]);
    await assert.rejects(
      readCsvTable(bytes(text), specs, { source: 't.csv' }),
      /^InvalidInputError: t\.csv: row 2: expected 2 fields as in the header, found 1 \(and 1 more in rows 1–4\)$/,
    );
  },
);

test('numbers parse exactly like Number() on the fast and slow paths', () => {
  for (const s of [
    '0',
    '-1.5',
    '3.14159',
    '1e3',
    '123456789012345678',
    '0.1',
    '-0.000001',
    '+7',
    '.5',
    '5.',
    '9007199254740993',
    '9007199254740992',
    '900719925474099.3',
    '0.0000000000000000000001',
    '0.00000000000000000000001',
  ]) {
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
  await assert.rejects(
    readCsvTable(bytes('x,k,f\n1,a,0\nfoo,a,1\n'), specs, { source: 'd.csv' }),
    /d\.csv: row 2, column "x": expected a number, got "foo"/,
  );
  await assert.rejects(
    readCsvTable(bytes('x,k,f\n1,c,0\n'), specs, { source: 'd.csv' }),
    /d\.csv: row 1, column "k": value "c" is not one of a\|b/,
  );
  await assert.rejects(
    readCsvTable(bytes('x,k,f\n1,a,2\n'), specs, { source: 'd.csv' }),
    /column "f": expected 0 or 1/,
  );
  await assert.rejects(
    readCsvTable(bytes('x,k,f\n11,a,1\n'), specs, { source: 'd.csv' }),
    /column "x": value 11 out of range \(expected between 0 and 10\)/,
  );
  await assert.rejects(
    readCsvTable(bytes('x,k,f\n,a,1\n'), specs, { source: 'd.csv' }),
    /column "x": missing value \(column is not nullable\)/,
  );
  await assert.rejects(readCsvTable(bytes('x,f\n1,1\n'), specs, { source: 'd.csv' }), /d\.csv: missing column "k"/);
  await assert.rejects(readCsvTable(bytes(''), specs, { source: 'd.csv' }), /d\.csv: empty file/);
  await assert.rejects(readCsvTable(bytes('x,k,f\n'), specs, { source: 'd.csv' }), /d\.csv: no data rows/);
});

test('chunked reading flags bad rows without stopping and keeps row numbers across chunks', async () => {
  const specs = [{ name: 'x', type: 'numeric' as const }];
  const reader = await openCsvTables(bytes('x\n1\n2\nbad\n4\n5\nno\n'), specs, { source: 'd.csv', chunkRows: 2 });
  const badRows: number[] = [];
  let rows = 0;
  for await (const ch of reader.chunks) {
    rows += ch.table.rows;
    for (const i of ch.issues) badRows.push(i.row);
  }
  assert.equal(rows, 6);
  assert.deepEqual(badRows, [3, 6]);
});

test('a categorical that keeps unlisted values codes them after its list, per block, quoted or not', async () => {
  const specs = [
    { name: 'kind', type: 'categorical' as const, values: ['a', 'b'], nullable: true, keepUnlisted: true },
    { name: 'x', type: 'numeric' as const },
  ];
  const text = 'kind,x\na,1\nzed,2\n"b",3\n,4\n"q""uote",5\nzed,6\nb,7\n';
  const reader = await openCsvTables(bytes(text), specs, { source: 'k.csv', chunkRows: 4 });
  const seen: string[] = [];
  for await (const ch of reader.chunks) {
    assert.deepEqual(ch.issues, []);
    const col = ch.table.columns.get('kind') as { codes: Int32Array; categories: string[] };
    for (const c of col.codes) seen.push(c < 0 ? '(missing)' : `${c}:${col.categories[c]}`);
  }
  // The second block's own unlisted values start after the list again.
  assert.deepEqual(seen, ['0:a', '2:zed', '1:b', '(missing)', '2:q"uote', '3:zed', '1:b']);
});

// An independent oracle for the reader's rules, written for clarity over strings: RFC 4180 fields,
// then each cell converted by the documented rules. The fast path and the slow path must both match it.
function oracleRows(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [],
    field = '',
    i = 0,
    quoted = false,
    any = false;
  const endRow = () => {
    row.push(field);
    if (!(row.length === 1 && row[0] === '' && !any)) rows.push(row);
    row = [];
    field = '';
    any = false;
  };
  while (i < text.length) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
        continue;
      }
      if (ch === '"') {
        quoted = false;
        i++;
        continue;
      }
      field += ch;
      i++;
      continue;
    }
    if (ch === '"' && field === '') {
      quoted = true;
      any = true;
      i++;
      continue;
    }
    if (ch === ',') {
      row.push(field);
      field = '';
      any = true;
      i++;
      continue;
    }
    if (ch === '\r' || ch === '\n') {
      endRow();
      i += ch === '\r' && text[i + 1] === '\n' ? 2 : 1;
      continue;
    }
    field += ch;
    any = true;
    i++;
  }
  if (field !== '' || row.length || any) endRow();
  return rows;
}

type Spec = {
  name: string;
  type: 'numeric' | 'boolean' | 'categorical' | 'text';
  nullable?: boolean;
  values?: string[];
  min?: number;
  max?: number;
};
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function oracleCell(spec: Spec, cell: string): { value: number | string; bad: boolean } {
  if (spec.type === 'text') return { value: cell, bad: cell === '' && !spec.nullable };
  if (spec.type === 'categorical') {
    if (cell === '') return { value: -1, bad: !spec.nullable };
    const code = spec.values!.indexOf(cell);
    return { value: code, bad: code < 0 };
  }
  if (cell === '') return { value: NaN, bad: !spec.nullable };
  if (!NUMBER.test(cell)) return { value: NaN, bad: true };
  const v = Number(cell);
  if (!Number.isFinite(v)) return { value: NaN, bad: true }; // 1e400: beyond a double's range
  if (spec.type === 'boolean') return v === 0 || v === 1 ? { value: v, bad: false } : { value: NaN, bad: true };
  return { value: v, bad: v < (spec.min ?? -Infinity) || v > (spec.max ?? Infinity) };
}

function randomCsv(seed: number, rows: number): { text: string; specs: Spec[] } {
  let s = seed >>> 0;
  const rnd = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const specs: Spec[] = [
    { name: 'id', type: 'text' },
    { name: 'x', type: 'numeric', min: -100, max: 100, nullable: true },
    { name: 'n', type: 'numeric' },
    { name: 'f', type: 'boolean', nullable: rnd() < 0.5 },
    { name: 'k', type: 'categorical', values: ['a', 'bb', 'c,d', 'say "hi"', 'é'], nullable: true },
    { name: 'm', type: 'categorical', values: ['1919-1944', '1945-1964', '1965-1982'] },
  ];
  const numbers = [
    '0',
    '-0',
    '1',
    '-1.5',
    '99.99',
    '100',
    '100.5',
    '-101',
    '+7',
    '.5',
    '5.',
    '1e2',
    '-2.5E-3',
    '',
    '',
    'abc',
    '-',
    '.',
    '1.2.3',
    '12345678901234567890',
    '9007199254740993',
    '0.1234567890123456789',
    '1e400',
    ' 5',
    '0x10',
    '00012.50',
  ];
  const cats = ['a', 'bb', '"c,d"', '"say ""hi"""', 'é', '', 'zz', '"a"', 'A', 'b'];
  const ages = ['1919-1944', '1945-1964', '1965-1982', '1983-1995', '', '"1945-1964"'];
  const ids = ['H1', 'H2', '"H,3"', '"H""4"', '', 'H\u00e95', '"multi\nline"', 'plain text'];
  const extra = ['', 'z', '"q,u,o"', '"a\r\nb"', 'x"y'];
  const header = ['extra', ...specs.map((sp) => sp.name)].join(',');
  const lines = [pick([header, `\uFEFF${header}`])];
  for (let r = 0; r < rows; r++) {
    if (rnd() < 0.03) {
      lines.push('');
      continue;
    }
    const cells = [
      pick(extra),
      pick(ids),
      pick(numbers),
      pick(numbers.slice(0, 13)),
      pick(['0', '1', '', '2', 'true']),
      pick(cats),
      pick(ages),
    ];
    lines.push(cells.join(','));
  }
  const eol = pick(['\n', '\r\n']);
  return { text: lines.join(eol) + pick(['', eol]), specs };
}

test(
  'the fast and slow paths give what an independent reading of the rules gives, however the file is ' +
    'chunked and split',
  async () => {
    for (let seed = 1; seed <= 40; seed++) {
      const { text, specs } = randomCsv(seed, 120);
      const oracle = oracleRows(text.replace(/^\uFEFF/, '')).slice(1);
      for (const [chunkRows, pieces] of [
        [65536, 1],
        [7, 13],
        [1, 50],
      ] as const) {
        const reader = await openCsvTables(bytes(text, pieces), specs, { source: 's.csv', chunkRows });
        let r = 0;
        for await (const ch of reader.chunks) {
          for (let i = 0; i < ch.table.rows; i++, r++) {
            const cells = oracle[r]!;
            let anyBad = false;
            specs.forEach((spec, k) => {
              const want = oracleCell(spec, cells[k + 1]!);
              anyBad ||= want.bad;
              const col = ch.table.columns.get(spec.name)!;
              const got =
                col.kind === 'numeric' ? col.values[i] : col.kind === 'categorical' ? col.codes[i] : col.values[i];
              assert.ok(
                Object.is(got, want.value) || (spec.type === 'boolean' && want.bad && Number.isNaN(got as number)),
                `seed ${seed} chunks ${chunkRows}/${pieces} row ${r + 1} ${spec.name}: got ${String(got)}, want ` +
                  `${String(want.value)} from ${JSON.stringify(cells[k + 1])}`,
              );
            });
            assert.equal(ch.bad[i], anyBad ? 1 : 0, `seed ${seed} row ${r + 1} bad flag (${JSON.stringify(cells)})`);
            assert.equal(ch.issues.filter((x) => x.row === ch.firstRow + i).length > 0, anyBad);
          }
        }
        assert.equal(r, oracle.length, `seed ${seed}: every row read`);
      }
    }
  },
);

test(
  'one header rule for every reader: BOM stripped, quoted names (with commas) unquoted, CRLF and ' +
    'CR-only line ends',
  async () => {
    const cases: [string, string[]][] = [
      ['\uFEFFa,b\r\n1,2\r\n', ['a', 'b']],
      ['"a","b,c"\n1,2\n', ['a', 'b,c']],
      ['" a ",b\r1,2\r3,4\r', ['a', 'b']],
    ];
    for (const [text, want] of cases) {
      for (const pieces of [1, 3, text.length]) {
        const csv = await openCsv(bytes(text, pieces), { source: 'h.csv' });
        assert.deepEqual(csv.header, want, JSON.stringify(text));
        let rows = 0;
        for await (const ch of csv.chunks) rows += ch.rows;
        assert.equal(rows, text.includes('3,4') ? 2 : 1, JSON.stringify(text));
      }
    }
    await assert.rejects(
      openCsv(bytes('"a,b\n1,2\n'), { source: 'q.csv' }),
      /q\.csv: row 0: unterminated quoted field in the header/,
    );
    await assert.rejects(openCsv(bytes('a,,b\n'), { source: 'q.csv' }), /q\.csv: header has an empty column name/);
    await assert.rejects(openCsv(bytes('\uFEFF\n'), { source: 'q.csv' }), /q\.csv: empty file or missing header row/);
  },
);

test('the header is read without reading the rest of the file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mltk-csv-'));
  const path = join(dir, 'big.csv');
  // The header, then a row that is not valid CSV: reading past the header would fail.
  await writeFile(
    path,
    Buffer.concat([Buffer.from('x,y\n'), Buffer.from('"unterminated'), Buffer.alloc(8 << 20, 0x61)]),
  );
  const stream = createReadStream(path, { highWaterMark: 1 << 16 });
  assert.deepEqual((await openCsvBlocks(stream, { source: path })).header, ['x', 'y']);
  assert.ok(stream.bytesRead <= 1 << 16, `read ${stream.bytesRead} bytes`);
  stream.destroy();
  await rm(dir, { recursive: true });
});

test('an unterminated quote at the end of the file names its row', async () => {
  await assert.rejects(allRows('a,b\n1,2\n3,"x\n', 1), /t\.csv: row 2: unterminated quoted field/);
});

test(
  'blocks assembled in reused shared buffers read the same rows, a buffer reused as soon as its block ' +
    'is given back',
  async () => {
    const { text } = randomCsv(7, 400);
    const plain = await openCsv(bytes(text, 1), { source: 'p.csv', chunkRows: 9 });
    const want: string[][] = [];
    for await (const ch of plain.chunks)
      for (let r = 0; r < ch.rows; r++)
        want.push(Array.from({ length: ch.cols }, (_, c) => fieldText(ch, r * ch.cols + c)));
    for (const pieces of [1, 7, 300]) {
      const buffers = new BlockBuffers();
      const { header, blocks } = await openCsvBlocks(bytes(text, pieces), { source: 'p.csv', chunkRows: 9, buffers });
      const got: string[][] = [];
      let previous: Buffer | undefined;
      for await (const block of blocks) {
        assert.ok(block.buffer instanceof SharedArrayBuffer, 'a worker can read the block in place');
        // Give the previous block back only now: its buffer may be reused for the next one while this one is read.
        if (previous) buffers.give(previous);
        const ch = tokenizeBlock(block, 0, block.length, header.length, 1, 'p.csv', 9);
        for (let r = 0; r < ch.rows; r++)
          got.push(Array.from({ length: ch.cols }, (_, c) => fieldText(ch, r * ch.cols + c)));
        previous = block;
      }
      assert.deepEqual(got, want, `split into ${pieces}`);
    }
  },
);
