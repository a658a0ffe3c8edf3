// Dynamic INT8 quantization of an inference model's matrix products, on its ModelProto.
//
// Every MatMul / Gemm whose right operand is a constant float32 2-D initializer W [K, N] gets 8-bit
// weights (weights.ts) and computes on 8-bit activations quantized per batch at run time:
//
//   'integer' form (onnxruntime's own dynamic quantizer writes this):
//     x ─ DynamicQuantizeLinear ─ x_q, x_scale, x_zp
//     MatMulInteger(x_q, W_q, x_zp, W_zp) ─ Cast(float) ─ Mul( · , Mul(x_scale, W_scale)) [─ Add(bias)]
//   'qdq' form (the same arithmetic as Quantize/Dequantize pairs around a float MatMul):
//     DequantizeLinear(x_q, x_scale, x_zp), DequantizeLinear(W_q, W_scale, W_zp) ─ MatMul [─ Add(bias)]
//
// ONNX Runtime's CPU provider fuses both shapes into one DynamicQuantizeMatMul kernel (u8 activations ×
// s8/u8 weights, weights pre-packed at load) — the nodes are written in exactly the order its fusions
// match (MatMulIntegerToFloatFusion, DynamicQuantizeMatMulFusion): scales multiplied as (x_scale,
// W_scale), the bias as the Add's second input, one DynamicQuantizeLinear per product.
// Left alone (reported as skipped): products whose weight is not a constant (an activation, or an
// initializer that is also a graph input and so can be overridden), not float32 2-D, smaller than
// `minWeightElements`, or a Gemm with transA. Convolutions stay float. metadata_props are kept and
// `secondread.quantization` records what was done.
import { EngineError } from '../errors.js';
import { dropUnused } from '../export/prune.js';
import { decodeTensor } from '../onnx/deserialize.js';
import { onnx, type OnnxTypes } from '../onnx/proto.js';
import { type QuantizedWeight, quantizeWeight, type WeightQuantization, type WeightType } from './weights.js';

type Graph = OnnxTypes.IGraphProto;
type Node = OnnxTypes.INodeProto;
type Tensor = OnnxTypes.ITensorProto;

export type QuantizedForm = 'integer' | 'qdq';

export interface QuantizeOptions {
  /** Graph form (default 'integer'; both run as the same fused kernel in ONNX Runtime, see docs/quantization.md). */
  form?: QuantizedForm;
  weightType?: WeightType;
  /** One scale per output column (default true). */
  perChannel?: boolean;
  /** 7-bit weights, against u8×s8 saturation on x86 without VNNI (default true for int8). */
  reduceRange?: boolean;
  /** Weights with fewer elements stay float: the per-call quantization of the activation costs more than it saves. */
  minWeightElements?: number;
}

export interface QuantizedProduct {
  node: string;
  op: 'MatMul' | 'Gemm';
  weight: string;
  shape: [number, number];
}

export interface SkippedProduct {
  node: string;
  op: string;
  reason: string;
}

export interface QuantizeReport {
  form: QuantizedForm;
  weights: WeightQuantization;
  quantized: QuantizedProduct[];
  skipped: SkippedProduct[];
  /** Bytes of float weights replaced and of the 8-bit values + scales + zero points replacing them. */
  floatWeightBytes: number;
  quantizedWeightBytes: number;
}

export interface QuantizedModel {
  bytes: Uint8Array;
  report: QuantizeReport;
}

/** metadata_props key recording the quantization (JSON: method, form, weights, counts). */
export const QUANTIZATION_METADATA_KEY = 'secondread.quantization';
export const QUANTIZATION_METHOD = 'int8-dynamic';
export const DEFAULT_MIN_WEIGHT_ELEMENTS = 1024;

const ONNX_FLOAT = onnx.TensorProto.DataType.FLOAT;
const ONNX_INT8 = onnx.TensorProto.DataType.INT8;
const ONNX_UINT8 = onnx.TensorProto.DataType.UINT8;
/** DynamicQuantizeLinear appeared in opset 11. */
const MIN_OPSET = 11;

function attrInt(n: Node, name: string, dflt: number): number {
  const a = (n.attribute ?? []).find((x) => x.name === name);
  return a?.i == null ? dflt : Number(a.i);
}
function attrFloat(n: Node, name: string, dflt: number): number {
  const a = (n.attribute ?? []).find((x) => x.name === name);
  return a?.f == null ? dflt : a.f;
}

function int8Proto(name: string, dims: number[], q: Int8Array | Uint8Array): Tensor {
  const raw = new Uint8Array(q.buffer, q.byteOffset, q.byteLength);
  return { name, dims, dataType: q instanceof Int8Array ? ONNX_INT8 : ONNX_UINT8, rawData: new Uint8Array(raw) };
}
function floatProto(name: string, dims: number[], v: Float32Array): Tensor {
  return { name, dims, dataType: ONNX_FLOAT, rawData: new Uint8Array(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength)) };
}

