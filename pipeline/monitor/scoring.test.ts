import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { openCsvTables } from '../data/index.ts';
import { loadModelVersion, scoreFile } from '../predict/index.ts';
import { synthCsv, tempStore } from '../predict/testdata.ts';
import { monitorColumnSpecs } from './run.ts';
import { chunkPredictor, modelScorer } from './scoring.ts';
import { registerMonitoredModel, withRefusedRows } from './testmodel.ts';

const temp = await tempStore('mltk-mon-score-');
after(() => temp.cleanup());

test(
  "predictions for a raw input equal mltk predict's column (float32), and rows batch scoring " + 'refuses are missing',
  async () => {
    const { mv } = await registerMonitoredModel(temp.store);
    const { csv, refused } = withRefusedRows(await synthCsv(3000, 77));
    const input = join(temp.dir, 'in.csv');
    await writeFile(input, csv);
    const model = await loadModelVersion(temp.store, mv);
    const batch = await scoreFile(model, { input, output: join(temp.dir, 'out.csv') });
    model.retire();
    assert.equal(batch.errors, refused);
    const expected = (await readFile(join(temp.dir, 'out.csv'), 'utf8'))
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => Number(l.split(',')[1]));

    const specs = [
      ...monitorColumnSpecs(mv.signature.features),
      { name: mv.signature.id_column, type: 'text' as const, nullable: true },
    ];
    const scorer = await modelScorer(temp.store)(mv);
    const predictor = chunkPredictor(mv.signature, scorer);
    const got: number[] = [];
    try {
      for await (const chunk of (
        await openCsvTables(Readable.from([Buffer.from(csv)]), specs, { source: 'in.csv', chunkRows: 700 })
      ).chunks) {
        got.push(...(await predictor.predict(chunk.table)));
      }
    } finally {
      await scorer.close?.();
    }
    assert.equal(got.length, 3000);
    assert.deepEqual(
      [3, 10, 20].map((line) => Number.isNaN(got[line - 1]!)),
      [true, true, true],
    );
    const present = got.filter((x) => !Number.isNaN(x));
    assert.equal(present.length, expected.length);
    for (const [i, x] of present.entries())
      assert.ok(
        Math.abs(x - expected[i]!) <= 1e-6 * Math.abs(expected[i]!) + 1e-6,
        `row ${i}: ${x} vs mltk predict ${expected[i]}`,
      );
    assert.deepEqual(predictor.counts(), { scored: 3000 - refused, refused });
  },
);
