// Vector-Jacobian rules of elementwise ops. Broadcast inputs get their gradient summed back (unbroadcast).
import { EngineError } from '../../errors.js';
import type { TensorRef } from '../../graph.js';
import { ONNX_DTYPE } from '../../onnx/dtype.js';
import { unbroadcast } from '../helpers.js';
import type { GradFamily, GradRule } from '../registry.js';

// y = max(a, b) / min(a, b): the cotangent goes to the selected operand (a on ties)
const selected =
  (op: 'Max' | 'Min', pick: 'GreaterOrEqual' | 'LessOrEqual'): GradRule =>
  (ctx) => {
    const { g, dy } = ctx;
    if (ctx.inputs.length !== 2) throw new EngineError('unsupported_op', `${op} gradient: exactly two inputs`);
    const [a, b] = [ctx.x(0), ctx.x(1)];
    const takeA = g.op(pick, [a, b]);
    const zero = g.scalar(0, dy);
    return [() => unbroadcast(g, g.op('Where', [takeA, dy, zero]), a), () => unbroadcast(g, g.op('Where', [takeA, zero, dy]), b)];
  };

export const elementwise: GradFamily = {
  // y = a + b: da = dy, db = dy
  Add: (ctx) => {
    const { g, dy } = ctx;
    const [a, b] = [ctx.x(0), ctx.x(1)];
    return [() => unbroadcast(g, dy, a), () => unbroadcast(g, dy, b)];
  },

  // y = a − b: da = dy, db = −dy
  Sub: (ctx) => {
    const { g, dy } = ctx;
    const [a, b] = [ctx.x(0), ctx.x(1)];
    return [() => unbroadcast(g, dy, a), () => g.op('Neg', [unbroadcast(g, dy, b)])];
  },

  // y = a·b: da = dy·b, db = dy·a
  Mul: (ctx) => {
    const { g, dy } = ctx;
    const [a, b] = [ctx.x(0), ctx.x(1)];
    return [() => unbroadcast(g, g.op('Mul', [dy, b]), a), () => unbroadcast(g, g.op('Mul', [dy, a]), b)];
  },

  // y = a / b: da = dy / b, db = −(dy / b)·y
  Div: (ctx) => {
    const { g, dy } = ctx;
    const [a, b, y] = [ctx.x(0), ctx.x(1), ctx.y()];
    const t = g.op('Div', [dy, b]);
    return [() => unbroadcast(g, t, a), () => g.op('Neg', [unbroadcast(g, g.op('Mul', [t, y]), b)])];
  },

  // y = −x: dx = −dy
  Neg: (ctx) => [() => ctx.g.op('Neg', [ctx.dy])],

  // y = x: dx = dy
  Identity: (ctx) => [() => ctx.dy],

  // y = a^b: da = dy·b·a^(b−1), db = dy·y·ln a
  Pow: (ctx) => {
    const { g, dy } = ctx;
    const [a, b, y] = [ctx.x(0), ctx.x(1), ctx.y()];
    const da = (): TensorRef => {
      const bv = g.constantValue(b);
      // A constant scalar exponent folds b − 1 at build time (x², x^0.5 are the common cases).
      const bm1 = bv && bv.data.length === 1 ? g.scalar(Number(bv.data[0]) - 1, b) : g.op('Sub', [b, g.scalar(1, b)]);
      return unbroadcast(g, g.op('Mul', [g.op('Mul', [dy, b]), g.op('Pow', [a, bm1])]), a);
    };
    return [da, () => unbroadcast(g, g.op('Mul', [g.op('Mul', [dy, y]), g.op('Log', [a])]), b)];
  },

  // y = √x: dx = dy / (2y)
  Sqrt: (ctx) => [() => ctx.g.op('Div', [ctx.g.op('Mul', [ctx.dy, ctx.g.scalar(0.5, ctx.dy)]), ctx.y()])],

  // y = eˣ: dx = dy·y
  Exp: (ctx) => [() => ctx.g.op('Mul', [ctx.dy, ctx.y()])],

  // y = ln x: dx = dy / x
  Log: (ctx) => [() => ctx.g.op('Div', [ctx.dy, ctx.x(0)])],

  // y = 1/x: dx = −dy·y²
  Reciprocal: (ctx) => {
    const { g, dy } = ctx;
    const y = ctx.y();
    return [() => g.op('Neg', [g.op('Mul', [dy, g.op('Mul', [y, y])])])];
  },

  // y = |x|: dx = dy·sign(x)
  Abs: (ctx) => [() => ctx.g.op('Mul', [ctx.dy, ctx.g.op('Sign', [ctx.x(0)])])],

  // y = erf(x): dx = dy·(2/√π)·e^(−x²)
  Erf: (ctx) => {
    const { g, dy } = ctx;
    const x = ctx.x(0);
    return [
      () => {
        const e = g.op('Exp', [g.op('Neg', [g.op('Mul', [x, x])])]);
        return g.op('Mul', [dy, g.op('Mul', [e, g.scalar(2 / Math.sqrt(Math.PI), x)])]);
      },
    ];
  },

  // y = x treated as a constant (composite around an Identity): no gradient flows back
  StopGradient: () => [undefined],

  // y = atan(x): dx = dy/(1 + x²)
  Atan: (ctx) => {
    const { g, dy } = ctx;
    const x = ctx.x(0);
    return [() => g.op('Div', [dy, g.op('Add', [g.op('Mul', [x, x]), g.scalar(1, x)])])];
  },

  // y = cast(x): dx = cast(dy) back to x's dtype (float inputs only; ints get no gradient)
  Cast: (ctx) => {
    const { g, dy } = ctx;
    const x = ctx.x(0);
    return [() => (dy.dtype === x.dtype ? dy : g.op('Cast', [dy], { to: ONNX_DTYPE[x.dtype] }))];
  },

  // y = Σ xᵢ: dxᵢ = dy
  Sum: (ctx) => {
    const { g, dy } = ctx;
    return ctx.inputs.map((_, i) => () => unbroadcast(g, dy, ctx.x(i)));
  },

  // y = where(c, a, b): da = dy where c, db = dy where ¬c
  Where: (ctx) => {
    const { g, dy } = ctx;
    const [c, a, b] = [ctx.x(0), ctx.x(1), ctx.x(2)];
    const zero = g.scalar(0, dy);
    return [undefined, () => unbroadcast(g, g.op('Where', [c, dy, zero]), a), () => unbroadcast(g, g.op('Where', [c, zero, dy]), b)];
  },

  Max: selected('Max', 'GreaterOrEqual'),
  Min: selected('Min', 'LessOrEqual'),

  // y = clip(x, lo, hi): dx = dy where lo < x < hi (constant bounds only)
  Clip: (ctx) => {
    const { g, dy } = ctx;
    const [x, lo, hi] = [ctx.x(0), ctx.maybeX(1), ctx.maybeX(2)];
    const dx = (): TensorRef => {
      let inside: TensorRef | undefined;
      if (lo) inside = g.op('Greater', [x, lo]);
      if (hi) {
        const below = g.op('Less', [x, hi]);
        inside = inside ? g.op('And', [inside, below]) : below;
      }
      return inside ? g.op('Where', [inside, dy, g.scalar(0, dy)]) : dy;
    };
    return [dx, undefined, undefined];
  },
};
