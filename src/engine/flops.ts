// Floating-point operations of a graph's matrix products and convolutions, read from its nodes and static shapes:
// the work that bounds a model's speed on a CPU (the element-wise ops, norms and softmaxes add little FLOPs but
// memory traffic). 2 FLOPs per multiply–accumulate, as Ultralytics, fvcore's "FLOPs = 2 × MACs" and GEMM peak
// figures count them; biases are not counted.
import { EngineError } from './errors.js';
import { Graph, type Shape } from './graph.js';
import type { ModelBuilder } from './session/model.js';

export interface FlopCount {
  total: number;
  /** FLOPs by op type (MatMul, Gemm, Conv, ConvTranspose). */
  byOp: Record<string, number>;
}

function resolve(shape: Shape, dims: Readonly<Record<string, number>>, what: string): number[] {
  return shape.map((d) => {
    if (typeof d === 'number') return d;
    const v = dims[d];
    if (v === undefined) throw new EngineError('invalid_argument', `${what} has the symbolic dimension '${d}': give its size`);
    return v;
  });
}

const product = (xs: readonly number[]): number => xs.reduce((a, b) => a * b, 1);

/**
 * FLOPs of one run of `g` with the symbolic dimensions bound by `dims` (e.g. `{ batch: 1 }`):
 * MatMul 2·|out|·K (numpy semantics, batch dims broadcast), Gemm 2·M·N·K, Conv and ConvTranspose 2·|out|·(C_in/groups)·kH·kW
 * (ConvTranspose: 2·|in|·(C_out/groups)·kH·kW, each input pixel scattered over the kernel).
 */
export function graphFlops(g: Graph, dims: Readonly<Record<string, number>> = {}): FlopCount {
  const byOp: Record<string, number> = {};
  const shape = (name: string) => resolve(g.tensor(name).shape, dims, `tensor '${name}'`);
  for (const node of g.nodes()) {
    let f: number;
    switch (node.opType) {
      case 'MatMul': {
        const a = shape(node.inputs[0]!);
        f = 2 * product(shape(node.outputs[0]!)) * (a[a.length - 1] as number);
        break;
      }
      case 'Gemm': {
        const [m, n] = shape(node.outputs[0]!) as [number, number];
        const a = shape(node.inputs[0]!);
        const transA = node.attrs.transA?.value === 1;
        f = 2 * m * n * (transA ? (a[0] as number) : (a[1] as number));
        break;
      }
      case 'Conv':
        f = 2 * product(shape(node.outputs[0]!)) * product(shape(node.inputs[1]!).slice(1));
        break;
      case 'ConvTranspose':
        f = 2 * product(shape(node.inputs[0]!)) * product(shape(node.inputs[1]!).slice(1));
        break;
      default:
        continue;
    }
    byOp[node.opType] = (byOp[node.opType] ?? 0) + f;
  }
  return { total: Object.values(byOp).reduce((a, b) => a + b, 0), byOp };
}

/** Forward (eval-mode) FLOPs of a model per batch of `batch` images. */
export function forwardFlops(build: ModelBuilder, batch = 1): FlopCount {
  const g = new Graph('flops', { mode: 'eval' });
  build(g);
  return graphFlops(g, { batch });
}
