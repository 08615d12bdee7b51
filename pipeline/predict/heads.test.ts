import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadModelConfig, type ModelConfig } from '../config/index.ts';
import type { Table } from '../data/index.ts';
import { buildBaselineProfile } from '../monitor/index.ts';
import type { Signature } from '../registry/index.ts';
import { LOSS_ESTIMATOR_INPUT, LOSS_OUTPUTS, onnxRuntime, trainLossEstimator, trainModel } from '../train/index.ts';
import { DIRECTORY_DEPTH, DIRECTORY_TABLE, treeTableLayout } from './fast/layout.ts';
import type { EvaluatorProgram } from './fast/program.ts';
import { loadTreeHeads, toFeeds, type InputColumn } from './index.ts';
import { csvTable, synthCsv } from './testdata.ts';

const OUTPUTS = [LOSS_OUTPUTS.squared, LOSS_OUTPUTS.absolute];
const UNKNOWN = 'a category the model never saw';

/** sap_change, its loss estimator over held-out rows, and the baseline of the training rows (samples for the probe). */
const setup = (async () => {
  const base = await loadModelConfig(join(import.meta.dirname, '../../configs/sap_change.json'));
  const config: ModelConfig = {
    ...base,
    trainer: {
      type: 'gbdt',
      params: {
        trees: 40,
        max_depth: 5,
        learning_rate: 0.2,
        max_bins: 64,
        min_samples_leaf: 10,
        l2: 1,
        min_split_gain: 0,
        validation_fraction: 0.1,
        threads: 1,
      },
    },
  };
  const train = await csvTable(config, await synthCsv(3000, 41));
  const model = await trainModel(config, train);
  const heldOut = await csvTable(config, await synthCsv(2500, 42));
  const estimator = (await trainLossEstimator(config, heldOut, await model.predict(heldOut), { seed: 3 }))!;
  const baseline = Buffer.from(
    JSON.stringify(buildBaselineProfile(train, config.features, await model.predict(train), config.derived)),
  );
  const signature: Signature = {
    id_column: config.id_column,
    features: config.features,
    derived: config.derived,
    target: config.target,
    output: { column: config.output.column, unit: config.target.unit },
  };
  return { config, model, estimator, baseline, signature };
})();

/**
 * The estimator's inputs for `table`: every nullable feature blanked in every third row, an unknown
 * category in every fifth row of each categorical, and the model's predictions (missing in every seventh).
 */
function estimatorInputs(config: ModelConfig, table: Table, predictions: Float64Array): InputColumn[] {
  const n = table.rows;
  const inputs = config.features.map((f): InputColumn => {
    const col = table.columns.get(f.name)!;
    if (col.kind === 'categorical') {
      const codes = col.codes.slice();
      const categories = [...col.categories, UNKNOWN];
      for (let i = 0; i < n; i++) {
        if (i % 5 === 0) codes[i] = categories.length - 1;
        else if (f.nullable && i % 3 === 0) codes[i] = -1;
      }
      return { name: f.name, codes, categories };
    }
    const values = Float32Array.from((col as { values: Float64Array }).values);
    if (f.nullable) for (let i = 0; i < n; i += 3) values[i] = Number.NaN;
    return { name: f.name, values };
  });
  const p = Float32Array.from(predictions);
  for (let i = 0; i < n; i += 7) p[i] = Number.NaN;
  inputs.push({ name: LOSS_ESTIMATOR_INPUT, values: p });
  return inputs;
}

async function ortHeads(onnx: Uint8Array, inputs: InputColumn[], rows: number): Promise<Record<string, Float32Array>> {
  const ort = onnxRuntime();
  const session = await ort.InferenceSession.create(onnx, { intraOpNumThreads: 1 });
  try {
    const out = await session.run(toFeeds(ort.Tensor as unknown as Parameters<typeof toFeeds>[0], inputs, rows));
    return Object.fromEntries(OUTPUTS.map((o) => [o, out[o]!.data as Float32Array]));
  } finally {
    await session.release();
  }
}

