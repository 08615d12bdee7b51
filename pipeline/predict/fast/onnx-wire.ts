// Reads the graph of an ONNX model straight from protobuf wire format: node op types, domains,
// inputs, outputs and attributes, and the graph inputs' element types — all the fast evaluator needs,
// with repeated numbers read into plain arrays in one pass. Loading a model this way costs a few
// milliseconds where a general decoder (module load, a message object per node) costs a hundred or
// more at every model load. Field numbers come from the trainer's ONNX descriptor (named once).
import { ONNX_DESCRIPTOR } from '../../train/index.ts';
import { UnsupportedModelError } from './unsupported.ts';

const M = ONNX_DESCRIPTOR.nested.onnx.nested;
const F = {
  modelGraph: M.ModelProto.fields.graph.id,
  graphNode: M.GraphProto.fields.node.id,
  graphInput: M.GraphProto.fields.input.id,
  nodeInput: M.NodeProto.fields.input.id,
  nodeOutput: M.NodeProto.fields.output.id,
  nodeOpType: M.NodeProto.fields.op_type.id,
  nodeAttribute: M.NodeProto.fields.attribute.id,
  nodeDomain: M.NodeProto.fields.domain.id,
  attrName: M.AttributeProto.fields.name.id,
  attrF: M.AttributeProto.fields.f.id,
  attrI: M.AttributeProto.fields.i.id,
  attrS: M.AttributeProto.fields.s.id,
  attrT: M.AttributeProto.fields.t.id,
  attrFloats: M.AttributeProto.fields.floats.id,
  attrInts: M.AttributeProto.fields.ints.id,
  attrStrings: M.AttributeProto.fields.strings.id,
  valueName: M.ValueInfoProto.fields.name.id,
  valueType: M.ValueInfoProto.fields.type.id,
  typeTensor: M.TypeProto.fields.tensor_type.id,
  tensorElemType: M.TypeProtoTensor.fields.elem_type.id,
} as const;

/** Protobuf wire types. */
const VARINT = 0,
  FIXED64 = 1,
  LENGTH_DELIMITED = 2,
  FIXED32 = 5;
const TWO_32 = 2 ** 32;

/**
 * A repeated bytes field as spans of the model's bytes, item k at buf[at[2k], at[2k+1]): a tree
 * ensemble repeats its node modes once per node, so they are compared as bytes, never decoded one by one.
 */
export interface WireSpans {
  buf: Uint8Array;
  at: number[];
}

export const spanCount = (s: WireSpans): number => s.at.length >> 1;

export function spanText(s: WireSpans, k: number): string {
  const start = s.at[2 * k]!;
  return Buffer.from(s.buf.buffer, s.buf.byteOffset + start, s.at[2 * k + 1]! - start).toString('utf8');
}

export interface WireAttribute {
  name: string;
  f?: number;
  i?: number;
  s?: Uint8Array;
  floats?: Float32Array;
  ints?: ArrayLike<number>;
  strings?: WireSpans;
  tensor?: boolean;
}
export interface WireNode {
  op_type: string;
  domain: string;
  input: string[];
  output: string[];
  attribute: WireAttribute[];
}
export interface WireGraph {
  node: WireNode[];
  input: { name: string; elemType: number | undefined }[];
}

class Reader {
  pos: number;
  private readonly view: DataView;
  constructor(
    readonly buf: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  private fail(): never {
    throw new UnsupportedModelError('the ONNX model is not valid protobuf (truncated or corrupt)');
  }

  /** A varint as a number (int64 two's complement read as a signed value; ids and counts stay exact below 2^53). */
  varint(): number {
    // Up to four bytes (below 2^28, every id and flag of a tree ensemble): a small integer, no float arithmetic.
    const buf = this.buf;
    let pos = this.pos;
    let value = 0;
    for (let shift = 0; shift < 28 && pos < this.end; shift += 7) {
      const b = buf[pos++]!;
      value |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.pos = pos;
        return value;
      }
    }
    return this.longVarint();
  }

  private longVarint(): number {
    let lo = 0,
      hi = 0,
      shift = 0;
    for (;;) {
      if (this.pos >= this.end) this.fail();
      const b = this.buf[this.pos++]!;
      if (shift < 28) lo |= (b & 0x7f) << shift;
      else if (shift === 28) {
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >> 4;
      } else hi |= (b & 0x7f) << (shift - 32);
      if (b < 0x80) break;
      shift += 7;
      if (shift > 63) this.fail();
    }
    return (hi | 0) * TWO_32 + (lo >>> 0);
  }

