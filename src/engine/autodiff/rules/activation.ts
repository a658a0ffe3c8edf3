// Vector-Jacobian rules of activations. Rules reuse forward outputs (softmax, sigmoid, tanh, the dropout
// mask, GELU's 1 + erf) instead of recomputing them.
import { EngineError } from '../../errors.js';
import type { GradFamily } from '../registry.js';

export const activation: GradFamily = {
  // y = max(x, 0): dx = dy where y > 0
  Relu: (ctx) => {
    const { g, dy } = ctx;
    const y = ctx.y();
    return [() => g.op('Where', [g.op('Greater', [y, g.scalar(0, y)]), dy, g.scalar(0, dy)])];
  },

  // y = x if x > 0 else αx: dx = dy where x > 0, α·dy elsewhere
  LeakyRelu: (ctx) => {
    const { g, dy } = ctx;
    const x = ctx.x(0);
    const alpha = ctx.float('alpha', 0.01);
    return [() => g.op('Where', [g.op('Greater', [x, g.scalar(0, x)]), dy, g.op('Mul', [dy, g.scalar(alpha, dy)])])];
  },

  // y = σ(x): dx = dy·y·(1 − y)
  Sigmoid: (ctx) => {
    const { g, dy } = ctx;
    const y = ctx.y();
    return [() => g.op('Mul', [g.op('Mul', [dy, y]), g.op('Sub', [g.scalar(1, y), y])])];
  },

  // y = tanh x: dx = dy·(1 − y²)
  Tanh: (ctx) => {
    const { g, dy } = ctx;
    const y = ctx.y();
    return [() => g.op('Mul', [dy, g.op('Sub', [g.scalar(1, y), g.op('Mul', [y, y])])])];
  },

  // y = softmax(x): dx = y·(dy − Σ_axis dy·y)
  Softmax: (ctx) => {
    const { g, dy } = ctx;
    const y = ctx.y();
    return [
      () => {
        const s = g.op('ReduceSum', [g.op('Mul', [dy, y]), g.ints([ctx.int('axis', -1)])], { keepdims: 1 });
        return g.op('Mul', [y, g.op('Sub', [dy, s])]);
      },
    ];
  },

  // y = log softmax(x): dx = dy − eʸ·Σ_axis dy
  LogSoftmax: (ctx) => {
    const { g, dy } = ctx;
    const y = ctx.y();
    return [
      () => {
        const s = g.op('ReduceSum', [dy, g.ints([ctx.int('axis', -1)])], { keepdims: 1 });
        return g.op('Sub', [dy, g.op('Mul', [g.op('Exp', [y]), s])]);
      },
    ];
  },

  // y = x·Φ(x): dx = dy·(Φ(x) + x·φ(x)), Φ = e/2 with e = 1 + erf(x/√2) saved, φ(x) = e^(−x²/2)/√(2π)
  Gelu: (ctx) => {
    const { g, dy } = ctx;
    const x = ctx.x(0);
    if (ctx.string('approximate', 'none') !== 'none') throw new EngineError('unsupported_op', 'Gelu: only the exact (erf) form has a gradient rule');
    return [
      () => {
        const e = ctx.saved.e ?? g.op('Add', [g.op('Erf', [g.op('Div', [x, g.scalar(Math.SQRT2, x)])]), g.scalar(1, x)]);
        const pdf = g.op('Exp', [g.op('Mul', [g.op('Mul', [x, x]), g.scalar(-0.5, x)])]);
        const slope = g.op('Add', [g.op('Mul', [e, g.scalar(0.5, x)]), g.op('Mul', [x, g.op('Mul', [pdf, g.scalar(1 / Math.sqrt(2 * Math.PI), x)])])]);
        return g.op('Mul', [dy, slope]);
      },
    ];
  },

  // y = x·mask/(1 − p) (training): dx = dy·mask/(1 − p); without a mask output (inference) dx = dy
  Dropout: (ctx) => {
    const { g, dy } = ctx;
    const [ratioInput, mask] = [ctx.maybeX(1), ctx.maybeY(1)];
    if (!mask) return [() => dy];
    const ratio = ratioInput ? g.constantValue(ratioInput) : undefined;
    if (ratioInput && !ratio) throw new EngineError('unsupported_op', 'Dropout: the ratio must be a constant');
    const p = ratio ? Number(ratio.data[0]) : 0.5;
    return [() => g.op('Where', [mask, g.op('Mul', [dy, g.scalar(1 / (1 - p), dy)]), g.scalar(0, dy)])];
  },
};
