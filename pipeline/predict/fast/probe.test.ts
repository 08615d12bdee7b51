import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadModelConfig, type ModelConfig } from '../../config/index.ts';
import { onnxRuntime, trainModel } from '../../train/index.ts';
import { toFeeds, type InputColumn, type TensorCtor } from '../score.ts';
import { csvTable, synthCsv } from '../testdata.ts';
import { createEvaluator } from './evaluator.ts';
import { readTreeGraph, type Expression, type TreeGraph } from './graph.ts';
import { nextUp, probeSet, UNKNOWN_CATEGORY, type ReferenceSample } from './probe.ts';
import { compileProgram } from './program.ts';
import { agrees } from '../fast-path.ts';

// What the proof at load promises (the list): values exactly at thresholds, missing values
// taking the learned default direction, unknown categories, derived features with zero denominators.
// Each is checked twice: the rows are in the probe set, and an evaluator wrong only there is caught.

/** sap_change (categoricals, two nullable numerics, a ratio), trained with blanks in its nullable features. */
const setup = (async () => {
  const base = await loadModelConfig(join(import.meta.dirname, '../../../configs/sap_change.json'));
  const config: ModelConfig = {
    ...base,
    trainer: {
      type: 'gbdt',
      params: {
        trees: 30,
        max_depth: 6,
        learning_rate: 0.2,
        max_bins: 64,
        min_samples_leaf: 5,
        l2: 1,
        min_split_gain: 0,
        validation_fraction: 0.1,
        threads: 1,
      },
    },
  };
  const lines = (await synthCsv(3000, 51)).toString('utf8').trimEnd().split('\n');
  const header = lines[0]!.split(',');
  const nullable = config.features.filter((f) => f.nullable).map((f) => header.indexOf(f.name));
  const blanked = lines.map((l, i) =>
    i > 0 && i % 4 === 0
      ? l
          .split(',')
          .map((c, k) => (nullable.includes(k) ? '' : c))
          .join(',')
      : l,
  );
  const table = await csvTable(config, Buffer.from(`${blanked.join('\n')}\n`));
  const onnx = (await trainModel(config, table)).onnx;
  const categories = new Map(
    config.features.flatMap((f) => (f.type === 'categorical' ? [[f.name, [...f.values] as string[]] as const] : [])),
  );
  // A reference sample as a baseline profile holds it: numeric samples sorted, categories by name.
  const reference: ReferenceSample = new Map(
    config.features.map((f): [string, number[] | string[]] => {
      const col = table.columns.get(f.name)!;
      return col.kind === 'numeric'
        ? [
            f.name,
            Array.from(col.values)
              .filter((v) => !Number.isNaN(v))
              .sort((a, b) => a - b),
          ]
        : [f.name, f.type === 'categorical' ? [...f.values] : []];
    }),
  );
  return { config, onnx, categories, reference };
})();

const column = (inputs: InputColumn[], name: string) => inputs.find((c) => c.name === name)!;
const floats = (inputs: InputColumn[], name: string) => (column(inputs, name) as { values: Float32Array }).values;

/**
 * The probe rows on which an evaluator compiled from the graph after `tamper` disagrees with ONNX Runtime (one thread),
 * by reason.
 */
async function disagreements(tamper: (graph: TreeGraph) => void): Promise<string[]> {
  const { onnx, categories, reference } = await setup;
  const graph = readTreeGraph(onnx);
  tamper(graph);
  const program = compileProgram(graph);
  const probe = probeSet(program, categories, reference);
  const fast = createEvaluator(program).score(probe.inputs, probe.rows);
  const ort = onnxRuntime();
  const session = await ort.InferenceSession.create(onnx, { intraOpNumThreads: 1 });
  try {
    const expected = (await session.run(toFeeds(ort.Tensor as unknown as TensorCtor, probe.inputs, probe.rows)))
      .prediction!.data as Float32Array;
    return Array.from({ length: probe.rows }, (_, r) => r)
      .filter((r) => !agrees(fast[r]!, expected[r]!))
      .map((r) => probe.describe(r));
  } finally {
    await session.release();
  }
}

/** Nodes of every tree that test feature f. */
function eachNodeOf(graph: TreeGraph, f: number, visit: (tree: TreeGraph['trees'][number], n: number) => void): number {
  let count = 0;
  for (const tree of graph.trees)
    for (let n = 0; n < tree.feature.length; n++)
      if (!tree.leaf[n] && tree.feature[n] === f) {
        visit(tree, n);
        count++;
      }
  return count;
}

const featureIndex = (graph: TreeGraph, test: (e: Expression) => boolean) => graph.features.findIndex(test);

