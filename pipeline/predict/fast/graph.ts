// Reads the ONNX graph a registry model version holds into what the fast evaluator computes: per
// graph input its type, each tree feature as an expression over the inputs (an input, a LabelEncoder
// of a string input, or Div/Mul/Sub/Add of two such), and the TreeEnsembleRegressor's trees with
// every test normalised to `x <= t` (plus the side missing values take). The evaluator is built from
// this, never from the trainer's own structures, so it cannot drift from what ONNX Runtime runs.
// A graph outside this shape is refused with the reason; the model is then served by ONNX Runtime.
import { readWireGraph, spanCount, spanText, type WireAttribute, type WireNode, type WireSpans } from './onnx-wire.ts';
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

/**
 * One tree, its nodes by position: a branch sends x ≤ threshold left (missing values by nanLeft); a leaf has a value.
 */
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
  /** The output clips the sum below at 0 (a Relu after the ensemble, as the loss estimator's heads). */
  relu: boolean;
}

type Attribute = WireAttribute;
type Node = WireNode;

function attributes(node: Node): Map<string, Attribute> {
  return new Map((node.attribute ?? []).map((a) => [a.name, a]));
}

const text = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');

/** A repeated string attribute's values. */
const stringsOf = (spans: WireSpans | undefined): string[] =>
  spans ? Array.from({ length: spanCount(spans) }, (_, k) => spanText(spans, k)) : [];

/** Float attributes arrive as doubles holding float32 values; keep them float32. */
const floats = (a: Attribute | undefined): number[] => Array.from(a?.floats ?? []);

/**
 * The tree model giving `output` (the model's prediction unless another head is named), as the fast evaluator computes
 * it.
 */
export function readTreeGraph(onnx: Uint8Array, output = OUTPUT_NAME): TreeGraph {
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
  // Ensembles and Relus by output name: a graph may have several heads over one set of features.
  const ensembles = new Map<string, { node: Node; features: Expression[] }>();
  const relus = new Map<string, string>();
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
        keys: stringsOf(a.get('keys_strings')!.strings),
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
      ensembles.set(node.output[0]!, { node, features: concat.columns });
    } else if (node.op_type === 'Relu' && domain === '') {
      relus.set(node.output[0]!, node.input[0]!);
    } else {
      throw new UnsupportedModelError(
        `${node.op_type} (${domain || 'ai.onnx'}) is not an operator the fast evaluator knows`,
      );
    }
  }
  const relu = relus.has(output);
  const ensemble = ensembles.get(relus.get(output) ?? output);
  if (!ensemble)
    throw new UnsupportedModelError(
      `the graph has no TreeEnsembleRegressor over a Concat of its features giving "${output}"`,
    );
  return { inputs, features: ensemble.features, relu, ...readEnsemble(ensemble.node, ensemble.features.length) };
}

/** The node modes a tree ensemble may use, by code (the order of `normalise`'s cases). */
const MODES = ['LEAF', 'BRANCH_LEQ', 'BRANCH_LT', 'BRANCH_GT', 'BRANCH_GTE'] as const;
const LEAF = 0;
const MODE_BYTES = MODES.map((m) => Buffer.from(m, 'latin1'));
const UNKNOWN_MODE = 255;

/**
 * Which mode a span can be, by its length and its byte at index MODE_PICK_BYTE (or its last): one full compare each.
 */
const MODE_PICK_BYTE = 7;
const modeKey = (length: number, pick: number) => length * 256 + pick;
const MODE_BY_KEY = new Map(
  MODE_BYTES.map((b, m) => [modeKey(b.length, b[Math.min(MODE_PICK_BYTE, b.length - 1)]!), m]),
);

/** Each node's mode as its index in MODES (UNKNOWN_MODE for any other), compared as bytes. */
function modeCodes(spans: WireSpans | undefined): Uint8Array {
  const n = spans ? spanCount(spans) : 0;
  const out = new Uint8Array(n).fill(UNKNOWN_MODE);
  if (!spans) return out;
  const { buf, at } = spans;
  for (let k = 0; k < n; k++) {
    const start = at[2 * k]!,
      length = at[2 * k + 1]! - start;
    if (length === 0) continue;
    const m = MODE_BY_KEY.get(modeKey(length, buf[start + Math.min(MODE_PICK_BYTE, length - 1)]!));
    if (m === undefined) continue;
    const want = MODE_BYTES[m]!;
    let j = 0;
    while (j < length && buf[start + j] === want[j]) j++;
    if (j === length) out[k] = m;
  }
  return out;
}

// Node modes as `x <= t` tests: LT and GTE against the next float32 below t (strict), GT and GTE as the
// negation of LEQ and LT (children swapped, missing values to the other side).
const STRICT = Uint8Array.from(MODES, (m) => (m === 'BRANCH_LT' || m === 'BRANCH_GTE' ? 1 : 0));
const NEGATED = Uint8Array.from(MODES, (m) => (m === 'BRANCH_GT' || m === 'BRANCH_GTE' ? 1 : 0));

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The largest float32 below t (t finite). */
function nextDown(t: number): number {
  if (!Number.isFinite(t)) throw new UnsupportedModelError(`a strict threshold of ${t} is not supported`);
  if (t === 0) return -(2 ** -149);
  f32[0] = t;
  u32[0] = t > 0 ? u32[0]! - 1 : u32[0]! + 1;
  return f32[0]!;
}

