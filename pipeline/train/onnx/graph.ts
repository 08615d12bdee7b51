// Small builders for ONNX graph pieces as plain objects in the shape of the descriptor in proto.ts.
import { DataType } from './proto.ts';

export type Attribute = Record<string, unknown>;
export interface NodeSpec {
  op_type: string;
  domain?: string;
  input: string[];
  output: string[];
  attribute: Attribute[];
  name: string;
}

const utf8 = new TextEncoder();
export const ML_DOMAIN = 'ai.onnx.ml';

export const attr = {
  float: (name: string, f: number): Attribute => ({ name, type: 'FLOAT', f }),
  int: (name: string, i: number): Attribute => ({ name, type: 'INT', i }),
  string: (name: string, s: string): Attribute => ({ name, type: 'STRING', s: utf8.encode(s) }),
  floats: (name: string, floats: ArrayLike<number>): Attribute => ({
    name,
    type: 'FLOATS',
    floats: Array.from(floats),
  }),
  ints: (name: string, ints: ArrayLike<number>): Attribute => ({ name, type: 'INTS', ints: Array.from(ints) }),
  strings: (name: string, strings: string[]): Attribute => ({
    name,
    type: 'STRINGS',
    strings: strings.map((s) => utf8.encode(s)),
  }),
};

/** Collects nodes and initializers; node names are unique by construction. */
export class GraphBuilder {
  readonly nodes: NodeSpec[] = [];
  readonly initializers: Record<string, unknown>[] = [];

  add(op_type: string, input: string[], output: string[], attribute: Attribute[] = [], domain?: string): string {
    this.nodes.push({
      op_type,
      input,
      output,
      attribute,
      name: `${op_type}_${this.nodes.length}`,
      ...(domain ? { domain } : {}),
    });
    return output[0]!;
  }

  floatConstant(name: string, dims: number[], values: ArrayLike<number>): string {
    this.initializers.push({ name, dims, data_type: DataType.FLOAT, float_data: Array.from(values) });
    return name;
  }
}

/** A [N, 1] tensor value info with symbolic batch dimension N. */
export function columnValueInfo(name: string, elemType: number): Record<string, unknown> {
  return {
    name,
    type: { tensor_type: { elem_type: elemType, shape: { dim: [{ dim_param: 'N' }, { dim_value: 1 }] } } },
  };
}
