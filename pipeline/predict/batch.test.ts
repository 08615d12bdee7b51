import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { InvalidInputError } from '../errors/index.ts';
import {
  batchFormat,
  errorsPathFor,
  fileSinks,
  loadModel,
  outputKeys,
  scoreBatch,
  scoreFile,
  scoreObject,
  type LoadedModel,
} from './index.ts';
import { instanceOf, storeWithModel, trainFixture, type Fixture } from './testdata.ts';

let fx: Fixture;
let env: Awaited<ReturnType<typeof storeWithModel>>;
let model: LoadedModel;

before(async () => {
  fx = await trainFixture();
  env = await storeWithModel(fx);
  model = await loadModel(env.store, 'sap_change@prod');
});

/** The fixture CSV with a few cells broken: rows 3 (range), 7 (category + bool), 10 (missing), 499 (not a number). */
function mixedCsv(): { csv: Buffer; badRows: number[] } {
  const lines = fx.csv.toString('utf8').trimEnd().split('\n');
  const header = lines[0]!.split(',');
  const col = (name: string) => header.indexOf(name);
  const breakCell = (row: number, name: string, value: string) => {
    const cells = lines[row]!.split(',');
    cells[col(name)] = value;
    lines[row] = cells.join(',');
  };
  breakCell(3, 'total_floor_area', '5000');
  breakCell(7, 'property_type', 'Castle');
  breakCell(7, 'solar_pv', 'yes');
  breakCell(10, 'current_sap', '');
  breakCell(499, 'current_co2', 'n/a');
  return { csv: Buffer.from(`${lines.join('\n')}\n`), badRows: [3, 7, 10, 499] };
}

/**
 * The fixture CSV with rows of the wrong width: row 2 with 3 extra fields (29), row 250 one short, row 499 empty-ish.
 */
function raggedCsv(): { csv: Buffer; ragged: Map<number, number> } {
  const lines = fx.csv.toString('utf8').trimEnd().split('\n');
  const cols = lines[0]!.split(',').length;
  lines[2] = `${lines[2]},x,y,z`;
  lines[250] = lines[250]!.split(',').slice(0, -1).join(',');
  lines[499] = 'H499,1';
  return {
    csv: Buffer.from(`${lines.join('\n')}\n`),
    ragged: new Map([
      [2, cols + 3],
      [250, cols - 1],
      [499, 2],
    ]),
  };
}