/** Node ids up to this many times a tree's node count are indexed by an array; sparser ones by a map. */
const DENSE_IDS = 8;

/** Where each node id of one tree sits among its nodes (-1: no such node). */
function positions(nodeIds: ArrayLike<number>, rows: readonly number[]): (id: number) => number {
  let max = -1;
  for (const i of rows) if (nodeIds[i]! > max) max = nodeIds[i]!;
  if (max < DENSE_IDS * rows.length + 64) {
    const at = new Int32Array(max + 1).fill(-1);
    rows.forEach((i, p) => {
      at[nodeIds[i]!] = p;
    });
    return (id) => (id >= 0 && id <= max ? at[id]! : -1);
  }
  const at = new Map(rows.map((i, p) => [nodeIds[i]!, p]));
  return (id) => at.get(id) ?? -1;
}

/** Indices of `ids` grouped by value, groups in ascending value. */
function groupBy(ids: ArrayLike<number>): [number, number[]][] {
  const groups = new Map<number, number[]>();
  let previous = Number.NaN;
  let group: number[] = [];
  for (let i = 0; i < ids.length; i++) {
    const t = ids[i]!;
    // Ids come in runs (a tree's nodes together): one map lookup per run.
    if (t !== previous) {
      previous = t;
      group = groups.get(t) ?? [];
      groups.set(t, group);
    }
    group.push(i);
  }
  return [...groups].sort((x, y) => x[0] - y[0]);
}

/** The ensemble's per-node attribute arrays (index i: the i-th node of the attributes). */
interface NodeColumns {
  nodeIds: ArrayLike<number>;
  featureIds: ArrayLike<number>;
  trueIds: ArrayLike<number>;
  falseIds: ArrayLike<number>;
  missing: ArrayLike<number>;
  modes: Uint8Array;
  thresholds: Float32Array;
}

/** Tree `t` from its nodes' attribute indices `rows`; leaf values are filled in by the caller. */
function readTree(
  t: number,
  rows: readonly number[],
  position: (id: number) => number,
  c: NodeColumns,
  width: number,
): GraphTree {
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
  for (let p = 0; p < n; p++) {
    const i = rows[p]!;
    const mode = c.modes[i]!;
    if (mode === LEAF) {
      tree.leaf[p] = 1;
      continue;
    }
    if (mode === UNKNOWN_MODE)
      throw new UnsupportedModelError('tree nodes of modes other than LEAF and BRANCH_LEQ/LT/GT/GTE are not supported');
    const threshold = STRICT[mode] ? nextDown(c.thresholds[i]!) : c.thresholds[i]!;
    if (Number.isNaN(threshold)) throw new UnsupportedModelError(`tree ${t} has a NaN threshold`);
    const feature = c.featureIds[i]!;
    if (feature < 0 || feature >= width)
      throw new UnsupportedModelError(`tree ${t} tests feature ${feature} of ${width}`);
    const negated = NEGATED[mode] === 1;
    const left = position(negated ? c.falseIds[i]! : c.trueIds[i]!),
      right = position(negated ? c.trueIds[i]! : c.falseIds[i]!);
    if (left < 0 || right < 0)
      throw new UnsupportedModelError(`tree ${t} node ${c.nodeIds[i]} points at a node that does not exist`);
    tree.feature[p] = feature;
    tree.threshold[p] = threshold;
    tree.left[p] = left;
    tree.right[p] = right;
    tree.nanLeft[p] = (c.missing[i] === 1) !== negated ? 1 : 0;
  }
  return tree;
}

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
  const modes = modeCodes(a.get('nodes_modes')?.strings);
  const thresholds = a.get('nodes_values')?.floats ?? new Float32Array(0);
  const count = treeIds.length;
  if ([nodeIds, featureIds, trueIds, falseIds].some((x) => x.length !== count) || modes.length !== count)
    throw new UnsupportedModelError("the tree ensemble's node attributes differ in length");
  const targetTrees = ints('target_treeids'),
    targetNodes = ints('target_nodeids'),
    targetIds = ints('target_ids');
  const weights = a.get('target_weights')?.floats ?? new Float32Array(0);
  const leavesOf = new Map(groupBy(targetTrees));
  const nodes: NodeColumns = { nodeIds, featureIds, trueIds, falseIds, missing, modes, thresholds };
  const trees = groupBy(treeIds).map(([t, rows]): GraphTree => {
    const position = positions(nodeIds, rows);
    const tree = readTree(t, rows, position, nodes, width);
    // Leaf values: the weight of each (tree, leaf) target; a leaf without one is 0, as in ONNX Runtime.
    const weighted = new Uint8Array(rows.length);
    for (const k of leavesOf.get(t) ?? []) {
      if ((targetIds[k] ?? 0) !== 0) throw new UnsupportedModelError('target ids other than 0');
      const p = position(targetNodes[k]!);
      if (p < 0 || !tree.leaf[p]) continue;
      if (weighted[p]) throw new UnsupportedModelError(`leaf ${t}:${targetNodes[k]} has more than one weight`);
      weighted[p] = 1;
      tree.value[p] = weights[k]!;
    }
    const root = position(0);
    if (root < 0) throw new UnsupportedModelError(`tree ${t} has no root (node 0)`);
    return rootFirst(tree, root);
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