  float(): number {
    if (this.pos + 4 > this.end) this.fail();
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  /** Moves past a length-delimited field's payload; its start (its end is the new position). */
  skipPayload(): number {
    const length = this.varint();
    const start = this.pos;
    if (start + length > this.end) this.fail();
    this.pos = start + length;
    return start;
  }

  /** The [start, end) of a length-delimited field's payload; moves past it. */
  span(): [number, number] {
    const length = this.varint();
    const start = this.pos;
    if (start + length > this.end) this.fail();
    this.pos = start + length;
    return [start, this.pos];
  }

  /** A packed run of varints: counted first (one terminating byte each), then read into one array. */
  packedVarints(): Float64Array {
    const start = this.skipPayload();
    const end = this.pos;
    const buf = this.buf;
    let count = 0;
    for (let i = start; i < end; i++) if (buf[i]! < 0x80) count++;
    const out = new Float64Array(count);
    let k = 0;
    this.pos = start;
    while (this.pos < end) out[k++] = this.varint();
    if (this.pos !== end) this.fail(); // the last varint ran past its field
    return out;
  }

  /** A packed run of little-endian float32s (the host is little-endian, as every platform Node runs on). */
  spanFloats(): Float32Array {
    const [s, e] = this.span();
    if ((e - s) % 4 !== 0) this.fail();
    return new Float32Array(this.buf.buffer.slice(this.buf.byteOffset + s, this.buf.byteOffset + e));
  }

  text(): string {
    const [s, e] = this.span();
    return Buffer.from(this.buf.buffer, this.buf.byteOffset + s, e - s).toString('utf8');
  }

  skip(wire: number): void {
    if (wire === VARINT) this.varint();
    else if (wire === FIXED64) this.pos += 8;
    else if (wire === LENGTH_DELIMITED) this.span();
    else if (wire === FIXED32) this.pos += 4;
    else this.fail();
  }

  /** Calls `field` for each field of the message spanning [pos, end). */
  fields(field: (id: number, wire: number) => void): void {
    while (this.pos < this.end) {
      const key = this.varint();
      field(Math.floor(key / 8), key & 7);
    }
  }

  sub(): Reader {
    const [s, e] = this.span();
    return new Reader(this.buf, s, e);
  }
}

function attribute(r: Reader): WireAttribute {
  const a: WireAttribute = { name: '' };
  // One loop, no callback per field: a tree ensemble's attributes repeat a field per node.
  while (r.pos < r.end) {
    const key = r.varint();
    const id = Math.floor(key / 8),
      wire = key & 7;
    if (id === F.attrName) a.name = r.text();
    else if (id === F.attrF && wire === FIXED32) a.f = r.float();
    else if (id === F.attrI && wire === VARINT) a.i = r.varint();
    else if (id === F.attrS) {
      const [s, e] = r.span();
      a.s = r.buf.subarray(s, e);
    } else if (id === F.attrT) {
      a.tensor = true;
      r.skip(wire);
    } else if (id === F.attrFloats) {
      // Packed: little-endian float32s, copied out whole (an aligned copy is one native call, not a loop).
      const more = wire === LENGTH_DELIMITED ? r.spanFloats() : Float32Array.of(r.float());
      a.floats = a.floats ? Float32Array.from([...a.floats, ...more]) : more;
    } else if (id === F.attrInts) {
      const more = wire === LENGTH_DELIMITED ? r.packedVarints() : Float64Array.of(r.varint());
      a.ints = a.ints ? Float64Array.from([...Array.from(a.ints), ...more]) : more;
    } else if (id === F.attrStrings) {
      const at = a.strings?.at ?? [];
      a.strings = { buf: r.buf, at };
      // A repeated field's items follow one another: read the run in one loop (one key byte each).
      for (;;) {
        const start = r.skipPayload();
        at.push(start, r.pos);
        if (key >= 0x80 || r.pos >= r.end || r.buf[r.pos] !== key) break;
        r.pos++;
      }
    } else r.skip(wire);
  }
  return a;
}

function node(r: Reader): WireNode {
  const n: WireNode = { op_type: '', domain: '', input: [], output: [], attribute: [] };
  r.fields((id, wire) => {
    if (id === F.nodeInput) n.input.push(r.text());
    else if (id === F.nodeOutput) n.output.push(r.text());
    else if (id === F.nodeOpType) n.op_type = r.text();
    else if (id === F.nodeDomain) n.domain = r.text();
    else if (id === F.nodeAttribute) n.attribute.push(attribute(r.sub()));
    else r.skip(wire);
  });
  return n;
}

/** A graph input's name and tensor element type (undefined when it is not a tensor). */
function valueInfo(r: Reader): WireGraph['input'][number] {
  let name = '',
    elemType: number | undefined;
  r.fields((id, wire) => {
    if (id === F.valueName) name = r.text();
    else if (id === F.valueType) {
      const t = r.sub();
      t.fields((tid, twire) => {
        if (tid !== F.typeTensor) {
          t.skip(twire);
          return;
        }
        const tensor = t.sub();
        tensor.fields((fid, fwire) => {
          if (fid === F.tensorElemType) elemType = tensor.varint();
          else tensor.skip(fwire);
        });
      });
    } else r.skip(wire);
  });
  return { name, elemType };
}

export function readWireGraph(onnx: Uint8Array): WireGraph {
  const graph: WireGraph = { node: [], input: [] };
  let found = false;
  const model = new Reader(onnx, 0, onnx.length);
  model.fields((id, wire) => {
    if (id !== F.modelGraph || wire !== LENGTH_DELIMITED) {
      model.skip(wire);
      return;
    }
    found = true;
    const g = model.sub();
    g.fields((gid, gwire) => {
      if (gid === F.graphNode) graph.node.push(node(g.sub()));
      else if (gid === F.graphInput) graph.input.push(valueInfo(g.sub()));
      else g.skip(gwire);
    });
  });
  if (!found) throw new UnsupportedModelError('the model has no graph');
  return graph;
}
