// ONNX ModelProto bytes → a plain, typed description (nodes, attributes, initializers, inputs, outputs).
import { EngineError } from '../errors.js';
import type { Attr, ConstTensor, Dim, DType } from '../graph.js';
import { dtypeFromOnnx, fromRawBytes, makeData } from './dtype.js';
import { onnx, type OnnxTypes } from './proto.js';

export interface DecodedValue {
  name: string;
  dtype: DType;
  shape: Dim[];
}
export interface DecodedNode {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attrs: Record<string, Attr>;
}
export interface DecodedModel {
  irVersion: number;
  opset: number;
  producerName: string;
  metadata: Record<string, string>;
  name: string;
  nodes: DecodedNode[];
  inputs: DecodedValue[];
  outputs: DecodedValue[];
  initializers: Map<string, ConstTensor>;
}

const num = (v: number | { toNumber(): number } | null | undefined): number => (v == null ? 0 : typeof v === 'number' ? v : v.toNumber());
const ATTR_TYPE = onnx.AttributeProto.AttributeType;

export function decodeTensor(t: OnnxTypes.ITensorProto): ConstTensor {
  const dtype = dtypeFromOnnx(t.dataType ?? 0);
  const shape = (t.dims ?? []).map(num);
  const n = shape.reduce((a, b) => a * b, 1);
  if (t.rawData && t.rawData.length > 0) return { dtype, shape, data: fromRawBytes(dtype, t.rawData) };
  const typed = t.floatData?.length ? t.floatData : t.doubleData?.length ? t.doubleData : t.int32Data?.length ? t.int32Data : undefined;
  if (typed) return { dtype, shape, data: makeData(dtype, typed, n) };
  if (t.int64Data?.length) return { dtype, shape, data: makeData(dtype, t.int64Data.map(num), n) };
  if (n === 0) return { dtype, shape, data: makeData(dtype, [], 0) };
  throw new EngineError('invalid_model', `tensor '${t.name}' has no data the engine can read (external data is not supported)`);
}

function decodeAttr(a: OnnxTypes.IAttributeProto): Attr {
  const dec = new TextDecoder();
  switch (a.type) {
    case ATTR_TYPE.INT:
      return { type: 'int', value: num(a.i) };
    case ATTR_TYPE.FLOAT:
      return { type: 'float', value: a.f ?? 0 };
    case ATTR_TYPE.STRING:
      return { type: 'string', value: dec.decode(a.s ?? new Uint8Array()) };
    case ATTR_TYPE.INTS:
      return { type: 'ints', value: (a.ints ?? []).map(num) };
    case ATTR_TYPE.FLOATS:
      return { type: 'floats', value: [...(a.floats ?? [])] };
    case ATTR_TYPE.STRINGS:
      return { type: 'strings', value: (a.strings ?? []).map((s) => dec.decode(s)) };
    case ATTR_TYPE.TENSOR:
      return { type: 'tensor', value: decodeTensor(a.t ?? {}) };
    default:
      throw new EngineError('invalid_model', `attribute '${a.name}' has an unsupported type ${a.type}`);
  }
}

function decodeValue(v: OnnxTypes.IValueInfoProto): DecodedValue {
  const tt = v.type?.tensorType;
  if (!tt) throw new EngineError('invalid_model', `value '${v.name}' is not a tensor`);
  return {
    name: v.name ?? '',
    dtype: dtypeFromOnnx(tt.elemType ?? 0),
    shape: (tt.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : num(d.dimValue))),
  };
}

export function decodeModel(bytes: Uint8Array): DecodedModel {
  let m: OnnxTypes.ModelProto;
  try {
    m = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new EngineError('invalid_model', `not an ONNX model: ${(err as Error).message}`);
  }
  const g = m.graph;
  if (!g) throw new EngineError('invalid_model', 'the model has no graph');
  const opset = m.opsetImport.find((o) => !o.domain)?.version;
  return {
    irVersion: num(m.irVersion),
    opset: num(opset),
    producerName: m.producerName,
    metadata: Object.fromEntries(m.metadataProps.map((p) => [p.key ?? '', p.value ?? ''])),
    name: g.name ?? '',
    nodes: (g.node ?? []).map((n) => ({
      name: n.name ?? '',
      opType: n.opType ?? '',
      domain: n.domain ?? '',
      inputs: [...(n.input ?? [])],
      outputs: [...(n.output ?? [])],
      attrs: Object.fromEntries((n.attribute ?? []).map((a) => [a.name ?? '', decodeAttr(a)])),
    })),
    inputs: (g.input ?? []).map(decodeValue),
    outputs: (g.output ?? []).map(decodeValue),
    initializers: new Map((g.initializer ?? []).map((t) => [t.name ?? '', decodeTensor(t)])),
  };
}
