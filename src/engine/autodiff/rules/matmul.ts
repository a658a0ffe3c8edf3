// Vector-Jacobian rules of MatMul and Gemm. Transposes feeding a MatMul are left to ONNX Runtime, which
// fuses Transpose+MatMul into one kernel (MatmulTransposeFusion); weight gradients of token-batched
// products use one Gemm over the flattened batch instead of a batched MatMul plus a ReduceSum.
import type { Graph, TensorRef } from '../../graph.js';
import { reshapeLike, transposeLast2, unbroadcast } from '../helpers.js';
import type { GradFamily } from '../registry.js';

const unsqueeze = (g: Graph, x: TensorRef, axis: number): TensorRef => g.op('Unsqueeze', [x, g.ints([axis])]);

export const matmul: GradFamily = {
  // Y = A·B: dA = dY·Bᵀ, dB = Aᵀ·dY (summed over broadcast batch dims)
  MatMul: (ctx) => {
    const { g } = ctx;
    const [a0, b0] = [ctx.x(0), ctx.x(1)];
    let [a, b, d] = [a0, b0, ctx.dy];
    // numpy 1-D promotion: a vector A is [1, K], a vector B is [K, 1]; dY gets the dropped dims back.
    if (a.shape.length === 1) [a, d] = [unsqueeze(g, a, 0), unsqueeze(g, d, d.shape.length - (b.shape.length === 1 ? 0 : 1))];
    if (b.shape.length === 1) [b, d] = [unsqueeze(g, b, 1), unsqueeze(g, d, d.shape.length)];
    const n = b.shape[b.shape.length - 1] as number;
    const k = a.shape[a.shape.length - 1] as number;
    let da: () => TensorRef;
    let db: () => TensorRef;
    if (a.shape.length === 2 && b.shape.length === 2) {
      da = () => g.op('Gemm', [d, b], { transB: 1 });
      db = () => g.op('Gemm', [a, d], { transA: 1 });
    } else if (b.shape.length === 2 && typeof n === 'number' && typeof k === 'number') {
      da = () => g.op('MatMul', [d, g.op('Transpose', [b], { perm: [1, 0] })]);
      // Σ over every leading dim of Aᵀ·dY is one Gemm of the flattened rows.
      db = () => g.op('Gemm', [g.op('Reshape', [a, g.ints([-1, k])]), g.op('Reshape', [d, g.ints([-1, n])])], { transA: 1 });
    } else {
      da = () => unbroadcast(g, g.op('MatMul', [d, transposeLast2(g, b)]), a);
      db = () => unbroadcast(g, g.op('MatMul', [transposeLast2(g, a), d]), b);
    }
    return [() => reshapeLike(g, da(), a0), () => reshapeLike(g, db(), b0)];
  },

  // Y = α·op(A)·op(B) + β·C. With op = identity or transpose, each case is one Gemm:
  //   tA=0,tB=0: dA = dY·Bᵀ    dB = Aᵀ·dY      tA=0,tB=1: dA = dY·B     dB = dYᵀ·A
  //   tA=1,tB=0: dA = B·dYᵀ    dB = A·dY       tA=1,tB=1: dA = Bᵀ·dYᵀ   dB = dYᵀ·Aᵀ
  //   dC = β·Σ(dY) over C's broadcast dims
  Gemm: (ctx) => {
    const { g, dy } = ctx;
    const [a, b, c] = [ctx.x(0), ctx.x(1), ctx.maybeX(2)];
    const tA = ctx.int('transA', 0);
    const tB = ctx.int('transB', 0);
    const alpha = ctx.float('alpha', 1);
    const beta = ctx.float('beta', 1);
    const gemm = (p: TensorRef, q: TensorRef, transA: number, transB: number): TensorRef => {
      const attrs: Record<string, number> = { transA, transB };
      if (alpha !== 1) attrs.alpha = alpha;
      return g.op('Gemm', [p, q], attrs);
    };
    const dc = (cc: TensorRef) => (): TensorRef => {
      const s = unbroadcast(g, dy, cc);
      return beta !== 1 ? g.op('Mul', [s, g.scalar(beta, s)]) : s;
    };
    return [() => (tA ? gemm(b, dy, tB, 1) : gemm(dy, b, 0, tB ? 0 : 1)), () => (tB ? gemm(dy, a, 1, tA) : gemm(a, dy, tA ? 0 : 1, 0)), c && dc(c)];
  },
};
