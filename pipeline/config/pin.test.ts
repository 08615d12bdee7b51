// `--pin`: the config file changes by exactly the pin (a byte diff shows one line), keeps its key
// order and formatting, and a config that cannot take the pin is left untouched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModelConfig, pinDatasetVersion, withDatasetPin } from './index.ts';

const SHA_A = 'a'.repeat(64);
const SHA_B = '0123456789abcdef'.repeat(4);

/** The lines that differ between two texts of the same line count, or the inserted lines. */
function lineDiff(before: string, after: string): { removed: string[]; added: string[] } {
  const a = before.split('\n');
  const b = after.split('\n');
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  return { removed: a.slice(head, a.length - tail), added: b.slice(head, b.length - tail) };
}

test(
  'pinning each shipped config inserts one line after the dataset name; re-pinning changes only that ' + 'line',
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mltk-pin-'));
    for (const model of ['sap_change', 'heat_change', 'carbon_change']) {
      const path = join(dir, `${model}.json`);
      await copyFile(`configs/${model}.json`, path);
      const original = await readFile(path, 'utf8');
      const first = await pinDatasetVersion(path, 'epc_retrofit', SHA_A);
      assert.deepEqual([first.previous, first.changed], [null, true]);
      const pinned = await readFile(path, 'utf8');
      assert.deepEqual(lineDiff(original, pinned), { removed: [], added: [`    "version": "${SHA_A}",`] });
      assert.equal(pinned.indexOf(`"version": "${SHA_A}"`) > pinned.indexOf('"name": "epc_retrofit"'), true);
      assert.equal((await loadModelConfig(path)).dataset.version, SHA_A);

      const second = await pinDatasetVersion(path, 'epc_retrofit', SHA_B);
      assert.deepEqual([second.previous, second.changed], [SHA_A, true]);
      const repinned = await readFile(path, 'utf8');
      assert.deepEqual(lineDiff(pinned, repinned), {
        removed: [`    "version": "${SHA_A}",`],
        added: [`    "version": "${SHA_B}",`],
      });
      assert.equal(repinned.length, pinned.length);
      assert.deepEqual(await pinDatasetVersion(path, 'epc_retrofit', SHA_B), {
        path,
        dataset: 'epc_retrofit',
        version: SHA_B,
        previous: SHA_B,
        changed: false,
      });
      assert.equal(await readFile(path, 'utf8'), repinned);
    }
    assert.deepEqual(
      (await readdir(dir)).filter((f) => f.includes('.tmp-')),
      [],
    );
  },
);

test("the text edit follows the file's own layout, and is not fooled by strings that look like JSON", () => {
  const compact = '{"name":"m","dataset":{"name":"d"},"x":1}';
  assert.equal(
    withDatasetPin(compact, SHA_A, 'c.json'),
    `{"name":"m","dataset":{"name":"d","version":"${SHA_A}"},"x":1}`,
  );
  const tabs =
    '{\n\t"description": "a \\"dataset\\": {\\"version\\": 1} lookalike }",\n\t"dataset": {\n\t\t"synth_rows": ' +
    '5,\n\t\t"name" : "d"\n\t}\n}\n';
  assert.equal(
    withDatasetPin(tabs, SHA_A, 't.json'),
    `{\n\t"description": "a \\"dataset\\": {\\"version\\": 1} lookalike }",\n\t"dataset": {\n\t\t"synth_rows": ` +
      `5,\n\t\t"name" : "d",\n\t\t"version" : "${SHA_A}"\n\t}\n}\n`,
  );
  const nested = `{"dataset": {"name": "d", "version": "${SHA_A}", "meta": {"version": "keep"}}}`;
  assert.equal(
    withDatasetPin(nested, SHA_B, 'n.json'),
    `{"dataset": {"name": "d", "version": "${SHA_B}", "meta": {"version": "keep"}}}`,
  );
  assert.throws(() => withDatasetPin('{"name": "m"}', SHA_A, 'x.json'), /x\.json: has no "dataset" object to pin/);
});

test('a config that cannot take the pin is refused and left byte-identical', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mltk-pin-'));
  const raw = JSON.parse(await readFile('configs/sap_change.json', 'utf8'));
  const cases: [string, string, RegExp][] = [
    [
      'other.json',
      await readFile('configs/sap_change.json', 'utf8'),
      /other\.json: trains on dataset "epc_retrofit", not "homes"; nothing pinned/,
    ],
    [
      'file.json',
      JSON.stringify({ ...raw, dataset: { ...raw.dataset, file: 'x.csv' } }, null, 2),
      /dataset\.file: give either dataset\.file or the pin/,
    ],
    ['broken.json', '{"name": ', /broken\.json: not valid JSON/],
  ];
  for (const [name, text, message] of cases) {
    const path = join(dir, name);
    await writeFile(path, text);
    await assert.rejects(pinDatasetVersion(path, name === 'other.json' ? 'homes' : 'epc_retrofit', SHA_A), message);
    assert.equal(await readFile(path, 'utf8'), text, name);
  }
  await assert.rejects(
    pinDatasetVersion(join(dir, 'missing.json'), 'epc_retrofit', SHA_A),
    /model config ".*missing\.json" does not exist/,
  );
});
