// Encodes a trained model as a self-contained ONNX graph over RAW features (the serving contract):
// one [N,1] input per config feature (float, or string for categoricals), categorical encoding and
// derived features inside the graph, one [N,1] float output named "prediction".
import type { ModelConfig } from '../../config/index.ts';
import type { TreeEnsemble } from '../ensemble.ts';
import type { CategoryCodes } from '../features.ts';
import type { LinearModel } from '../linear.ts';
import { attr, columnValueInfo, GraphBuilder, ML_DOMAIN } from './graph.ts';
import { DataType, onnxModelProto } from './proto.ts';

export type ExportableModel =
  | { kind: 'trees'; ensemble: TreeEnsemble; codes: CategoryCodes }
  | { kind: 'linear'; linear: LinearModel };

export interface OnnxInput {
  name: string;
  type: 'float' | 'string';
}

/** IR 8 / opset 17 / ai.onnx.ml 3: the newest combination both ORT 1.30 and onnx ≥ 1.12's checker accept. */
export const ONNX_IR_VERSION = 8;
export const ONNX_OPSET = 17;
export const ONNX_ML_OPSET = 3;
export const OUTPUT_NAME = 'prediction';

/** Graph inputs in order: one per config feature (derived features are computed inside the graph). */
export function onnxInputSpec(config: ModelConfig): OnnxInput[] {
  return config.features.map((f) => ({ name: f.name, type: f.type === 'categorical' ? 'string' : 'float' }));
}

export async function exportOnnx(config: ModelConfig, model: ExportableModel): Promise<Uint8Array> {
  const g = new GraphBuilder();
  const { features, floatOf } = encodeInputs(g, config, model);
  if (model.kind === 'trees') treeEnsembleNode(g, concatFeatures(g, features), model.ensemble, OUTPUT_NAME);
  else linearBody(g, features, model.linear, floatOf);
  return await encodeModel(
    config,
    g,
    [OUTPUT_NAME],
    [
      { key: 'mltk.model', value: config.name },
      { key: 'mltk.target', value: config.target.column },
      { key: 'mltk.unit', value: config.target.unit },
      { key: 'mltk.features', value: JSON.stringify(config.features.map((f) => ({ name: f.name, type: f.type }))) },
    ],
  );
}

/** One output of a multi-output tree model: its ensemble over the shared encoded features. */
export interface TreeHead {
  output: string;
  ensemble: TreeEnsemble;
  /** Clip below at 0 (a loss estimate is never negative, though a tree sum can be). */
  nonNegative?: boolean;
}

/**
 * Several tree ensembles over the same raw inputs (one categorical encoding, one set of derived
 * features), one [N,1] float output each: the loss estimator's squared- and absolute-error heads.
 */
export async function exportTreeHeads(
  config: ModelConfig,
  codes: CategoryCodes,
  heads: readonly TreeHead[],
  metadata: Record<string, string>,
): Promise<Uint8Array> {
  const g = new GraphBuilder();
  const { features } = encodeInputs(g, config, { kind: 'trees', codes });
  const X = concatFeatures(g, features);
  for (const h of heads) {
    if (!h.nonNegative) treeEnsembleNode(g, X, h.ensemble, h.output);
    else g.add('Relu', [treeEnsembleNode(g, X, h.ensemble, `${h.output}__raw`)], [h.output]);
  }
  return encodeModel(
    config,
    g,
    heads.map((h) => h.output),
    Object.entries(metadata).map(([key, value]) => ({ key, value })),
  );
}

/**
 * The float value of every model feature (config features, then derived), computed inside the graph from the raw
 * inputs.
 */
function encodeInputs(
  g: GraphBuilder,
  config: ModelConfig,
  model: ExportableModel | { kind: 'trees'; codes: CategoryCodes },
): { features: string[]; floatOf: Map<string, string> } {
  // Float value per config feature: the input itself, or the LabelEncoder output for a categorical.
  const floatOf = new Map<string, string>();
  for (const f of config.features) {
    if (f.type !== 'categorical') {
      floatOf.set(f.name, f.name);
      continue;
    }
    const [keys, values, fallback] =
      model.kind === 'trees'
        ? categoricalCodes(model.codes[f.name] ?? [])
        : categoricalWeights(model.linear.categorical.find((c) => c.name === f.name));
    floatOf.set(
      f.name,
      g.add(
        'LabelEncoder',
        [f.name],
        [`${f.name}__encoded`],
        [
          attr.strings('keys_strings', keys),
          attr.floats('values_floats', values),
          attr.float('default_float', fallback),
        ],
        ML_DOMAIN,
      ),
    );
  }
  const ops = { ratio: 'Div', product: 'Mul', difference: 'Sub', sum: 'Add' } as const;
  for (const d of config.derived) {
    floatOf.set(d.name, g.add(ops[d.op], [floatOf.get(d.inputs[0])!, floatOf.get(d.inputs[1])!], [d.name]));
  }
  const features = [...config.features.map((f) => f.name), ...config.derived.map((d) => d.name)].map(
    (n) => floatOf.get(n)!,
  );
  return { features, floatOf };
}

