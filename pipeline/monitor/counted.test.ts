import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { tempStore, synthCsv, type TempStore } from '../predict/testdata.ts';
import { openLossEstimator } from './estimate.ts';
import { runMonitor, type MonitorResult } from './run.ts';
import { registerMonitoredModel, toJsonLines, withRefusedRows } from './testmodel.ts';

const stores: TempStore[] = [];
after(async () => {
  for (const s of stores) await s.cleanup();
});

/** Small chunks: a 3,000-row file is a dozen blocks, so its rows spread over both workers. */
const CHUNK_ROWS = 250;

/**
 * Synthetic rows carrying a prediction column, with what a batch holds besides plain rows: values out of the
 * signature's range, unlisted categories (more than the report names, first seen in later and later blocks),
 * missing cells and predictions, an empty id; `quirks` adds blank lines and a quoted category with "" escapes.
 */
async function carried(quirks: boolean): Promise<string> {
  const { csv } = withRefusedRows(await synthCsv(3000, 21));
  const lines = csv.trimEnd().split('\n');
  // A first row with every cell: a JSON-lines file's first record stands for its header.
  const complete = lines.findIndex((l, i) => i > 0 && !l.split(',').includes(''));
  [lines[1], lines[complete]] = [lines[complete]!, lines[1]!];
  const header = lines[0]!.split(',');
  const type = header.indexOf('property_type'),
    area = header.indexOf('total_floor_area');
  const out = lines.map((line, i) => {
    if (i === 0) return `${line},predicted_sap_change`;
    const f = line.split(',');
    // 30 unlisted names, the later ones first seen earlier in the file.
    if (i % 83 === 0) f[type] = `Unlisted ${29 - ((i / 83) % 30)}`;
    if (i % 97 === 0) f[area] = '';
    if (quirks && i === 1234) f[type] = '"Castle ""keep"""';
    const prediction = i % 89 === 0 ? '' : String(((i * 7919) % 2000) / 100 - 10);
    return `${f.join(',')},${prediction}`;
  });
  if (quirks) out.splice(700, 0, '', '');
  return `${out.join('\n')}\n`;
}

async function monitored(
  store: TempStore['store'],
  body: string,
  opts: { workers: number; format?: 'csv' | 'jsonl'; workersMinBytes?: number },
): Promise<MonitorResult> {
  return runMonitor({
    store,
    model: 'sap_change@prod',
    input: Readable.from([Buffer.from(body)]),
    source: 'batch',
    format: opts.format,
    openEstimator: (mv) => openLossEstimator(store, mv),
    chunkRows: CHUNK_ROWS,
    workers: opts.workers,
    workersMinBytes: 'workersMinBytes' in opts ? opts.workersMinBytes : 0,
  });
}

const strip = (r: MonitorResult) => ({ ...r.report, generated_at: '' });

test(
  'counting on worker threads gives the one-thread report exactly: out-of-range and unlisted values, missing ' +
    'cells, blank lines, quoted cells, the estimate; a JSON-lines twin read on one thread agrees',
  async () => {
    const s = await tempStore('mltk-mon-counted-');
    stores.push(s);
    const { fx } = await registerMonitoredModel(s.store, 'prod', { quality: true });
    const body = await carried(true);
    const one = await monitored(s.store, body, { workers: 1 });
    const two = await monitored(s.store, body, { workers: 2 });
    assert.equal(one.workers, 1);
    assert.equal(two.workers, 2);
    // Under the default size a file is not worth starting workers for.
    const small = await monitored(s.store, body, { workers: 2, workersMinBytes: undefined });
    assert.equal(small.workers, 1);
    assert.deepEqual(strip(small), strip(one));
    assert.deepEqual(strip(two), strip(one));
    const type = one.report.features.find((f) => f.name === 'property_type')!;
    assert.equal(type.unseen_categories!.length, 20);
    // Named in the order first seen: withRefusedRows' castle in row 10, then every 83rd row's.
    assert.deepEqual(type.unseen_categories!.slice(0, 3), ['Castle', 'Unlisted 28', 'Unlisted 27']);
    assert.ok(one.report.estimated && one.report.estimated.rows > 2900, 'the loss estimator estimated the rows');

    // The same rows as JSON lines (no blank lines, no quoting: the same blocks as records).
    const plain = await carried(false);
    const jsonl = await monitored(s.store, toJsonLines(plain, fx.config.features), { workers: 2, format: 'jsonl' });
    const csv = await monitored(s.store, plain, { workers: 2 });
    assert.equal(jsonl.workers, 1);
    assert.equal(csv.workers, 2);
    assert.deepEqual(strip(jsonl), strip(csv));
  },
);

test('a file without its predictions and no model to score it is refused, whatever the workers', async () => {
  const s = await tempStore('mltk-mon-counted-');
  stores.push(s);
  await registerMonitoredModel(s.store);
  const body = (await carried(false)).replace(/,[^,\n]*$/gm, '');
  await assert.rejects(monitored(s.store, body, { workers: 2 }), /^InvalidInputError: batch: no prediction column/);
});

test('a bad row in a later block is refused on worker threads as on one, with the file row numbers', async () => {
  const s = await tempStore('mltk-mon-counted-');
  stores.push(s);
  await registerMonitoredModel(s.store, 'prod', { quality: true });
  const lines = (await carried(true)).trimEnd().split('\n');
  const cases = {
    'a bad number': (l: string[]) => {
      const f = l[2100]!.split(',');
      f[5] = 'lots';
      l[2100] = f.join(',');
    },
    'a wrong field count': (l: string[]) => {
      l[1900] = `${l[1900]},extra`;
    },
    'an unterminated quote': (l: string[]) => {
      l.push(`${l.at(-1)!.split(',').slice(0, -1).join(',')},"9`);
    },
  };
  for (const [what, spoil] of Object.entries(cases)) {
    const copy = [...lines];
    spoil(copy);
    const body = `${copy.join('\n')}\n`;
    const refusal = async (workers: number) => {
      const e = await monitored(s.store, body, { workers }).then(
        () => assert.fail(`${what}: accepted`),
        (x: unknown) => x as { message: string; details: unknown },
      );
      return { message: e.message, details: e.details };
    };
    const one = await refusal(1);
    assert.match(one.message, /^batch: .*row \d{4}\b/, `${what}: ${one.message}`);
    assert.deepEqual(await refusal(2), one, what);
  }
});
