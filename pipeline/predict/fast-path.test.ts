import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { loadModelConfig, type ModelConfig } from '../config/index.ts';
import { putBlob } from '../store/index.ts';
import { registerModelVersion, type ModelVersion } from '../registry/index.ts';
import { onnxRuntime, trainModel } from '../train/index.ts';
import { agrees } from './fast-path.ts';
import { DIRECTORY_DEPTH, DIRECTORY_TABLE, treeTableLayout } from './fast/layout.ts';
import { loadModelVersion, scoreBatch, buildFeeds, type LoadedModel } from './index.ts';
import { jsonLogger } from '../log/index.ts';
import { captureLines, csvTable, synthCsv, tempStore, type TempStore } from './testdata.ts';

const stores: TempStore[] = [];
after(async () => {
  for (const s of stores) await s.cleanup();
});

const CONFIGS = ['sap_change', 'heat_change', 'carbon_change'];

async function config(name: string, trees = 40, depth = 6, trainer: 'gbdt' | 'linear' = 'gbdt'): Promise<ModelConfig> {
  const base = await loadModelConfig(join(import.meta.dirname, `../../configs/${name}.json`));
  return {
    ...base,
    trainer:
      trainer === 'linear'
        ? { type: 'linear', params: { alpha: 1 } }
        : {
            type: 'gbdt',
            params: {
              trees,
              max_depth: depth,
              learning_rate: 0.2,
              max_bins: 256,
              min_samples_leaf: 5,
              l2: 1,
              min_split_gain: 0,
              validation_fraction: 0.1,
              threads: 1,
            },
          },
  };
}

/** Trains `cfg` on synthetic rows and registers it (with a baseline-like reference blob when asked). */
async function registered(
  cfg: ModelConfig,
  opts: { reference?: boolean } = {},
): Promise<{ store: TempStore; mv: ModelVersion }> {
  const store = await tempStore();
  stores.push(store);
  const trained = await trainModel(cfg, await csvTable(cfg, await synthCsv(3000, 11)));
  const artifact = await putBlob(store.store, Buffer.from(trained.onnx));
  // The probe reads only the reference samples of a baseline profile (the monitor owns the full format).
  const table = await csvTable(cfg, await synthCsv(500, 12));
  const features = cfg.features.map((f) => {
    const col = table.columns.get(f.name)!;
    return col.kind === 'numeric'
      ? {
          name: f.name,
          sample: Array.from(col.values)
            .filter((v) => !Number.isNaN(v))
            .sort((a, b) => a - b),
        }
      : { name: f.name, categories: f.type === 'categorical' ? f.values : [] };
  });
  const baseline = opts.reference ? await putBlob(store.store, JSON.stringify({ features })) : null;
  const mv = await registerModelVersion(store.store, {
    name: cfg.name,
    run_id: null,
    dataset: null,
    trainer: cfg.trainer.type,
    artifact: { ...artifact, format: 'onnx' },
    baseline,
    signature: {
      id_column: cfg.id_column,
      features: cfg.features,
      derived: cfg.derived,
      target: cfg.target,
      output: { column: cfg.output.column, unit: cfg.target.unit },
    },
    metrics: {},
    monitoring: cfg.monitoring,
    config_sha256: null,
  });
  return { store, mv };
}

/** Rows to score: synthetic ones with every nullable feature blanked in some rows. */
async function rowsWithMissing(cfg: ModelConfig, rows: number, seed: number) {
  const lines = (await synthCsv(rows, seed)).toString('utf8').trimEnd().split('\n');
  const header = lines[0]!.split(',');
  const nullable = cfg.features.filter((f) => f.nullable).map((f) => header.indexOf(f.name));
  const edited = lines.map((l, i) =>
    i > 0 && i % 3 === 0
      ? l
          .split(',')
          .map((c, k) => (nullable.includes(k) ? '' : c))
          .join(',')
      : l,
  );
  return csvTable(cfg, Buffer.from(`${edited.join('\n')}\n`));
}

async function ortScores(model: LoadedModel, table: Awaited<ReturnType<typeof csvTable>>): Promise<Float32Array> {
  const { feeds } = buildFeeds(model.plan, table);
  const session = await onnxRuntime().InferenceSession.create(model.onnx, { intraOpNumThreads: 1 });
  try {
    return (await session.run(feeds)).prediction!.data as Float32Array;
  } finally {
    await session.release();
  }
}

/** What the model's own ONNX Runtime session answers. */
async function ownSession(model: LoadedModel, table: Awaited<ReturnType<typeof csvTable>>): Promise<Float32Array> {
  return (await model.session!.run(buildFeeds(model.plan, table).feeds)).prediction!.data as Float32Array;
}

