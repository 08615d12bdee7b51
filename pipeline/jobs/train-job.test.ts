// Bad training data: a clear error naming file, column and first bad row; a FAILED run; nothing registered.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModelConfig, parseModelConfig, type ModelConfig } from '../config/index.ts';
import { writeSynthCsv, addDatasetVersion } from '../data/index.ts';
import { listRuns } from '../runs/index.ts';
import { listVersionNumbers, getAlias } from '../registry/index.ts';
import { openStore, blobKey, getModelArtifact, modelArtifactKey } from '../store/index.ts';
import { parseBaselineProfile } from '../monitor/index.ts';
import { runTrainJob, promoteIfBetter, decidePromotion } from './index.ts';

const quiet = { say: () => {}, progress: () => {} };

async function fixture(rows = 600) {
  const dir = await mkdtemp(join(tmpdir(), 'mltk-job-'));
  const file = join(dir, 'good.csv');
  const out = createWriteStream(file);
  await writeSynthCsv({ rows, seed: 3 }, out);
  await new Promise<void>((r) => out.end(() => r()));
  const raw = JSON.parse(await readFile('configs/sap_change.json', 'utf8'));
  raw.trainer.params.trees = 15;
  const config: ModelConfig = parseModelConfig(raw, 'test config');
  return {
    dir,
    file,
    config,
    store: openStore(join(dir, 'store')),
    lines: (await readFile(file, 'utf8')).trimEnd().split('\n'),
  };
}

function editCell(lines: string[], row: number, column: string, value: string): string {
  const header = lines[0]!.split(',');
  const col = header.indexOf(column);
  const out = [...lines];
  const cells = out[row]!.split(',');
  cells[col] = value;
  out[row] = cells.join(',');
  return `${out.join('\n')}\n`;
}

test('a good file trains, registers version 1 and the run is FINISHED with per-round losses', async () => {
  const f = await fixture();
  const shown: string[] = [];
  const r = await runTrainJob({
    store: f.store,
    config: f.config,
    configSource: 'c',
    data: { kind: 'file', path: f.file },
    ...quiet,
    progress: (line) => shown.push(line),
  });
  assert.equal(r.version, 1);
  assert.ok(r.metrics.rmse! > 0 && Number.isFinite(r.metrics.r2));
  const [run] = (await listRuns(f.store)).runs;
  assert.equal(run!.status, 'FINISHED');
  assert.ok(run!.metric_history.train_loss!.length >= 1);
  // Progress shows the same RMSEs the run records (it once printed the square root of the train RMSE).
  const rounds = run!.metric_history.train_loss!.length;
  const last = (name: string) => run!.metric_history[name]!.at(-1)!.value.toPrecision(4);
  assert.equal(shown.at(-1), `round ${rounds}/15  train rmse ${last('train_loss')}  valid rmse ${last('valid_loss')}`);
  assert.ok(run!.artifacts['model.onnx'] && run!.artifacts['baseline.json']);
  const baseline = parseBaselineProfile(
    await getModelArtifact(f.store, 'sap_change', r.manifest.baseline!.sha256),
    'baseline',
  );
  assert.deepEqual(
    baseline.features.map((p) => p.name),
    [...f.config.features, ...f.config.derived].map((x) => x.name),
    'derived features are profiled too',
  );
  const perRoom = baseline.features.at(-1)!;
  assert.ok(
    perRoom.type === 'numeric' && perRoom.missing === 0 && perRoom.min! > 1 && perRoom.max! < 200,
    JSON.stringify({ ...perRoom, sample: undefined }),
  );
  const promo = await promoteIfBetter(f.store, f.config, r.manifest);
  assert.equal(promo.promote, true);
  assert.equal((await getAlias(f.store, 'sap_change', 'champion'))?.version, 1);
});

const badCases: [string, (f: Awaited<ReturnType<typeof fixture>>) => string, RegExp][] = [
  [
    'a missing configured column',
    (f) =>
      `${f.lines
        .map((l) =>
          l
            .split(',')
            .filter((_, i) => i !== f.lines[0]!.split(',').indexOf('glazing'))
            .join(','),
        )
        .join('\n')}\n`,
    /missing column "glazing"/,
  ],
  [
    'a categorical value outside the allowed list',
    (f) => editCell(f.lines, 5, 'wall_type', 'straw'),
    /row 5, column "wall_type": value "straw" is not one of cavity\|solid\|timber\|system/,
  ],
  [
    'non-numeric text in a numeric column',
    (f) => editCell(f.lines, 7, 'total_floor_area', 'big'),
    /row 7, column "total_floor_area": expected a number, got "big"/,
  ],
  [
    'a target beyond the range of a number (1e400 reads as Infinity)',
    (f) => editCell(f.lines, 4, 'sap_change', '1e400'),
    /row 4, column "sap_change": "1e400" is beyond the range of a number/,
  ],
  ['an empty file', () => '', /bad\.csv: empty file/],
  [
    'a target that is all missing',
    (f) =>
      `${[
        f.lines[0],
        ...f.lines.slice(1).map((l) => editCell([f.lines[0]!, l], 1, 'sap_change', '').split('\n')[1]),
      ].join('\n')}\n`,
    /target column "sap_change" is missing in every row/,
  ],
];

