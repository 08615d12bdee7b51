// The estimate is measured, not assumed: a sap_change version trained by the real job on 20,000
// synthetic rows, and two batches drawn from a fresh synthetic pool — one like the training data, one
// with covariate shift that raises the error (larger homes, more single glazing). The estimate of each
// (mltk monitor, no labels) must land within 20% of its realized RMSE (mltk quality, labels) and order
// the two batches as the realized RMSEs do. README "Estimated quality" reports these figures.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModelConfig } from '../../config/index.ts';
import { runTrainJob } from '../../jobs/index.ts';
import { covariateShift, uniqueIds } from '../../monitor/testmodel.ts';
import { synthCsv } from '../../predict/testdata.ts';
import { openStore } from '../../store/index.ts';
import { runMltk } from '../../testing/cli.ts';

/** The shifted batch: sampling weight ∝ (floor area / median)² and × 8 for single glazing. */
export const SHIFT = { areaPower: 2, singleGlazingWeight: 8 };
const BATCH_ROWS = 5000;

let dir: string;
let storePath: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mltk-dle-'));
  storePath = join(dir, 'store');
  const config = await loadModelConfig('configs/sap_change.json');
  await writeFile(join(dir, 'train.csv'), await synthCsv(20_000, 42));
  await runTrainJob({
    store: openStore(storePath),
    config,
    configSource: 'configs/sap_change.json',
    data: { kind: 'file', path: join(dir, 'train.csv') },
    say: () => {},
    progress: () => {},
  });
  const pool = await synthCsv(60_000, 1234);
  await writeFile(join(dir, 'like.csv'), uniqueIds(covariateShift(pool, { rows: BATCH_ROWS, seed: 5 })));
  await writeFile(join(dir, 'shifted.csv'), uniqueIds(covariateShift(pool, { rows: BATCH_ROWS, seed: 5, ...SHIFT })));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function mltk(...args: string[]): Promise<Record<string, any>> {
  const r = await runMltk(['--store', storePath, '--json', ...args]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

/** Scores the batch, estimates its quality without labels, then measures it with all its labels. */
async function estimateAndRealize(
  name: string,
): Promise<{ estimated: Record<string, number>; realized: Record<string, number>; drift: Record<string, any> }> {
  const input = join(dir, `${name}.csv`),
    preds = join(dir, `${name}.preds.csv`),
    labels = join(dir, `${name}.labels.csv`);
  await mltk('predict', '--model', 'sap_change@1', '--input', input, '--output', preds);
  const drift = await mltk('monitor', '--model', 'sap_change@1', '--input', input);
  const lines = (await readFile(input, 'utf8')).trimEnd().split('\n');
  const header = lines[0]!.split(',');
  const y = header.indexOf('sap_change');
  await writeFile(
    labels,
    [
      'home_id,sap_change',
      ...lines.slice(1).map((l) => {
        const c = l.split(',');
        return `${c[0]},${c[y]}`;
      }),
    ].join('\n'),
  );
  const quality = await mltk(
    'quality',
    '--model',
    'sap_change@1',
    '--predictions',
    preds,
    '--labels',
    labels,
    '--input',
    input,
  );
  assert.equal(quality.labels.joined, BATCH_ROWS);
  return { estimated: drift.estimated, realized: quality.realized, drift };
}

test(
  'the estimated RMSE lands within 20% of the realized RMSE on a batch like training and a shifted one, ' +
    'and orders them',
  async () => {
    const like = await estimateAndRealize('like');
    const shifted = await estimateAndRealize('shifted');
    for (const [name, b] of [
      ['like training', like],
      ['shifted', shifted],
    ] as const) {
      const ratio = b.estimated.rmse! / b.realized.rmse!;
      assert.ok(
        Math.abs(ratio - 1) <= 0.2,
        `${name}: estimated RMSE ${b.estimated.rmse} vs realized ${b.realized.rmse} (×${ratio.toFixed(3)})`,
      );
      assert.ok(
        b.estimated.rmse_low! <= b.realized.rmse! && b.realized.rmse! <= b.estimated.rmse_high!,
        `${name}: realized ${b.realized.rmse} outside [${b.estimated.rmse_low}, ${b.estimated.rmse_high}]`,
      );
    }
    assert.ok(shifted.realized.rmse! > like.realized.rmse!, 'the shift raises the realized error');
    assert.ok(
      shifted.estimated.rmse! > like.estimated.rmse!,
      `the estimate orders the batches: ${shifted.estimated.rmse} vs ${like.estimated.rmse}`,
    );
    assert.ok(
      shifted.drift.drifted_features.includes('total_floor_area') && shifted.drift.drifted_features.includes('glazing'),
    );
    if (process.env.MLTK_PRINT_FIGURES) {
      console.log(
        JSON.stringify(
          {
            like: { estimated: like.estimated, realized: like.realized },
            shifted: { estimated: shifted.estimated, realized: shifted.realized },
          },
          null,
          2,
        ),
      );
    }
  },
);

test(
  'mltk monitor --json carries "estimated":{"rmse","mae","rmse_low","rmse_high"} against the ' + "version's test RMSE",
  async () => {
    const doc = await mltk('monitor', '--model', 'sap_change@1', '--input', join(dir, 'like.csv'));
    for (const k of ['rmse', 'mae', 'rmse_low', 'rmse_high', 'mae_low', 'mae_high', 'test_rmse', 'rmse_ratio'])
      assert.equal(typeof doc.estimated[k], 'number', k);
    assert.equal(doc.estimated.rows, BATCH_ROWS);
    assert.ok(['ok', 'warn', 'alert'].includes(doc.estimated.level));
    const version = await mltk('models', 'show', 'sap_change@1');
    assert.equal(doc.estimated.test_rmse, version.metrics.rmse);
  },
);
