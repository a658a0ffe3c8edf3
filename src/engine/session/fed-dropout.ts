// Dropout whose randomness the session supplies. ONNX Runtime's Dropout draws its masks from a process-wide
// generator that the Node API can neither seed nor save, so with it a resumed run can never repeat the masks it
// would have drawn. Here the mask comes from a uint8 noise input (one per site) that TrainSession fills from its
// own seeded, checkpointed RNG every step: runs are reproducible and resume is bit-identical.
// A byte of noise quantizes the drop probability to k/256 (k = round(256·ratio)); the scale 256/(256−k) keeps
// the expectation exact for the quantized rate. In eval mode it adds nothing.
// Drop path (stochastic depth, Huang et al. 2016; timm's drop_path) is the same mask drawn once per sample instead
// of once per element: a noise input [B, 1, …, 1] broadcast over the sample, so a residual branch is kept or
// dropped whole for each image.
import { EngineError } from '../errors.js';
import type { Graph, TensorRef } from '../graph.js';
import { ONNX_DTYPE } from '../onnx/dtype.js';

const noiseByGraph = new WeakMap<Graph, TensorRef[]>();

/** The noise inputs `fedDropout` declared on `g` (the session fills them with random bytes every step). */
export function noiseInputs(g: Graph): readonly TensorRef[] {
  return noiseByGraph.get(g) ?? [];
}

/** The drop probability actually applied for a requested `ratio` (the byte quantization above). */
export function quantizedDropRatio(ratio: number): number {
  return Math.round(ratio * 256) / 256;
}

export function fedDropout(g: Graph, x: TensorRef, ratio: number): TensorRef {
  return fedMask(g, x, ratio, 'dropout', x.shape);
}

/** Drop path: `x` [B, …] zeroed for a random share `ratio` of the samples (whole), scaled by 1/(1 − ratio) otherwise. */
export function fedDropPath(g: Graph, x: TensorRef, ratio: number): TensorRef {
  const [batch] = x.shape;
  if (batch === undefined) throw new EngineError('invalid_argument', 'drop path needs a batch dimension');
  return fedMask(g, x, ratio, 'drop_path', [batch, ...x.shape.slice(1).map(() => 1)]);
}

function fedMask(g: Graph, x: TensorRef, ratio: number, kind: string, noiseShape: TensorRef['shape']): TensorRef {
  if (!(ratio >= 0 && ratio < 1)) throw new EngineError('invalid_argument', `${kind} ratio must be in [0, 1), got ${ratio}`);
  const k = Math.round(ratio * 256);
  if (g.mode !== 'train' || k === 0) return x;
  const sites = noiseInputs(g);
  const noise = g.input(`noise.${kind}.${sites.length}`, 'uint8', noiseShape);
  noiseByGraph.set(g, [...sites, noise]);
  // keep ⇔ noise ≥ k, written as (k − 1) < noise: ONNX Runtime's CPU Less has a uint8 kernel.
  const keep = g.op('Cast', [g.op('Less', [g.constant([k - 1], [], 'uint8'), noise])], { to: ONNX_DTYPE[x.dtype] });
  return g.op('Mul', [x, g.op('Mul', [keep, g.scalar(256 / (256 - k), x)])]);
}