for (const [name, make, message] of badCases) {
  test(`bad training data — ${name}: clear error, FAILED run, nothing registered`, async () => {
    const f = await fixture(200);
    const bad = join(f.dir, 'bad.csv');
    await writeFile(bad, make(f));
    await assert.rejects(
      runTrainJob({ store: f.store, config: f.config, configSource: 'c', data: { kind: 'file', path: bad }, ...quiet }),
      (e: Error) => {
        assert.match(e.message, message);
        if (name !== 'an empty file') assert.match(e.message, /bad\.csv/);
        return true;
      },
    );
    assert.deepEqual(await listVersionNumbers(f.store, 'sap_change'), []);
    const { runs } = await listRuns(f.store);
    // An unreadable file fails before a run starts (nothing to track); a readable one leaves a FAILED run.
    for (const run of runs) {
      assert.equal(run.status, 'FAILED');
      assert.match(run.error!, message);
    }
  });
}

test('promotion: error metrics must improve by the relative margin, r2 by the absolute one', () => {
  const policy = { alias: 'prod', metric: 'rmse' as const, min_improvement: 0.05 };
  assert.equal(decidePromotion(policy, 1, null).promote, true);
  assert.equal(decidePromotion(policy, 0.96, { version: 1, value: 1 }).promote, false);
  assert.equal(decidePromotion(policy, 0.95, { version: 1, value: 1 }).promote, true);
  assert.equal(decidePromotion({ ...policy, metric: 'r2' }, 0.86, { version: 1, value: 0.8 }).promote, true);
  assert.equal(decidePromotion({ ...policy, metric: 'r2' }, 0.84, { version: 1, value: 0.8 }).promote, false);
});

test('the three shipped configs parse, and a bad config names each bad key', async () => {
  for (const m of ['sap_change', 'heat_change', 'carbon_change'])
    assert.equal((await loadModelConfig(`configs/${m}.json`)).name, m);
  const raw = JSON.parse(await readFile('configs/sap_change.json', 'utf8'));
  raw.trainer.params.max_depth = 0;
  raw.features[0].type = 'text';
  raw.derived[0].inputs = ['property_type', 'total_floor_area'];
  assert.throws(
    () => parseModelConfig(raw, 'configs/x.json'),
    (e: Error) => {
      assert.match(e.message, /^configs\/x\.json: invalid model config: /);
      assert.match(e.message, /features\.0\.type/);
      assert.match(e.message, /trainer\.params\.max_depth/);
      return true;
    },
  );
  const raw2 = JSON.parse(await readFile('configs/sap_change.json', 'utf8'));
  raw2.derived[0].inputs = ['property_type', 'total_floor_area'];
  assert.throws(
    () => parseModelConfig(raw2, 'x.json'),
    /derived\.0\.inputs\.0: "property_type" is not a numeric or boolean feature/,
  );
});

test('a corrupted dataset blob fails training with an integrity error and registers nothing', async () => {
  const f = await fixture(200);
  const { version } = await addDatasetVersion(f.store, 'epc_retrofit', f.file);
  const bytes = await f.store.get(blobKey(version.version));
  bytes[bytes.length - 5] = bytes[bytes.length - 5] === 0x31 ? 0x32 : 0x31; // one digit changed: still a valid CSV
  await f.store.put(blobKey(version.version), bytes);
  await assert.rejects(
    runTrainJob({
      store: f.store,
      config: f.config,
      configSource: 'c',
      data: { kind: 'version', ref: `epc_retrofit@${version.version}` },
      ...quiet,
    }),
    new RegExp(`blob ${version.version} is corrupt`),
  );
  assert.deepEqual(await listVersionNumbers(f.store, 'sap_change'), []);
  const [run] = (await listRuns(f.store)).runs;
  assert.equal(run!.status, 'FAILED');
});

