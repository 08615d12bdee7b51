// Hostile input through the real `mltk` process: whatever a file holds (a 50 MB line without a row
// end, gzip bytes, a cell with a newline and a terminal escape), every command answers one bounded,
// escaped line on stderr and one small JSON document on stdout.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { runMltk } from '../testing/cli.ts';

// biome-ignore lint/suspicious/noControlCharactersInRegex: what output meant for a terminal or a log must never hold
const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufffd]/;

let cwd: string;
const mltk = (...args: string[]) => runMltk(args, { cwd, env: { ...process.env, MLTK_STORE: join(cwd, 'store') } });

before(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'mltk-bounded-'));
  assert.equal((await mltk('data', 'synth', '--rows', '800', '--seed', '3', '--output', 'd.csv')).code, 0);
  const trained = await mltk('train', '--config', resolve('configs/sap_change.json'), '--data-file', 'd.csv');
  assert.equal(trained.code, 0, trained.stderr);
  const csv = await readFile(join(cwd, 'd.csv'), 'utf8');
  const lines = csv.trimEnd().split('\n');
  const header = lines[0]!.split(',');
  const cells = lines[1]!.split(',');
  cells[header.indexOf('glazing')] = '"dou\nble\u001b[2J\u202e"';
  await writeFile(join(cwd, 'line.csv'), Buffer.alloc(50_000_000, 'x'));
  await writeFile(join(cwd, 'gzip.csv'), gzipSync(csv));
  await writeFile(join(cwd, 'newline.csv'), `${[lines[0], cells.join(','), ...lines.slice(2)].join('\n')}\n`);
});

const commands: Record<string, (file: string) => string[]> = {
  predict: (f) => ['predict', '--model', 'sap_change@1', '--input', f, '--output', `${f}.out.csv`],
  monitor: (f) => ['monitor', '--model', 'sap_change@1', '--input', f],
  'data add': (f) => ['data', 'add', f, '--dataset', 'hostile'],
  train: (f) => ['train', '--config', resolve('configs/sap_change.json'), '--data-file', f],
};

const expected: Record<string, RegExp> = {
  'line.csv': /^line\.csv: no row end in the first 1048576 bytes: not a CSV file with a header row$/,
  'gzip.csv': /^gzip\.csv: not a UTF-8 text file \(it starts with the gzip signature 1f 8b: decompress it first\)$/,
  'newline.csv': /row 1, column "glazing": value "dou\\nble\\u001b\[2J\\u202e" is not one of/,
};

for (const file of Object.keys(expected)) {
  test(`${file}: every command answers one bounded, escaped line and a small JSON document`, async () => {
    for (const [name, args] of Object.entries(commands)) {
      const r = await mltk(...args(file), '--json');
      const what = `mltk ${name} ${file}`;
      assert.doesNotMatch(r.stderr, RAW, what);
      const doc = JSON.parse(r.stdout);
      if (file === 'newline.csv' && name !== 'train') {
        // A bad cell is a bad row, not a failed file; monitor and data add report the categories they saw as data.
        assert.equal(r.code, 0, r.stderr);
        if (name !== 'predict') continue;
        const errors = (await readFile(join(cwd, 'newline.csv.out.errors.csv'), 'utf8')).trimEnd().split('\n');
        assert.equal(errors.length, 2, errors.join('\n'));
        assert.match(errors[1]!, /^1,glazing,"value ""dou\\nble\\u001b\[2J\\u202e"" is not one of /);
        continue;
      }
      assert.doesNotMatch(r.stdout, RAW, what);
      assert.ok(
        r.stdout.length < 16_000 && r.stderr.length < 8_000,
        `${what}: ${r.stdout.length} + ${r.stderr.length}`,
      );
      assert.equal(r.code, 4, `${what}: ${r.stderr}`);
      const reasons = r.stderr.split('\n').filter((l) => l.startsWith('mltk: '));
      assert.equal(reasons.length, 1, `${what}: ${r.stderr}`);
      assert.equal(reasons[0], `mltk: ${doc.error.message}`, what);
      assert.match(doc.error.message, expected[file]!, what);
    }
  });
}

test('JSON lines: a gzip .jsonl is refused whole as a gzip CSV is; a 50 MB line is one bad record', async () => {
  const [head, ...rows] = (await readFile(join(cwd, 'd.csv'), 'utf8')).trimEnd().split('\n');
  const names = head!.split(',');
  const value = (cell: string) => (cell === '' ? null : Number.isNaN(Number(cell)) ? cell : Number(cell));
  const records = rows.slice(0, 20).map((r) => {
    const cells = r.split(',');
    return `${JSON.stringify(Object.fromEntries(names.map((n, i) => [n, value(cells[i]!)])))}\n`;
  });
  await writeFile(join(cwd, 'gzip.jsonl'), gzipSync(records.join('')));
  await writeFile(join(cwd, 'line.jsonl'), `${records.join('')}${'x'.repeat(50_000_000)}\n${records.join('')}`);
  for (const name of ['predict', 'monitor']) {
    const r = await mltk(...commands[name]!('gzip.jsonl'), '--json');
    assert.equal(r.code, 4, `${name}: ${r.stderr}`);
    assert.equal(
      JSON.parse(r.stdout).error.message,
      'gzip.jsonl: not a UTF-8 text file (it starts with the gzip signature 1f 8b: decompress it first)',
    );
  }
  const scored = await mltk(...commands.predict!('line.jsonl'), '--json');
  assert.equal(scored.code, 0, scored.stderr);
  assert.ok(scored.stdout.length < 16_000 && scored.stderr.length < 8_000);
  assert.deepEqual((({ rows, scored, errors }) => ({ rows, scored, errors }))(JSON.parse(scored.stdout)), {
    rows: 41,
    scored: 40,
    errors: 1,
  });
  assert.equal(
    await readFile(join(cwd, 'line.jsonl.out.errors.csv'), 'utf8'),
    'row,field,reason\n21,(record),line longer than 1048576 bytes: not read as a record\n',
  );
  const monitored = await mltk(...commands.monitor!('line.jsonl'), '--json');
  assert.equal(monitored.code, 4, monitored.stderr);
  assert.ok(monitored.stdout.length < 16_000 && monitored.stderr.length < 8_000);
  assert.match(
    JSON.parse(monitored.stdout).error.message,
    /^line\.jsonl: 1 bad value in rows 1–41: row 21 "\(record\)": line longer than 1048576 bytes: not read as a /,
  );
});