for (const name of CONFIGS) {
  test(
    `${name}: the fast evaluator is proven at load and scores rows with missing values and every category as ONNX ` +
      `Runtime does`,
    async () => {
      const cfg = await config(name);
      const { store, mv } = await registered(cfg, { reference: true });
      const log = captureLines();
      const model = await loadModelVersion(store.store, mv, { log: jsonLogger(log.sink) });
      try {
        assert.equal(model.fastPath.used, true, model.fastPath.reason ?? '');
        assert.ok(model.fastPath.probe_rows > 1000, `probe rows ${model.fastPath.probe_rows}`);
        assert.ok(
          log.parsed().some((l) => l.msg === 'fast evaluator proven equal to ONNX Runtime' && l.model === name),
        );
        const table = await rowsWithMissing(cfg, 3000, 21);
        const fast = await model.score(table);
        const reference = await ortScores(model, table);
        let exact = 0;
        for (let i = 0; i < table.rows; i++) {
          assert.ok(agrees(fast[i]!, reference[i]!), `row ${i}: fast ${fast[i]} vs ONNX Runtime ${reference[i]}`);
          if (fast[i] === reference[i]) exact++;
        }
        // Same trees, same float32 summation order as ONNX Runtime on one thread: equal to the last bit.
        assert.equal(exact, table.rows);
      } finally {
        model.retire();
      }
    },
  );
}

test(
  'a deliberately tampered evaluator table is caught by the probe: the model is served by ONNX Runtime and the ' +
    'reason is logged',
  async () => {
    const cfg = await config('sap_change', 20, 5);
    const { store, mv } = await registered(cfg);
    const log = captureLines();
    // Tree 0's root: one more step in its cut, so values just above that threshold go left instead of right.
    const tamper = (program: { image: Uint8Array; memory: { directoryAt: number } }) => {
      const view = new DataView(program.image.buffer, program.image.byteOffset);
      const table = view.getInt32(program.memory.directoryAt + DIRECTORY_TABLE, true);
      const { cutsAt } = treeTableLayout(view.getInt32(program.memory.directoryAt + DIRECTORY_DEPTH, true));
      for (let lane = 0; lane < 16; lane++)
        program.image[table + cutsAt + lane] = (program.image[table + cutsAt + lane]! + 1) & 0xff;
    };
    const model = await loadModelVersion(store.store, mv, {
      log: jsonLogger(log.sink),
      fastPath: { adjustProgram: tamper },
    });
    try {
      assert.equal(model.fastPath.used, false);
      assert.match(
        model.fastPath.reason ?? '',
        /disagrees with ONNX Runtime on \d+ of \d+ probe rows \(first: feature \d+ just above threshold/,
      );
      const warning = log.parsed().find((l) => l.level === 'warn');
      assert.equal(warning?.msg, 'fast evaluator not used; scoring with ONNX Runtime');
      assert.equal(warning?.reason, model.fastPath.reason);
      const table = await rowsWithMissing(cfg, 500, 22);
      assert.deepEqual(await model.score(table), await ownSession(model, table), 'served by its ONNX Runtime session');
    } finally {
      model.retire();
    }
    // Unchanged, the same model is proven (the tamper, not the model, was wrong).
    const clean = await loadModelVersion(store.store, mv);
    assert.equal(clean.fastPath.used, true, clean.fastPath.reason ?? '');
    clean.retire();
  },
);

test(
  'a graph the fast evaluator does not know (a linear model) is served by ONNX Runtime ' + 'with the reason',
  async () => {
    const cfg = await config('sap_change', 0, 0, 'linear');
    const { store, mv } = await registered(cfg);
    const model = await loadModelVersion(store.store, mv);
    try {
      assert.equal(model.fastPath.used, false);
      assert.match(model.fastPath.reason ?? '', /is not an operator the fast evaluator knows/);
      const table = await rowsWithMissing(cfg, 200, 23);
      assert.deepEqual(await model.score(table), await ownSession(model, table));
    } finally {
      model.retire();
    }
    const off = await loadModelVersion(store.store, mv, { fastPath: { enabled: false } });
    assert.match(off.fastPath.reason ?? '', /disabled/);
    off.retire();
  },
);

test(
  'batch scoring writes the same bytes with the fast evaluator as with ONNX Runtime summing trees in order ' +
    "(one thread), on worker threads and on the batch's own thread",
  async () => {
    const cfg = await config('heat_change', 60, 6);
    const { store, mv } = await registered(cfg);
    const csv = await synthCsv(5000, 31);
    const outputs: string[] = [];
    for (const [enabled, workers] of [
      [true, undefined],
      [false, undefined],
      [true, 0],
      [false, 0],
    ] as const) {
      const model = await loadModelVersion(store.store, mv, { fastPath: { enabled }, threads: 1 });
      assert.equal(model.fastPath.used, enabled);
      const chunks: Buffer[] = [];
      const sinks = {
        predictions: async (body: AsyncIterable<Buffer>) => {
          for await (const b of body) chunks.push(b);
        },
        errors: async (body: AsyncIterable<Buffer>) => {
          for await (const _ of body);
        },
      };
      await scoreBatch(model, Readable.from([csv]), { format: 'csv', source: 'b.csv', chunkRows: 777, workers }, sinks);
      model.retire();
      outputs.push(Buffer.concat(chunks).toString('utf8'));
    }
    assert.equal(outputs[0]!.split('\n').length, 5002);
    for (const other of outputs.slice(1)) assert.equal(other, outputs[0]);
  },
);