test(
  "the by-segment evaluation follows the config's evaluation.segment: other segments are a " + 'config change',
  async () => {
    const f = await fixture(800);
    assert.deepEqual(
      { ...f.config.evaluation.segment, description: undefined },
      {
        description: undefined,
        name: 'sap_band',
        column: 'current_sap',
        edges: [20.5, 38.5, 54.5, 68.5, 80.5, 91.5],
        labels: ['G', 'F', 'E', 'D', 'C', 'B', 'A'],
      },
    );
    const bySap = await runTrainJob({
      store: f.store,
      config: f.config,
      configSource: 'c',
      data: { kind: 'file', path: f.file },
      ...quiet,
    });
    assert.ok(
      Object.keys(bySap.metrics_by_band).every((b) => 'ABCDEFG'.includes(b)) &&
        Object.keys(bySap.metrics_by_band).length >= 3,
    );
    assert.deepEqual(bySap.manifest.segment, f.config.evaluation.segment);

    const raw = JSON.parse(await readFile('configs/sap_change.json', 'utf8'));
    raw.trainer.params.trees = 15;
    raw.evaluation = {
      segment: { name: 'size', column: 'total_floor_area', edges: [60, 120], labels: ['small', 'medium', 'large'] },
    };
    const bySize = await runTrainJob({
      store: f.store,
      config: parseModelConfig(raw, 'c'),
      configSource: 'c',
      data: { kind: 'file', path: f.file },
      ...quiet,
    });
    assert.deepEqual(Object.keys(bySize.metrics_by_band), ['small', 'medium', 'large']);
    assert.equal(
      Object.values(bySize.metrics_by_band).reduce((n, m) => n + m.rows, 0),
      160,
      'every test row is in one size band',
    );

    delete raw.evaluation;
    const none = await runTrainJob({
      store: f.store,
      config: parseModelConfig(raw, 'c'),
      configSource: 'c',
      data: { kind: 'file', path: f.file },
      ...quiet,
    });
    assert.deepEqual(none.metrics_by_band, {});
    assert.equal(none.manifest.segment, null);
  },
);

test('a bad evaluation.segment is refused naming the key', async () => {
  const raw = JSON.parse(await readFile('configs/sap_change.json', 'utf8'));
  const bad = (segment: unknown) => () => parseModelConfig({ ...raw, evaluation: { segment } }, 'x.json');
  assert.throws(
    bad({ name: 's', column: 'nope', edges: [1], labels: ['a', 'b'] }),
    /evaluation\.segment\.column: "nope" is not a feature of this config/,
  );
  assert.throws(
    bad({ name: 's', column: 'current_sap', edges: [1, 2], labels: ['a', 'b'] }),
    /evaluation\.segment\.labels: 2 edges need 3 labels, got 2/,
  );
  assert.throws(
    bad({ name: 's', column: 'current_sap', edges: [2, 1], labels: ['a', 'b', 'c'] }),
    /evaluation\.segment\.edges: edges must increase strictly/,
  );
  assert.throws(
    bad({ name: 's', column: 'current_sap' }),
    /evaluation\.segment\.edges: a numeric column is segmented by edges/,
  );
  assert.throws(
    bad({ name: 's', column: 'glazing', edges: [1], labels: ['a', 'b'] }),
    /evaluation\.segment\.edges: "glazing" is categorical: its segments are its values, no edges or labels/,
  );
});

test(
  'a version carries its loss estimator (hash-verified ONNX + calibration); too few held-out rows register ' +
    'none and say so',
  async () => {
    const f = await fixture(1500);
    const said: string[] = [];
    const r = await runTrainJob({
      store: f.store,
      config: f.config,
      configSource: 'c',
      data: { kind: 'file', path: f.file },
      say: (l) => said.push(l),
      progress: () => {},
    });
    const est = r.manifest.loss_estimator!;
    assert.equal(est.calibration.rows, 300);
    assert.equal(est.artifact.format, 'onnx');
    assert.deepEqual(r.loss_estimator, est.calibration);
    const [run] = (await listRuns(f.store)).runs;
    assert.deepEqual(run!.artifacts['loss_estimator.onnx'], { sha256: est.artifact.sha256, bytes: est.artifact.bytes });
    assert.ok((await getModelArtifact(f.store, 'sap_change', est.artifact.sha256)).length === est.artifact.bytes);
    assert.ok(
      said.some((l) => /^loss estimator: 300 held-out rows, 5-fold/.test(l)),
      said.join('\n'),
    );
    // A tampered estimator blob is refused on read like every artifact.
    const key = modelArtifactKey('sap_change', est.artifact.sha256);
    assert.ok(key.startsWith('models/sap_change/artifacts/'), key);
    const bytes = await f.store.get(key);
    bytes[bytes.length - 1]! ^= 1;
    await f.store.put(key, bytes);
    await assert.rejects(getModelArtifact(f.store, 'sap_change', est.artifact.sha256), /is corrupt/);

    const small = await fixture(600);
    const few: string[] = [];
    const r2 = await runTrainJob({
      store: small.store,
      config: small.config,
      configSource: 'c',
      data: { kind: 'file', path: small.file },
      say: (l) => few.push(l),
      progress: () => {},
    });
    assert.equal(r2.manifest.loss_estimator, null);
    assert.equal(r2.loss_estimator, null);
    assert.ok(few.some((l) => /loss estimator: not fitted \(fewer than 200 held-out rows/.test(l)));
  },
);