test(
  'the probe holds every threshold exactly and just above, every input missing and infinite, every category with ' +
    'the empty and an unknown one, and zero denominators',
  async () => {
    const { onnx, categories, reference } = await setup;
    const graph = readTreeGraph(onnx);
    const program = compileProgram(graph);
    const probe = probeSet(program, categories, reference);
    program.features.forEach((feature, f) => {
      const e = feature.expression;
      const at = e.kind === 'input' ? e : e.kind === 'arithmetic' && e.a.kind === 'input' ? e.a : undefined;
      if (!at) return; // a LabelEncoder's thresholds lie between its categories' values, all of which are rows
      const values = floats(probe.inputs, program.inputs[at.input]!.name);
      for (const t of feature.thresholds) {
        assert.ok(values.includes(t), `feature ${f}: no row exactly at threshold ${t}`);
        assert.ok(values.includes(nextUp(t)), `feature ${f}: no row just above threshold ${t}`);
      }
    });
    for (const input of program.inputs) {
      const col = column(probe.inputs, input.name);
      if ('values' in col) {
        for (const x of [Number.NaN, Infinity, -Infinity])
          assert.ok(
            col.values.some((v) => Object.is(v, x)),
            `${input.name}: no row = ${x}`,
          );
      } else {
        assert.equal(col.categories.at(-1), UNKNOWN_CATEGORY);
        for (let c = -1; c < col.categories.length; c++)
          assert.ok(col.codes.includes(c), `${input.name}: no row with category ${c}`);
      }
    }
    // Missing values also meet the trees along the reference sample's paths, each input in turn.
    const missingInReference = program.inputs.filter((input) =>
      Array.from({ length: probe.rows }, (_, r) => probe.describe(r)).some((w) =>
        w.endsWith(`with ${input.name} missing`),
      ),
    );
    assert.equal(missingInReference.length, program.inputs.length);
    const ratio = graph.features.find((e) => e.kind === 'arithmetic' && e.op === 'Div');
    assert.ok(ratio?.kind === 'arithmetic' && ratio.a.kind === 'input' && ratio.b.kind === 'input');
    const a = floats(probe.inputs, program.inputs[ratio.a.input]!.name),
      b = floats(probe.inputs, program.inputs[ratio.b.input]!.name);
    for (const x of [0, 1, -1, Number.NaN])
      for (const zero of [0, -0])
        assert.ok(
          a.some((v, r) => Object.is(v, x) && Object.is(b[r], zero)),
          `no row ${x} / ${Object.is(zero, -0) ? '-0' : '0'}`,
        );
  },
);

test('a wrong default direction for missing values is caught, and only on rows with that input missing', async () => {
  let input = '';
  const wrong = await disagreements((graph) => {
    const f = featureIndex(graph, (e) => e.kind === 'input' && graph.inputs[e.input]!.name === 'boiler_efficiency');
    input = graph.inputs[(graph.features[f] as { input: number }).input]!.name;
    assert.ok(
      eachNodeOf(graph, f, (tree, n) => {
        tree.nanLeft[n] = tree.nanLeft[n] ? 0 : 1;
      }) > 0,
    );
  });
  assert.ok(wrong.length > 0, 'not caught');
  for (const w of wrong) assert.match(w, new RegExp(`${input} = NaN|with ${input} missing|every input missing`));
  assert.ok(
    wrong.some((w) => w.startsWith('reference sample row')),
    'no reference row with it missing caught it',
  );
});

test('a wrong value for an unknown category is caught on the rows with an unknown or an empty category', async () => {
  const wrong = await disagreements((graph) => {
    const f = featureIndex(
      graph,
      (e) => e.kind === 'encoded' && eachNodeOf(graph, graph.features.indexOf(e), () => undefined) > 0,
    );
    const e = graph.features[f] as Extract<Expression, { kind: 'encoded' }>;
    // The LabelEncoder's default: above every threshold, so unknown categories go right at every test.
    e.fallback = 1e30;
  });
  assert.ok(
    wrong.some((w) => w.includes('mltk-probe-unknown')),
    `the unknown category's row did not catch it: ${wrong.slice(0, 3)}`,
  );
});

test(
  'a wrong route for a derived feature divided by zero (0/0 is missing) is caught on the zero-denominator ' + 'rows',
  async () => {
    const wrong = await disagreements((graph) => {
      const f = featureIndex(graph, (e) => e.kind === 'arithmetic' && e.op === 'Div');
      assert.ok(
        eachNodeOf(graph, f, (tree, n) => {
          tree.nanLeft[n] = tree.nanLeft[n] ? 0 : 1;
        }) > 0,
      );
    });
    assert.ok(
      wrong.some((w) => /^derived 0 \/ -?0$/.test(w)),
      `no zero-denominator row caught it: ${wrong.slice(0, 3)}`,
    );
  },
);