/** Fresh tensor / node names: never collide with a name the model already uses. */
class Names {
  private readonly used = new Set<string>();
  constructor(graph: Graph) {
    for (const n of graph.node ?? []) {
      for (const x of [...(n.input ?? []), ...(n.output ?? []), n.name ?? '']) this.used.add(x);
    }
    for (const t of [...(graph.initializer ?? []), ...(graph.input ?? []), ...(graph.output ?? [])]) this.used.add(t.name ?? '');
  }
  fresh(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }
}

/** The quantized weight of one initializer, shared by every product that reads it. */
interface WeightEntry {
  values: string;
  scale: string;
  zeroPoint: string;
  q: QuantizedWeight;
  shape: [number, number];
}

export function quantizeDynamic(model: Uint8Array, opts: QuantizeOptions = {}): QuantizedModel {
  const form = opts.form ?? 'integer';
  if (form !== 'integer' && form !== 'qdq') throw new EngineError('invalid_argument', `unknown quantized form '${String(form)}' (use 'integer' or 'qdq')`);
  const type = opts.weightType ?? 'int8';
  if (type !== 'int8' && type !== 'uint8') throw new EngineError('invalid_argument', `unknown weight type '${String(type)}' (use 'int8' or 'uint8')`);
  const weights: WeightQuantization = { type, perChannel: opts.perChannel ?? true, reduceRange: opts.reduceRange ?? type === 'int8' };
  const minElements = opts.minWeightElements ?? DEFAULT_MIN_WEIGHT_ELEMENTS;
  if (!(Number.isInteger(minElements) && minElements >= 1))
    throw new EngineError('invalid_argument', `minWeightElements must be an integer >= 1, got ${minElements}`);

  let proto: OnnxTypes.ModelProto;
  try {
    proto = onnx.ModelProto.decode(model);
  } catch (err) {
    throw new EngineError('invalid_model', `not an ONNX model: ${(err as Error).message}`);
  }
  const graph = proto.graph;
  if (!graph) throw new EngineError('invalid_model', 'the model has no graph');
  if ((proto.metadataProps ?? []).some((p) => p.key === QUANTIZATION_METADATA_KEY)) {
    throw new EngineError('invalid_argument', 'the model is already quantized (it has secondread.quantization metadata); quantize its float source instead');
  }
  const opset = Number(proto.opsetImport.find((o) => !o.domain)?.version ?? 0);
  if (opset < MIN_OPSET)
    throw new EngineError('unsupported_op', `dynamic quantization needs opset >= ${MIN_OPSET} (DynamicQuantizeLinear), the model has opset ${opset}`);

  const inits = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  const graphInputs = new Set((graph.input ?? []).map((i) => i.name ?? ''));
  const names = new Names(graph);
  const report: QuantizeReport = { form, weights, quantized: [], skipped: [], floatWeightBytes: 0, quantizedWeightBytes: 0 };
  const entries = new Map<string, WeightEntry>();
  const added: Tensor[] = [];
  const nodes: Node[] = [];

  /** Why the product cannot be quantized, or its weight. */
  const weightOf = (n: Node, wName: string, transB: boolean, alpha: number): WeightEntry | string => {
    const t = inits.get(wName);
    if (!t) return 'weight is not a constant initializer';
    if (graphInputs.has(wName)) return 'weight is also a graph input (it can be overridden at run time)';
    if (t.dataType !== ONNX_FLOAT) return 'weight is not float32';
    const dims = (t.dims ?? []).map(Number);
    if (dims.length !== 2) return `weight is ${dims.length}-D, not a 2-D matrix`;
    if (dims[0]! * dims[1]! < minElements) return `weight has ${dims[0]! * dims[1]!} elements (< ${minElements})`;
    const key = `${wName}|${transB ? 1 : 0}|${alpha}`;
    const known = entries.get(key);
    if (known) return known;
    let w = decodeTensor(t).data as Float32Array;
    const [rows, cols] = dims as [number, number];
    // Gemm's transB stores B as [N, K]: MatMulInteger needs [K, N].
    const [k, nOut] = transB ? [cols, rows] : [rows, cols];
    if (transB) {
      const tr = new Float32Array(w.length);
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) tr[c * rows + r] = w[r * cols + c]!;
      w = tr;
    }
    if (alpha !== 1) w = w.map((v) => v * alpha);
    const q = quantizeWeight(w, k, nOut, weights);
    const base = n.opType === 'Gemm' && (transB || alpha !== 1) ? `${wName}.gemm` : wName;
    const scalarParams = q.scale.length === 1;
    const e: WeightEntry = {
      values: names.fresh(`${base}_quantized`),
      scale: names.fresh(`${base}_scale`),
      zeroPoint: names.fresh(`${base}_zero_point`),
      q,
      shape: [k, nOut],
    };
    added.push(
      int8Proto(e.values, [k, nOut], q.values),
      floatProto(e.scale, scalarParams ? [] : [nOut], q.scale),
      int8Proto(e.zeroPoint, scalarParams ? [] : [nOut], q.zeroPoint),
    );
    report.floatWeightBytes += 4 * w.length;
    report.quantizedWeightBytes += q.values.length + 5 * q.scale.length;
    entries.set(key, e);
    return e;
  };

  for (const [index, n] of (graph.node ?? []).entries()) {
    const op = n.opType ?? '';
    if ((op !== 'MatMul' && op !== 'Gemm') || (n.domain ?? '') !== '') {
      nodes.push(n);
      continue;
    }
    const label = n.name || `${op}_${index}`;
    const [x, wName, bias] = n.input ?? [];
    const out = (n.output ?? [])[0];
    const gemm = op === 'Gemm';
    const alpha = gemm ? attrFloat(n, 'alpha', 1) : 1;
    const beta = gemm ? attrFloat(n, 'beta', 1) : 1;
    let reason: string | undefined;
    if (!x || !wName || !out) reason = 'missing input or output';
    else if (gemm && attrInt(n, 'transA', 0) !== 0) reason = 'Gemm with transA';
    else if (gemm && bias && beta !== 1 && !inits.has(bias)) reason = 'Gemm with beta != 1 on a non-constant C';
    const w = reason ? reason : weightOf(n, wName!, gemm && attrInt(n, 'transB', 0) !== 0, alpha);
    if (typeof w === 'string') {
      report.skipped.push({ node: label, op, reason: w });
      nodes.push(n);
      continue;
    }
    const fresh = (s: string) => names.fresh(`${label}.${s}`);
    const [xq, xs, xzp] = [fresh('x_quantized'), fresh('x_scale'), fresh('x_zero_point')];
    nodes.push({ name: fresh('DynamicQuantizeLinear'), opType: 'DynamicQuantizeLinear', input: [x!], output: [xq, xs, xzp] });
    // With a bias, the product goes to a temporary and the Add writes the node's original output name.
    const product = gemm && bias ? fresh('product') : out!;
    if (form === 'integer') {
      const [acc, accF, mult] = [fresh('accumulator'), fresh('accumulator_float'), fresh('multiplier')];
      nodes.push(
        { name: fresh('MatMulInteger'), opType: 'MatMulInteger', input: [xq, w.values, xzp, w.zeroPoint], output: [acc] },
        {
          name: fresh('Cast'),
          opType: 'Cast',
          input: [acc],
          output: [accF],
          attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: ONNX_FLOAT }],
        },
        { name: fresh('scale'), opType: 'Mul', input: [xs, w.scale], output: [mult] },
        { name: fresh('Mul'), opType: 'Mul', input: [accF, mult], output: [product] },
      );
    } else {
      const [xdq, wdq] = [fresh('x_dequantized'), fresh('w_dequantized')];
      const axis = w.q.scale.length > 1 ? [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 }] : [];
      nodes.push(
        { name: fresh('DequantizeLinear_x'), opType: 'DequantizeLinear', input: [xq, xs, xzp], output: [xdq] },
        { name: fresh('DequantizeLinear_w'), opType: 'DequantizeLinear', input: [w.values, w.scale, w.zeroPoint], output: [wdq], attribute: axis },
        { name: fresh('MatMul'), opType: 'MatMul', input: [xdq, wdq], output: [product] },
      );
    }
    if (gemm && bias) {
      let c = bias;
      if (beta !== 1) {
        const scaled = decodeTensor(inits.get(bias)!);
        c = names.fresh(`${bias}.beta`);
        added.push(
          floatProto(
            c,
            scaled.shape as number[],
            Float32Array.from(scaled.data as Float32Array, (v) => v * beta),
          ),
        );
      }
      nodes.push({ name: fresh('bias'), opType: 'Add', input: [product, c], output: [out!] });
    }
    report.quantized.push({ node: label, op: op as 'MatMul' | 'Gemm', weight: wName!, shape: w.shape });
  }

  graph.node = nodes;
  graph.initializer = [...(graph.initializer ?? []), ...added];
  dropUnused(graph);
  const info = {
    method: QUANTIZATION_METHOD,
    form,
    weightType: weights.type,
    perChannel: weights.perChannel,
    reduceRange: weights.reduceRange,
    activations: 'uint8, per tensor, computed at run time',
    quantized: report.quantized.length,
    skipped: report.skipped.length,
  };
  proto.metadataProps = [...(proto.metadataProps ?? []), { key: QUANTIZATION_METADATA_KEY, value: JSON.stringify(info) }];
  return { bytes: onnx.ModelProto.encode(proto).finish(), report };
}
