// Graph → ONNX ModelProto bytes.
import { EngineError } from '../errors.js';
import type { Attr, ConstTensor, Dim, Graph, TensorRef } from '../graph.js';
import { makeData, ONNX_DTYPE, type TensorData, toRawBytes } from './dtype.js';
import { onnx, type OnnxTypes } from './proto.js';

export interface SerializeOptions {
  /**
   * Params and buffers that become graph inputs instead of embedded initializers (a training session feeds
   * them every step): true for all of them, or a list of names. Default: none (all embedded).
   */
  stateAsInputs?: boolean | readonly string[];
  /** Values to embed instead of the initial ones (trained weights), by param/buffer name. */
  stateValues?: ReadonlyMap<string, TensorData>;
  /** Extra graph outputs (e.g. gradients) on top of g.outputs(). */
  extraOutputs?: readonly TensorRef[];
  /** Replaces g.outputs() (e.g. a forward-only model of a graph that also holds gradients). */
  outputs?: readonly TensorRef[];
  metadata?: Readonly<Record<string, string>>;
  docString?: string;
}

const ATTR_TYPE = onnx.AttributeProto.AttributeType;

/** IR version that goes with an opset (onnx/helper.py VERSION_TABLE). */
export function irVersionFor(opset: number): number {
  return opset <= 18 ? 8 : opset <= 20 ? 9 : 10;
}

export function valueInfo(name: string, t: { dtype: TensorRef['dtype']; shape: readonly Dim[] }): OnnxTypes.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ONNX_DTYPE[t.dtype],
        shape: { dim: t.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

export function tensorProto(name: string, t: ConstTensor): OnnxTypes.ITensorProto {
  return { name, dims: [...t.shape], dataType: ONNX_DTYPE[t.dtype], rawData: toRawBytes(t.data) };
}

function attributeProto(name: string, a: Attr): OnnxTypes.IAttributeProto {
  switch (a.type) {
    case 'int':
      return { name, type: ATTR_TYPE.INT, i: a.value };
    case 'float':
      return { name, type: ATTR_TYPE.FLOAT, f: a.value };
    case 'string':
      return { name, type: ATTR_TYPE.STRING, s: new TextEncoder().encode(a.value) };
    case 'ints':
      return { name, type: ATTR_TYPE.INTS, ints: [...a.value] };
    case 'floats':
      return { name, type: ATTR_TYPE.FLOATS, floats: [...a.value] };
    case 'strings':
      return { name, type: ATTR_TYPE.STRINGS, strings: a.value.map((s) => new TextEncoder().encode(s)) };
    case 'tensor':
      return { name, type: ATTR_TYPE.TENSOR, t: tensorProto('', a.value) };
  }
}

export function modelProto(g: Graph, opts: SerializeOptions = {}): OnnxTypes.IModelProto {
  const asInput = (name: string): boolean => opts.stateAsInputs === true || (Array.isArray(opts.stateAsInputs) && opts.stateAsInputs.includes(name));
  const inputs: OnnxTypes.IValueInfoProto[] = g.inputs().map((t) => valueInfo(t.name, t));
  const initializers: OnnxTypes.ITensorProto[] = [];
  for (const p of g.state()) {
    if (asInput(p.name)) {
      inputs.push(valueInfo(p.name, p));
      continue;
    }
    const override = opts.stateValues?.get(p.name);
    if (override && override.length !== p.shape.reduce((a, b) => a * b, 1)) {
      throw new EngineError('shape_mismatch', `stateValues['${p.name}'] has ${override.length} values, the ${p.kind} is [${p.shape.join(', ')}]`);
    }
    const data = override ? makeData(p.dtype, override as ArrayLike<number>) : p.values();
    initializers.push(tensorProto(p.name, { dtype: p.dtype, shape: p.shape, data }));
  }
  for (const [name, c] of g.constants()) initializers.push(tensorProto(name, c));
  const outputs = [...(opts.outputs ?? g.outputs()), ...(opts.extraOutputs ?? [])];
  if (outputs.length === 0) throw new EngineError('invalid_model', `graph '${g.name}' has no outputs`);
  const graph: OnnxTypes.IGraphProto = {
    name: g.name,
    node: g.nodes().map((n) => ({
      name: n.name,
      opType: n.opType,
      domain: n.domain,
      input: [...n.inputs],
      output: [...n.outputs],
      attribute: Object.entries(n.attrs).map(([k, a]) => attributeProto(k, a)),
    })),
    initializer: initializers,
    input: inputs,
    output: outputs.map((t) => valueInfo(t.name, t)),
  };
  return {
    irVersion: irVersionFor(g.opset),
    opsetImport: [{ domain: '', version: g.opset }],
    producerName: 'secondread-engine',
    producerVersion: '1',
    docString: opts.docString,
    graph,
    metadataProps: Object.entries(opts.metadata ?? {}).map(([key, value]) => ({ key, value })),
  };
}

/** Serializes the graph to ONNX ModelProto bytes (loadable by onnxruntime's InferenceSession.create). */
export function serialize(g: Graph, opts: SerializeOptions = {}): Uint8Array {
  return onnx.ModelProto.encode(onnx.ModelProto.create(modelProto(g, opts))).finish();
}