test(
  'the loss estimator: both heads proven at load and scored by the fast evaluator exactly as ONNX Runtime scores ' +
    'them, missing values and unknown categories included',
  async () => {
    const { config, model, estimator, baseline, signature } = await setup;
    const heads = await loadTreeHeads(estimator.onnx, signature, OUTPUTS, { baseline });
    try {
      for (const o of OUTPUTS) {
        assert.equal(heads.fastPath[o]?.used, true, `${o}: ${heads.fastPath[o]?.reason}`);
        assert.equal(heads.fastPath[o]?.max_difference, 0);
      }
      const table = await csvTable(config, await synthCsv(2000, 43));
      const inputs = estimatorInputs(config, table, await model.predict(table));
      const fast = await heads.score(inputs, table.rows);
      const reference = await ortHeads(estimator.onnx, inputs, table.rows);
      for (const o of OUTPUTS) {
        assert.deepEqual(fast[o], reference[o], o);
        // Each head clips at 0 (its Relu): the sums below zero are there and were clipped alike.
        assert.ok(fast[o]!.every((v) => v >= 0));
      }
    } finally {
      await heads.close();
    }
    // The same on a worker thread (the monitor's way: a chunk is estimated while the next is parsed).
    const onWorker = await loadTreeHeads(estimator.onnx, signature, OUTPUTS, { baseline, worker: true });
    try {
      const table = await csvTable(config, await synthCsv(2000, 43));
      const inputs = estimatorInputs(config, table, await model.predict(table));
      const reference = await ortHeads(estimator.onnx, inputs, table.rows);
      const fast = await onWorker.score(inputs, table.rows);
      for (const o of OUTPUTS) assert.deepEqual(fast[o], reference[o], o);
    } finally {
      await onWorker.close();
    }
  },
);

test(
  'a tampered head is caught by the probe: every head is then scored by ONNX Runtime, the reason kept for the ' +
    'tampered one',
  async () => {
    const { config, model, estimator, baseline, signature } = await setup;
    // The squared-error head only: its first tree's root cut one step higher.
    let tampered = false;
    const adjustProgram = (program: EvaluatorProgram) => {
      if (tampered) return;
      tampered = true;
      const view = new DataView(program.image.buffer, program.image.byteOffset);
      const table = view.getInt32(program.memory.directoryAt + DIRECTORY_TABLE, true);
      const { cutsAt } = treeTableLayout(view.getInt32(program.memory.directoryAt + DIRECTORY_DEPTH, true));
      for (let lane = 0; lane < 16; lane++)
        program.image[table + cutsAt + lane] = (program.image[table + cutsAt + lane]! + 1) & 0xff;
    };
    const heads = await loadTreeHeads(estimator.onnx, signature, OUTPUTS, { baseline, fastPath: { adjustProgram } });
    try {
      assert.equal(heads.fastPath[LOSS_OUTPUTS.squared]?.used, false);
      assert.match(
        heads.fastPath[LOSS_OUTPUTS.squared]?.reason ?? '',
        /disagrees with ONNX Runtime on \d+ of \d+ probe rows/,
      );
      assert.equal(
        heads.fastPath[LOSS_OUTPUTS.absolute]?.used,
        true,
        heads.fastPath[LOSS_OUTPUTS.absolute]?.reason ?? '',
      );
      const table = await csvTable(config, await synthCsv(500, 44));
      const inputs = estimatorInputs(config, table, await model.predict(table));
      const scored = await heads.score(inputs, table.rows);
      const reference = await ortHeads(estimator.onnx, inputs, table.rows);
      // Served by ONNX Runtime, on several threads: they sum a row's trees in another order than one
      // thread does, so a small loss after a large sum differs in its last float32 bits of that sum.
      for (const o of OUTPUTS) {
        const off = [...scored[o]!].filter((v, i) => Math.abs(v - reference[o]![i]!) > 1e-4);
        assert.deepEqual(off, [], o);
      }
    } finally {
      await heads.close();
    }
  },
);
