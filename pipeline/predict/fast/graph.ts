// Reads the ONNX graph a registry model version holds into what the fast evaluator computes: per
// graph input its type, each tree feature as an expression over the inputs (an input, a LabelEncoder
// of a string input, or Div/Mul/Sub/Add of two such), and the TreeEnsembleRegressor's trees with
// every test normalised to `x <= t` (plus the side missing values take). The evaluator is built from
// this, never from the trainer's own structures, so it cannot drift from what ONNX Runtime runs.
// A graph outside this shape is refused with the reason; the model is then served by ONNX Runtime.
import { readWireGraph, type WireAttribute, type WireNode } from './onnx-wire.ts';
import { UnsupportedModelError } from './unsupported.ts';

const ML_DOMAIN = 'ai.onnx.ml';
const OUTPUT_NAME = 'prediction';
/** TensorProto element types of the contract's inputs. */
const ELEMENT_FLOAT = 1;
const ELEMENT_STRING = 8;

export type Expression =
  | { kind: 'input'; input: number }
  | { kind: 'encoded'; input: number; keys: string[]; values: number[]; fallback: number }
  | { kind: 'arithmetic'; op: 'Div' | 'Mul' | 'Sub' | 'Add'; a: Expression; b: Expression };

/** One tree, its nodes by position: a branch sends x ≤ threshold left (missing values by nanLeft); a leaf has a value. */
export interface GraphTree {
  feature: Int32Array;
  threshold: Float32Array;
  left: Int32Array;
  right: Int32Array;
  nanLeft: Uint8Array;
  /** 1 for a leaf. */
  leaf: Uint8Array;
  value: Float32Array;
}

export interface TreeGraph {
  inputs: { name: string; type: 'float' | 'string' }[];
  /** The ensemble's feature columns, in the order its feature ids count them. */
  features: Expression[];
  /** Trees in the order ONNX Runtime sums them (ascending tree id). */
  trees: GraphTree[];
  base: number;
}

type Attribute = WireAttribute;
type Node = WireNode;

function attributes(node: Node): Map<string, Attribute> {
  return new Map((node.attribute ?? []).map((a) => [a.name, a]));
}

const text = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');

/** Float attributes arrive as doubles holding float32 values; keep them float32. */
const floats = (a: Attribute | undefined): number[] => Array.from(a?.floats ?? []);

export function readTreeGraph(onnx: Uint8Array): TreeGraph {
  const graph = readWireGraph(onnx);
  const inputs = graph.input.map((i) => {
    if (i.elemType !== ELEMENT_FLOAT && i.elemType !== ELEMENT_STRING)
      throw new UnsupportedModelError(`input "${i.name}" is neither float nor string`);
    return { name: i.name, type: i.elemType === ELEMENT_FLOAT ? ('float' as const) : ('string' as const) };
  });
  const values = new Map<string, Expression>();
  inputs.forEach((input, k) => {
    if (input.type === 'float') values.set(input.name, { kind: 'input', input: k });
  });
  const float = (name: string, where: string): Expression => {
    const e = values.get(name);
    if (!e)
      throw new UnsupportedModelError(`${where} reads "${name}", which is not a float the fast evaluator computes`);
    return e;
  };
  let ensemble: { node: Node; features: Expression[] } | undefined;
  let concat: { output: string; columns: Expression[] } | undefined;
  for (const node of graph.node) {
    const where = `${node.op_type} node`;
    const domain = node.domain;
    if (node.op_type === 'LabelEncoder' && domain === ML_DOMAIN) {
      const a = attributes(node);
      const input = inputs.findIndex((i) => i.name === node.input[0] && i.type === 'string');
      if (input < 0 || !a.get('keys_strings') || !a.get('values_floats'))
        throw new UnsupportedModelError(`${where}: only string inputs to float values are supported`);
      // The operator's default for default_float is -0.0 (ai.onnx.ml LabelEncoder).
      const fallback = a.get('default_float')?.f ?? -0;
      values.set(node.output[0]!, {
        kind: 'encoded',
        input,
        keys: (a.get('keys_strings')!.strings ?? []).map(text),
        values: floats(a.get('values_floats')),
        fallback: Math.fround(fallback),
      });
    } else if (['Div', 'Mul', 'Sub', 'Add'].includes(node.op_type) && domain === '') {
      values.set(node.output[0]!, {
        kind: 'arithmetic',
        op: node.op_type as 'Div',
        a: float(node.input[0]!, where),
        b: float(node.input[1]!, where),
      });
    } else if (node.op_type === 'Concat' && domain === '') {
      if (attributes(node).get('axis')?.i !== 1) throw new UnsupportedModelError(`${where}: only axis 1 is supported`);
      concat = { output: node.output[0]!, columns: node.input.map((n) => float(n, where)) };
    } else if (node.op_type === 'TreeEnsembleRegressor' && domain === ML_DOMAIN) {
      if (!concat || node.input[0] !== concat.output)
        throw new UnsupportedModelError(`${where}: its input is not the Concat of the feature columns`);
      if (node.output[0] !== OUTPUT_NAME)
        throw new UnsupportedModelError(`${where}: its output is not "${OUTPUT_NAME}"`);
      ensemble = { node, features: concat.columns };
    } else {
      throw new UnsupportedModelError(
        `${node.op_type} (${domain || 'ai.onnx'}) is not an operator the fast evaluator knows`,
      );
    }
  }
  if (!ensemble)
    throw new UnsupportedModelError('the graph has no TreeEnsembleRegressor over a Concat of its features');
  return { inputs, features: ensemble.features, ...readEnsemble(ensemble.node, ensemble.features.length) };
}