test(
  'rows with the wrong number of fields go to the errors file with their row number: scored + errors = ' + 'rows',
  async () => {
    const { csv, ragged } = raggedCsv();
    const dir = await mkdtemp(join(tmpdir(), 'mltk-ragged-'));
    try {
      await writeFile(join(dir, 'in.csv'), csv);
      const res = await scoreFile(
        model,
        { input: join(dir, 'in.csv'), output: join(dir, 'out.csv') },
        { chunkRows: 100 },
      );
      assert.deepEqual(
        { rows: res.rows, scored: res.scored, errors: res.errors },
        { rows: 500, scored: 497, errors: 3 },
      );
      const preds = parseCsv(String(await readFile(join(dir, 'out.csv'))));
      assert.equal(preds.length - 1, 497);
      const ids = (fx.table.columns.get('home_id') as { values: string[] }).values;
      assert.deepEqual(
        preds.slice(1).map((p) => p[0]),
        ids.filter((_, i) => !ragged.has(i + 1)),
      );
      const cols = fx.csv.toString().split('\n')[0]!.split(',').length;
      assert.equal(
        String(await readFile(join(dir, 'out.errors.csv'))),
        `row,field,reason\n${[...ragged]
          .map(([row, found]) => `${row},(row),"expected ${cols} fields as in the header, found ${found}"\n`)
          .join('')}`,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
);

function parseCsv(text: string): string[][] {
  return text
    .trimEnd()
    .split('\n')
    .map((l) => l.split(','));
}

test(
  'a file with good and bad rows: every row lands in exactly one output, errors list row, field and ' + 'reason',
  async () => {
    const { csv, badRows } = mixedCsv();
    const out: Record<string, Buffer[]> = { predictions: [], errors: [] };
    const collect = (k: string) => async (body: AsyncIterable<Buffer>) => {
      for await (const b of body) out[k]!.push(b);
    };
    const res = await scoreBatch(
      model,
      Readable.from([csv]),
      { format: 'csv', source: 'mixed.csv', chunkRows: 64 },
      { predictions: collect('predictions'), errors: collect('errors') },
    );
    assert.equal(res.rows, 500);
    assert.equal(res.errors, badRows.length);
    assert.equal(res.scored, 500 - badRows.length);
    assert.equal(res.issues, 5);
    assert.equal(res.input.bytes, csv.length);

    const preds = parseCsv(Buffer.concat(out.predictions!).toString());
    assert.deepEqual(preds[0], ['home_id', 'predicted_sap_change', 'model_name', 'model_version']);
    assert.equal(preds.length - 1, res.scored);
    const errors = parseCsv(Buffer.concat(out.errors!).toString());
    assert.deepEqual(errors[0], ['row', 'field', 'reason']);
    assert.deepEqual([...new Set(errors.slice(1).map((e) => Number(e[0])))], badRows);
    const text = Buffer.concat(out.errors!).toString();
    assert.match(text, /^3,total_floor_area,value 5000 out of range \(expected between 10 and 1000\)$/m);
    assert.match(text, /^7,property_type,"?value ""Castle"" is not one of/m);
    assert.match(text, /^7,solar_pv,/m);
    assert.match(text, /^10,current_sap,missing value/m);
    assert.match(text, /^499,current_co2,"?expected a number, got ""n\/a"""?$/m);

    // Ids in order, none lost or doubled; predictions match the trainer's on the good rows.
    const ids = (fx.table.columns.get('home_id') as { values: string[] }).values;
    const goodIds = ids.filter((_, i) => !badRows.includes(i + 1));
    assert.deepEqual(
      preds.slice(1).map((p) => p[0]),
      goodIds,
    );
    const expected = await fx.trained.predict(fx.table);
    let k = 1;
    for (let i = 0; i < ids.length; i++) {
      if (badRows.includes(i + 1)) continue;
      const row = preds[k++]!;
      assert.ok(
        Math.abs(Number(row[1]) - expected[i]!) < 1e-4 * Math.max(1, Math.abs(expected[i]!)),
        `row ${i + 1}: ${row[1]} vs ${expected[i]}`,
      );
      assert.equal(row[2], 'sap_change');
      assert.equal(row[3], '1');
    }
  },
);

test('JSON lines: same validation, extra fields ignored, a line that is not JSON is a bad row', async () => {
  const lines = Array.from({ length: 30 }, (_, i) =>
    JSON.stringify({ home_id: `H${i}`, ...instanceOf(fx.config, fx.table, i), note: 'extra' }),
  );
  lines[4] = '{"home_id": "H4", oops';
  lines[9] = JSON.stringify({ ...instanceOf(fx.config, fx.table, 9), home_id: 'H9', glazing: 'quadruple' });
  lines[12] = JSON.stringify(instanceOf(fx.config, fx.table, 12)); // no id
  const input = Buffer.from(`${lines.slice(0, 15).join('\n')}\n\n${lines.slice(15).join('\r\n')}`);
  const out: Buffer[] = [];
  const errs: Buffer[] = [];
  const res = await scoreBatch(
    model,
    Readable.from([input.subarray(0, 1000), input.subarray(1000)]),
    { format: 'jsonl', source: 'x.jsonl', chunkRows: 8 },
    {
      predictions: async (b) => {
        for await (const c of b) out.push(c);
      },
      errors: async (b) => {
        for await (const c of b) errs.push(c);
      },
    },
  );
  assert.deepEqual({ rows: res.rows, scored: res.scored, errors: res.errors }, { rows: 30, scored: 27, errors: 3 });
  const errors = parseCsv(Buffer.concat(errs).toString()).slice(1);
  assert.deepEqual(
    errors.map((e) => [e[0], e[1]]),
    [
      ['5', '(record)'],
      ['10', 'glazing'],
      ['13', 'home_id'],
    ],
  );
  const preds = parseCsv(Buffer.concat(out).toString()).slice(1);
  assert.equal(preds.length, 27);
  assert.equal(preds[0]![0], 'H0');
  assert.ok(!preds.some((p) => ['H4', 'H9'].includes(p[0]!)));
});

test('output keys are a pure function of the input key; only incoming/ CSV and JSON-lines objects are scored', () => {
  assert.deepEqual(outputKeys('incoming/2024/06/batch-1.csv'), {
    format: 'csv',
    predictions: 'predictions/2024/06/batch-1.csv/predictions.csv',
    errors: 'predictions/2024/06/batch-1.csv/errors.csv',
    manifest: 'predictions/2024/06/batch-1.csv/manifest.json',
  });
  assert.equal(outputKeys('incoming/a.ndjson').predictions, 'predictions/a.ndjson/predictions.csv');
  assert.throws(() => outputKeys('other/a.csv'), InvalidInputError);
  assert.throws(() => outputKeys('incoming/a.parquet'), /neither \.csv nor \.jsonl/);
  assert.equal(batchFormat('X.JSONL'), 'jsonl');
  assert.equal(errorsPathFor('/tmp/out.csv'), '/tmp/out.errors.csv');
});

test(
  'inputs that differ only by extension or case never share an output: each keeps its own objects and ' + 'lineage',
  async () => {
    const csvRows = (n: number) =>
      Buffer.from(
        fx.csv
          .toString()
          .split('\n')
          .slice(0, n + 1)
          .join('\n') + '\n',
      );
    const jsonRows = (n: number) =>
      Array.from({ length: n }, (_, i) =>
        JSON.stringify({ home_id: `J${i}`, ...instanceOf(fx.config, fx.table, i) }),
      ).join('\n');
    const inputs: [string, Buffer | string, number][] = [
      ['incoming/u/y.csv', csvRows(11), 11],
      ['incoming/u/y.jsonl', jsonRows(12), 12],
      ['incoming/u/y.ndjson', jsonRows(13), 13],
      ['incoming/u/x.csv', csvRows(14), 14],
      ['incoming/u/x.CSV', csvRows(15), 15],
      ['incoming/u/y.errors.csv', csvRows(16), 16],
    ];
    for (const [key, body] of inputs) {
      await env.store.put(key, body);
      await scoreObject(model, { store: env.store, key }, env.store);
    }
    const keys = inputs.flatMap(([key]) => {
      const k = outputKeys(key);
      return [k.predictions, k.errors, k.manifest];
    });
    assert.equal(new Set(keys).size, inputs.length * 3, "every output key is its input's own");
    assert.deepEqual((await env.store.list('predictions/u/')).sort(), [...keys].sort());
    for (const [key, , rows] of inputs) {
      const manifest = JSON.parse(String(await env.store.get(outputKeys(key).manifest)));
      assert.deepEqual([manifest.input_key, manifest.rows], [key, rows]);
      assert.equal(
        String(await env.store.get(outputKeys(key).predictions))
          .trimEnd()
          .split('\n').length - 1,
        rows,
        key,
      );
    }
  },
);

test('scoring the same object twice writes the same keys with the same bytes, no duplicates', async () => {
  const { csv } = mixedCsv();
  await env.store.put('incoming/day1/homes.csv', csv);
  const first = await scoreObject(model, { store: env.store, key: 'incoming/day1/homes.csv' }, env.store, {
    chunkRows: 100,
  });
  const listed1 = await env.store.list('predictions/day1/');
  const bytes1 = await Promise.all(listed1.filter((k) => !k.endsWith('.json')).map((k) => env.store.get(k)));
  const second = await scoreObject(model, { store: env.store, key: 'incoming/day1/homes.csv' }, env.store, {
    chunkRows: 100,
  });
  const listed2 = await env.store.list('predictions/day1/');
  const folder = 'predictions/day1/homes.csv/';
  assert.deepEqual(listed1, [`${folder}errors.csv`, `${folder}manifest.json`, `${folder}predictions.csv`]);
  assert.deepEqual(listed2, listed1);
  const bytes2 = await Promise.all(listed2.filter((k) => !k.endsWith('.json')).map((k) => env.store.get(k)));
  assert.deepEqual(bytes2, bytes1);
  assert.equal(first.status, 'scored');
  assert.equal(second.status, 'scored');
  const manifest = JSON.parse(String(await env.store.get(`${folder}manifest.json`)));
  assert.equal(manifest.input.sha256, (await import('../store/index.ts')).sha256Hex(csv));
  assert.deepEqual(manifest.model, { name: 'sap_change', version: 1, sha256: env.mv.artifact.sha256 });
  assert.equal(manifest.rows, 500);
  assert.equal(manifest.scored + manifest.errors, 500);
});

test('a file refused whole: errors say why, predictions hold the header only, nothing is deleted', async () => {
  // Scored once, then replaced by a file that cannot be read: the earlier predictions must not outlive the new
  // manifest.
  await env.store.put('incoming/broken.csv', fx.csv);
  const first = await scoreObject(model, { store: env.store, key: 'incoming/broken.csv' }, env.store);
  assert.equal(first.status, 'scored');
  await env.store.put('incoming/broken.csv', 'home_id,total_floor_area\nH1,50\n');
  const res = await scoreObject(model, { store: env.store, key: 'incoming/broken.csv' }, env.store);
  assert.equal(res.status, 'rejected');
  assert.match(res.status === 'rejected' ? res.reason : '', /missing columns "property_type"/);
  const header = 'home_id,predicted_sap_change,model_name,model_version\n';
  assert.equal(String(await env.store.get('predictions/broken.csv/predictions.csv')), header);
  const errors = String(await env.store.get('predictions/broken.csv/errors.csv'));
  assert.match(errors, /^row,field,reason\n0,property_type,missing column\n/);
  const manifest = JSON.parse(String(await env.store.get('predictions/broken.csv/manifest.json')));
  assert.equal(manifest.status, 'rejected');
  const { format: _, ...outputs } = outputKeys('incoming/broken.csv');
  assert.deepEqual(manifest.outputs, outputs);
});

test(
  'hostile inputs leave bounded, one-line, escaped reasons in the manifest and errors objects: gzip bytes, a 50 ' +
    'MB line, a header of junk, a cell with a newline',
  async () => {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: what a reason must never hold
    const raw = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\ufffd]/;
    const lines = fx.csv.toString('utf8').trimEnd().split('\n');
    const header = lines[0]!.split(',');
    const cells = lines[1]!.split(',');
    cells[header.indexOf('glazing')] = '"dou\nble\u001b[2J"';
    cells[header.indexOf('total_floor_area')] = '"7\n0"';
    const inputs: Record<string, Buffer> = {
      'incoming/hostile/gzip.csv': gzipSync(fx.csv),
      'incoming/hostile/line.csv': Buffer.alloc(50_000_000, 'x'),
      'incoming/hostile/junk-header.csv': Buffer.from(`${'\u202e\u0007,'.repeat(200_000)}\n1\n`),
      'incoming/hostile/newline.csv': Buffer.from(`${[lines[0], cells.join(','), ...lines.slice(2)].join('\n')}\n`),
    };
    const reasons: Record<string, string> = {};
    for (const [key, body] of Object.entries(inputs)) {
      await env.store.put(key, body);
      const res = await scoreObject(model, { store: env.store, key }, env.store);
      const { manifest, errors } = outputKeys(key);
      const stored = String(await env.store.get(manifest));
      const errorLines = String(await env.store.get(errors))
        .trimEnd()
        .split('\n');
      assert.ok(stored.length < 8_000, `${key}: a manifest of ${stored.length} bytes`);
      assert.doesNotMatch(stored, raw, key);
      for (const line of errorLines) {
        assert.ok(line.length < 2_000, `${key}: an errors line of ${line.length} characters`);
        assert.doesNotMatch(line, raw, key);
      }
      if (res.status === 'rejected') reasons[key] = res.reason;
      else {
        // One record per line: the cell's newline is escaped in its reason, not a line break of errors.csv.
        assert.deepEqual([res.errors, errorLines.length], [1, 3], errorLines.join('\n'));
        assert.match(errorLines[2]!, /^1,glazing,"value ""dou\\nble\\u001b\[2J"" is not one of /);
        assert.equal(errorLines[1], '1,total_floor_area,"expected a number, got ""7\\n0"""');
      }
    }
    assert.match(
      reasons['incoming/hostile/gzip.csv']!,
      /gzip.csv: not a UTF-8 text file \(it starts with the gzip signature/,
    );
    assert.match(reasons['incoming/hostile/line.csv']!, /line.csv: no row end in the first 1048576 bytes/);
    assert.match(
      reasons['incoming/hostile/junk-header.csv']!,
      /junk-header.csv: header names column "\\u202e\\u0007" twice$/,
    );
    assert.equal(Object.keys(reasons).length, 3);
  },
);

test('a failing output leaves no partial files behind (written via temp + rename)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mltk-batch-'));
  try {
    const out = join(dir, 'out.csv');
    const sinks = fileSinks({ predictions: out, errors: errorsPathFor(out) });
    const broken = (async function* () {
      yield fx.csv.subarray(0, fx.csv.length - 200);
      yield Buffer.from('\n"unterminated');
    })();
    await assert.rejects(
      scoreBatch(model, broken, { format: 'csv', source: 'in.csv', chunkRows: 50 }, sinks),
      InvalidInputError,
    );
    assert.deepEqual(await readdir(dir), []);
    await writeFile(join(dir, 'in.csv'), fx.csv);
    const ok = await scoreBatch(
      model,
      Readable.from([await readFile(join(dir, 'in.csv'))]),
      { format: 'csv', source: 'in.csv' },
      sinks,
    );
    assert.equal(ok.scored, 500);
    assert.deepEqual((await readdir(dir)).sort(), ['in.csv', 'out.csv', 'out.errors.csv']);
    assert.equal(String(await readFile(errorsPathFor(out))), 'row,field,reason\n');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('this thread, one worker or three: the outputs are byte-identical (blocks written in input order)', async () => {
  // Bad rows in several blocks of 128 rows: their row numbers must count every block before them.
  const lines = mixedCsv().csv.toString('utf8').trimEnd().split('\n');
  for (const row of [150, 300, 451]) lines[row] = lines[row]!.replace(/,(House|Bungalow|Flat|Maisonette),/, ',Castle,');
  const csv = Buffer.from(`${lines.join('\n')}\n`);
  const run = async (workers: number) => {
    const parts: Buffer[] = [];
    const errors: Buffer[] = [];
    await scoreBatch(
      model,
      Readable.from([csv]),
      { format: 'csv', source: 'w.csv', chunkRows: 128, workers },
      {
        predictions: async (b) => {
          for await (const c of b) parts.push(c);
        },
        errors: async (b) => {
          for await (const c of b) errors.push(c);
        },
      },
    );
    return { predictions: Buffer.concat(parts).toString(), errors: Buffer.concat(errors).toString() };
  };
  const one = await run(1);
  for (const row of [150, 300, 451]) assert.match(one.errors, new RegExp(`^${row},property_type,`, 'm'));
  assert.deepEqual(await run(3), one);
  assert.deepEqual(await run(0), one);
});
