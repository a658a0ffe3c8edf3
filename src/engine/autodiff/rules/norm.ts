// Vector-Jacobian rules of normalization. With x̂ = (x − μ)·σ⁻¹ over the normalized axes (n elements):
//   dβ = Σ dy,  dγ = Σ dy·x̂,  dx = σ⁻¹·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)),  dx̂ = dy·γ
// The forward saves μ and σ⁻¹ (LayerNormalization's Mean/InvStdDev outputs, the batch-norm composite's
// centered x and σ⁻¹), so the backward does not recompute statistics.
import { EngineError } from '../../errors.js';
import type { TensorRef } from '../../graph.js';
import { ONNX_DTYPE } from '../../onnx/dtype.js';
import { reduce } from '../../ops/reduce.js';
import { normAxis } from '../../ops/shape-util.js';
import { unbroadcast } from '../helpers.js';
import type { GradFamily } from '../registry.js';

export const norm: GradFamily = {
  LayerNormalization: (ctx) => {
    const { g, dy } = ctx;
    const [x, scale, bias] = [ctx.x(0), ctx.x(1), ctx.maybeX(2)];
    const [mean0, inv0] = [ctx.maybeY(1), ctx.maybeY(2)];
    if (!mean0 || !inv0) throw new EngineError('unsupported_op', 'LayerNormalization gradient: build it in train mode (Mean and InvStdDev outputs)');
    // Statistics come in the stash type (float32); bring them to x's dtype.
    const asX = (t: TensorRef): TensorRef => (t.dtype === x.dtype ? t : g.op('Cast', [t], { to: ONNX_DTYPE[x.dtype] }));
    const [mean, invstd] = [asX(mean0), asX(inv0)];
    const axis = normAxis('LayerNormalization', ctx.int('axis', -1), x.shape.length);
    const axes = x.shape.map((_, i) => i).filter((i) => i >= axis);
    const xhat = g.op('Mul', [g.op('Sub', [x, mean]), invstd]);
    const dx = (): TensorRef => {
      const dxhat = g.op('Mul', [dy, scale]);
      const m1 = reduce(g, 'ReduceMean', dxhat, axes, true);
      const m2 = reduce(g, 'ReduceMean', g.op('Mul', [dxhat, xhat]), axes, true);
      return g.op('Mul', [invstd, g.op('Sub', [g.op('Sub', [dxhat, m1]), g.op('Mul', [xhat, m2])])]);
    };
    return [dx, () => unbroadcast(g, g.op('Mul', [dy, xhat]), scale), bias && (() => unbroadcast(g, dy, bias))];
  },

  // Training-mode batch norm (composite, saved xc = x − μ, σ⁻¹, n = N·H·W…), with S₁ = Σ dy, S₂ = Σ dy·xc
  // per channel and k = γ·σ⁻¹:  dβ = S₁,  dγ = S₂·σ⁻¹,  dx = k·dy − k·S₁/n − xc·(k·σ⁻²·S₂/n)
  BatchNormalizationTraining: (ctx) => {
    const { g, dy } = ctx;
    const [x, scale] = [ctx.x(0), ctx.x(1)];
    const [xc, invstd, n] = [ctx.savedTensor('xc'), ctx.savedTensor('invstd'), ctx.savedTensor('n')];
    const c = [x.shape[1] as number];
    const bcast = g.ints(x.shape.map((_, i) => (i === 1 ? -1 : 1)));
    const axes = g.ints(x.shape.map((_, i) => i).filter((i) => i !== 1));
    const s1 = g.op('ReduceSum', [dy, axes], { keepdims: 1 });
    // S₂ is shared by dx and dγ: built once, by whichever asks first.
    let s2Ref: TensorRef | undefined;
    const s2 = (): TensorRef => (s2Ref ??= g.op('ReduceSum', [g.op('Mul', [dy, xc]), axes], { keepdims: 1 }));
    const dx = (): TensorRef => {
      const s = s2();
      const k = g.op('Mul', [invstd, g.op('Reshape', [scale, bcast])]);
      const shift = g.op('Div', [g.op('Mul', [k, s1]), n]);
      const slope = g.op('Div', [g.op('Mul', [g.op('Mul', [k, g.op('Mul', [invstd, invstd])]), s]), n]);
      return g.op('Sub', [g.op('Sub', [g.op('Mul', [dy, k]), g.op('Mul', [xc, slope])]), shift]);
    };
    return [dx, () => g.op('Reshape', [g.op('Mul', [s2(), invstd]), g.ints(c)]), () => g.op('Reshape', [s1, g.ints(c)])];
  },

  // Inference-mode BatchNormalization (running statistics are constants): with k = γ/√(v + ε),
  //   dx = dy·k,  dγ = Σ dy·(x − μ)/√(v + ε),  dβ = Σ dy
  BatchNormalization: (ctx) => {
    const { g, dy } = ctx;
    if (ctx.int('training_mode', 0))
      throw new EngineError('unsupported_op', 'BatchNormalization with training_mode = 1: build batch norm with ops.batchNorm in train mode');
    const [x, scale, , mean, variance] = [ctx.x(0), ctx.x(1), ctx.x(2), ctx.x(3), ctx.x(4)];
    const bcast = g.ints(x.shape.map((_, i) => (i === 1 ? -1 : 1)));
    const axes = g.ints(x.shape.map((_, i) => i).filter((i) => i !== 1));
    const invstd = g.op('Reshape', [g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [variance, g.scalar(ctx.float('epsilon', 1e-5), variance)])])]), bcast]);
    return [
      () => g.op('Mul', [dy, g.op('Mul', [invstd, g.op('Reshape', [scale, bcast])])]),
      () => g.op('ReduceSum', [g.op('Mul', [dy, g.op('Mul', [g.op('Sub', [x, g.op('Reshape', [mean, bcast])]), invstd])]), axes], { keepdims: 0 }),
      () => g.op('ReduceSum', [dy, axes], { keepdims: 0 }),
      undefined,
      undefined,
    ];
  },
};