async function encodeModel(
  config: ModelConfig,
  g: GraphBuilder,
  outputs: string[],
  metadata: { key: string; value: string }[],
): Promise<Uint8Array> {
  const ModelProto = await onnxModelProto();
  const message = ModelProto.fromObject({
    ir_version: ONNX_IR_VERSION,
    producer_name: 'mltk',
    producer_version: '0.1.0',
    opset_import: [
      { domain: '', version: ONNX_OPSET },
      { domain: ML_DOMAIN, version: ONNX_ML_OPSET },
    ],
    graph: {
      name: config.name,
      node: g.nodes,
      initializer: g.initializers,
      input: config.features.map((f) =>
        columnValueInfo(f.name, f.type === 'categorical' ? DataType.STRING : DataType.FLOAT),
      ),
      output: outputs.map((o) => columnValueInfo(o, DataType.FLOAT)),
    },
    metadata_props: metadata,
  });
  return ModelProto.encode(message).finish();
}

/** Category → ordinal code; anything else (unknown, "") → NaN, which the trees treat as missing. */
function categoricalCodes(order: string[]): [string[], number[], number] {
  // LabelEncoder needs at least one key; "" maps to the default anyway.
  if (order.length === 0) return [[''], [NaN], NaN];
  return [order, order.map((_, i) => i), NaN];
}

function categoricalWeights(c: LinearModel['categorical'][number] | undefined): [string[], number[], number] {
  if (!c || c.categories.length === 0) return [[''], [c?.missing ?? 0], c?.missing ?? 0];
  return [c.categories, c.weights, c.missing];
}

function concatFeatures(g: GraphBuilder, features: string[]): string {
  return g.add('Concat', features, ['features'], [attr.int('axis', 1)]);
}

function treeEnsembleNode(g: GraphBuilder, X: string, model: TreeEnsemble, output: string): string {
  const nodes = {
    treeids: [] as number[],
    nodeids: [] as number[],
    featureids: [] as number[],
    modes: [] as string[],
    values: [] as number[],
    trueids: [] as number[],
    falseids: [] as number[],
    missingTrue: [] as number[],
  };
  const targets = { treeids: [] as number[], nodeids: [] as number[], weights: [] as number[] };
  model.trees.forEach((t, ti) => {
    for (let node = 0; node < t.feature.length; node++) {
      const leaf = t.left[node]! < 0;
      nodes.treeids.push(ti);
      nodes.nodeids.push(node);
      nodes.featureids.push(leaf ? 0 : t.feature[node]!);
      nodes.modes.push(leaf ? 'LEAF' : 'BRANCH_LEQ');
      nodes.values.push(leaf ? 0 : t.threshold[node]!);
      nodes.trueids.push(leaf ? 0 : t.left[node]!);
      nodes.falseids.push(leaf ? 0 : t.right[node]!);
      nodes.missingTrue.push(leaf ? 0 : t.defaultLeft[node]!);
      if (leaf) {
        targets.treeids.push(ti);
        targets.nodeids.push(node);
        targets.weights.push(t.value[node]!);
      }
    }
  });
  return g.add(
    'TreeEnsembleRegressor',
    [X],
    [output],
    [
      attr.int('n_targets', 1),
      attr.string('aggregate_function', 'SUM'),
      attr.string('post_transform', 'NONE'),
      attr.floats('base_values', [model.base]),
      attr.ints('nodes_treeids', nodes.treeids),
      attr.ints('nodes_nodeids', nodes.nodeids),
      attr.ints('nodes_featureids', nodes.featureids),
      attr.strings('nodes_modes', nodes.modes),
      attr.floats('nodes_values', nodes.values),
      attr.ints('nodes_truenodeids', nodes.trueids),
      attr.ints('nodes_falsenodeids', nodes.falseids),
      attr.ints('nodes_missing_value_tracks_true', nodes.missingTrue),
      attr.ints('target_treeids', targets.treeids),
      attr.ints('target_nodeids', targets.nodeids),
      attr.ints(
        'target_ids',
        targets.treeids.map(() => 0),
      ),
      attr.floats('target_weights', targets.weights),
    ],
    ML_DOMAIN,
  );
}

function linearBody(g: GraphBuilder, features: string[], m: LinearModel, floatOf: Map<string, string>): void {
  const terms: string[] = [g.floatConstant('intercept', [1, 1], [m.intercept])];
  if (m.numeric.length) {
    const X = g.add(
      'Concat',
      m.numeric.map((t) => features[t.feature]!),
      ['numeric'],
      [attr.int('axis', 1)],
    );
    const isMissing = g.add('IsNaN', [X], ['numeric_missing']);
    const zero = g.floatConstant('zero', [], [0]);
    const filled = g.add('Where', [isMissing, zero, X], ['numeric_filled']);
    const slopes = g.floatConstant(
      'slopes',
      [m.numeric.length, 1],
      m.numeric.map((t) => t.slope),
    );
    terms.push(g.add('MatMul', [filled, slopes], ['numeric_term']));
    const indicator = g.add('Cast', [isMissing], ['numeric_missing_f'], [attr.int('to', DataType.FLOAT)]);
    const missing = g.floatConstant(
      'missing_weights',
      [m.numeric.length, 1],
      m.numeric.map((t) => t.missing),
    );
    terms.push(g.add('MatMul', [indicator, missing], ['missing_term']));
  }
  for (const c of m.categorical) terms.push(floatOf.get(c.name)!);
  g.add('Sum', terms, [OUTPUT_NAME]);
}