/** Node modes as `x <= t` tests: LT against the next float32 below t, GT/GTE as the negation (children swapped). */
function normalise(
  mode: string,
  t: number,
  missingTrue: boolean,
): { threshold: number; swap: boolean; nanLeft: boolean } {
  switch (mode) {
    case 'BRANCH_LEQ':
      return { threshold: t, swap: false, nanLeft: missingTrue };
    case 'BRANCH_LT':
      return { threshold: nextDown(t), swap: false, nanLeft: missingTrue };
    case 'BRANCH_GT':
      return { threshold: t, swap: true, nanLeft: !missingTrue };
    case 'BRANCH_GTE':
      return { threshold: nextDown(t), swap: true, nanLeft: !missingTrue };
    default:
      throw new UnsupportedModelError(`tree nodes of mode ${mode} are not supported`);
  }
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The largest float32 below t (t finite). */
export function nextDown(t: number): number {
  if (!Number.isFinite(t)) throw new UnsupportedModelError(`a strict threshold of ${t} is not supported`);
  if (t === 0) return -(2 ** -149);
  f32[0] = t;
  u32[0] = t > 0 ? u32[0]! - 1 : u32[0]! + 1;
  return f32[0]!;
}

const NODE_ID_LIMIT = 2 ** 24;

function readEnsemble(node: Node, width: number): { trees: GraphTree[]; base: number } {
  const a = attributes(node);
  const str = (n: string) => (a.get(n)?.s !== undefined ? text(a.get(n)!.s!) : undefined);
  if ((a.get('n_targets')?.i ?? 1) !== 1) throw new UnsupportedModelError('only one regression target is supported');
  if ((str('aggregate_function') ?? 'SUM') !== 'SUM')
    throw new UnsupportedModelError(`aggregate_function ${str('aggregate_function')} is not supported`);
  if ((str('post_transform') ?? 'NONE') !== 'NONE')
    throw new UnsupportedModelError(`post_transform ${str('post_transform')} is not supported`);
  for (const tensorAttr of ['nodes_values_as_tensor', 'base_values_as_tensor', 'target_weights_as_tensor']) {
    if (a.has(tensorAttr)) throw new UnsupportedModelError(`${tensorAttr} (double precision) is not supported`);
  }
  const ints = (n: string) => a.get(n)?.ints ?? [];
  const treeIds = ints('nodes_treeids'),
    nodeIds = ints('nodes_nodeids'),
    featureIds = ints('nodes_featureids');
  const trueIds = ints('nodes_truenodeids'),
    falseIds = ints('nodes_falsenodeids'),
    missing = ints('nodes_missing_value_tracks_true');
  const modes = (a.get('nodes_modes')?.strings ?? []).map(text);
  const thresholds = floats(a.get('nodes_values'));
  // Leaf weights by (tree, node) as one number: node ids stay below NODE_ID_LIMIT in any model this size.
  const weights = new Map<number, number>();
  const targetTrees = ints('target_treeids'),
    targetNodes = ints('target_nodeids'),
    targetIds = ints('target_ids');
  floats(a.get('target_weights')).forEach((w, k) => {
    if ((targetIds[k] ?? 0) !== 0) throw new UnsupportedModelError('target ids other than 0');
    const key = targetTrees[k]! * NODE_ID_LIMIT + targetNodes[k]!;
    if (targetNodes[k]! >= NODE_ID_LIMIT)
      throw new UnsupportedModelError(`tree ${targetTrees[k]} has node ids of ${NODE_ID_LIMIT} or more`);
    if (weights.has(key))
      throw new UnsupportedModelError(`leaf ${targetTrees[k]}:${targetNodes[k]} has more than one weight`);
    weights.set(key, w);
  });
  const byTree = new Map<number, number[]>();
  treeIds.forEach((t, i) => {
    if (!byTree.has(t)) byTree.set(t, []);
    byTree.get(t)!.push(i);
  });
  const trees = [...byTree.keys()]
    .sort((x, y) => x - y)
    .map((t) => {
      const rows = byTree.get(t)!;
      const position = new Map(rows.map((i, p) => [nodeIds[i]!, p]));
      const n = rows.length;
      const tree: GraphTree = {
        feature: new Int32Array(n),
        threshold: new Float32Array(n),
        left: new Int32Array(n).fill(-1),
        right: new Int32Array(n).fill(-1),
        nanLeft: new Uint8Array(n),
        leaf: new Uint8Array(n),
        value: new Float32Array(n),
      };
      rows.forEach((i, p) => {
        if (modes[i] === 'LEAF') {
          tree.leaf[p] = 1;
          tree.value[p] = weights.get(t * NODE_ID_LIMIT + nodeIds[i]!) ?? 0;
          return;
        }
        const child = (id: number) => {
          const q = position.get(id);
          if (q === undefined)
            throw new UnsupportedModelError(`tree ${t} node ${nodeIds[i]} points at a node that does not exist`);
          return q;
        };
        const test = normalise(modes[i]!, thresholds[i]!, missing[i] === 1);
        if (Number.isNaN(test.threshold)) throw new UnsupportedModelError(`tree ${t} has a NaN threshold`);
        if (featureIds[i]! < 0 || featureIds[i]! >= width)
          throw new UnsupportedModelError(`tree ${t} tests feature ${featureIds[i]} of ${width}`);
        tree.feature[p] = featureIds[i]!;
        tree.threshold[p] = test.threshold;
        tree.left[p] = child(test.swap ? falseIds[i]! : trueIds[i]!);
        tree.right[p] = child(test.swap ? trueIds[i]! : falseIds[i]!);
        tree.nanLeft[p] = test.nanLeft ? 1 : 0;
      });
      if (!position.has(0)) throw new UnsupportedModelError(`tree ${t} has no root (node 0)`);
      return rootFirst(tree, position.get(0)!);
    });
  const base = floats(a.get('base_values'));
  if (base.length > 1) throw new UnsupportedModelError('more than one base value');
  return { trees, base: base[0] ?? 0 };
}

/** The tree with its root at position 0 (the order of the attribute arrays is free). */
function rootFirst(tree: GraphTree, root: number): GraphTree {
  if (root === 0) return tree;
  const n = tree.feature.length;
  const order = [root, ...Array.from({ length: n }, (_, i) => i).filter((i) => i !== root)];
  const at = new Int32Array(n);
  order.forEach((old, p) => {
    at[old] = p;
  });
  const pick = <T extends Int32Array | Float32Array | Uint8Array>(src: T, map?: boolean): T => {
    const out = new (src.constructor as new (n: number) => T)(n);
    order.forEach((old, p) => {
      const v = src[old]!;
      out[p] = map && v >= 0 ? at[v]! : v;
    });
    return out;
  };
  return {
    feature: pick(tree.feature),
    threshold: pick(tree.threshold),
    left: pick(tree.left, true),
    right: pick(tree.right, true),
    nanLeft: pick(tree.nanLeft),
    leaf: pick(tree.leaf),
    value: pick(tree.value),
  };
}
