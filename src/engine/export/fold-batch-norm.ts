// Folds eval-mode BatchNormalization into the Conv that feeds it, on a ModelProto:
//   k = γ / √(σ² + ε)      W' = W · k (per output channel)      b' = (b − μ) · k + β
// so the served graph has one Conv where training had Conv → BatchNorm. Only folds when the Conv's output feeds
// nothing but the BatchNorm and every tensor involved is an initializer; anything else is left as it was.
// The arithmetic is done in float64 and rounded once to the weights' dtype.
import type { ConstTensor } from '../graph.js';
import { decodeTensor } from '../onnx/deserialize.js';
import { makeData } from '../onnx/dtype.js';
import type { OnnxTypes } from '../onnx/proto.js';
import { tensorProto } from '../onnx/serialize.js';

type Graph = OnnxTypes.IGraphProto;
type Node = OnnxTypes.INodeProto;

function consumers(graph: Graph, name: string): Node[] {
  return (graph.node ?? []).filter((n) => (n.input ?? []).includes(name));
}

function epsilonOf(bn: Node): number {
  const a = (bn.attribute ?? []).find((x) => x.name === 'epsilon');
  return a?.f ?? 1e-5;
}

/** Returns how many BatchNormalization nodes were folded; rewrites `graph` in place. */
export function foldBatchNorm(graph: Graph): number {
  const inits = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  const graphOutputs = new Set((graph.output ?? []).map((o) => o.name));
  const value = (name: string | undefined): ConstTensor | undefined => {
    const t = name ? inits.get(name) : undefined;
    return t ? decodeTensor(t) : undefined;
  };
  let folded = 0;
  for (const bn of [...(graph.node ?? [])]) {
    if (bn.opType !== 'BatchNormalization' || (bn.output ?? []).length !== 1) continue;
    const [x, scaleName, biasName, meanName, varName] = bn.input ?? [];
    const conv = (graph.node ?? []).find((n) => n.opType === 'Conv' && (n.output ?? [])[0] === x);
    if (!conv || !x || graphOutputs.has(x) || consumers(graph, x).length !== 1) continue;
    const [cx, wName, cbName] = conv.input ?? [];
    const w = value(wName);
    const [scale, beta, mean, variance] = [value(scaleName), value(biasName), value(meanName), value(varName)];
    const convBias = cbName ? value(cbName) : undefined;
    if (!cx || !w || !scale || !beta || !mean || !variance || (cbName && !convBias)) continue;
    if (w.dtype !== 'float32' && w.dtype !== 'float64') continue;

    const channels = w.shape[0] as number;
    const perChannel = w.data.length / channels;
    const eps = epsilonOf(bn);
    const wData = new Float64Array(w.data.length);
    const bData = new Float64Array(channels);
    for (let c = 0; c < channels; c++) {
      const k = Number(scale.data[c]) / Math.sqrt(Number(variance.data[c]) + eps);
      for (let i = c * perChannel; i < (c + 1) * perChannel; i++) wData[i] = Number(w.data[i]) * k;
      bData[c] = ((convBias ? Number(convBias.data[c]) : 0) - Number(mean.data[c])) * k + Number(beta.data[c]);
    }
    const newW = `${conv.name ?? wName}.folded_weight`;
    const newB = `${conv.name ?? wName}.folded_bias`;
    graph.initializer = [
      ...(graph.initializer ?? []),
      tensorProto(newW, { dtype: w.dtype, shape: w.shape, data: makeData(w.dtype, wData) }),
      tensorProto(newB, { dtype: w.dtype, shape: [channels], data: makeData(w.dtype, bData) }),
    ];
    conv.input = [cx, newW, newB];
    conv.output = [...(bn.output ?? [])];
    graph.node = (graph.node ?? []).filter((n) => n !== bn);
    folded++;
  }
  return folded;
}
