// Vector-Jacobian rules of activations. Rules reuse forward outputs (softmax, sigmoid, tanh, the dropout
// mask, GELU's 1 + erf) instead of recomputing them.
import { EngineError } from '../../errors.js';
import { registerGradient } from '../registry.js';

// y = max(x, 0): dx = dy where y > 0
registerGradient('Relu', ({ g, dy, outputs: [y] }) => [g.op('Where', [g.op('Greater', [y!, g.scalar(0, y!)]), dy, g.scalar(0, dy)])]);

// y = x if x > 0 else αx: dx = dy where x > 0, α·dy elsewhere
registerGradient('LeakyRelu', (ctx) => {
  const { g, dy } = ctx;
  const x = ctx.x(0);
  const alpha = ctx.float('alpha', 0.01);
  return [g.op('Where', [g.op('Greater', [x, g.scalar(0, x)]), dy, g.op('Mul', [dy, g.scalar(alpha, dy)])])];
});

// y = σ(x): dx = dy·y·(1 − y)
registerGradient('Sigmoid', ({ g, dy, outputs: [y] }) => [g.op('Mul', [g.op('Mul', [dy, y!]), g.op('Sub', [g.scalar(1, y!), y!])])]);

// y = tanh x: dx = dy·(1 − y²)
registerGradient('Tanh', ({ g, dy, outputs: [y] }) => [g.op('Mul', [dy, g.op('Sub', [g.scalar(1, y!), g.op('Mul', [y!, y!])])])]);

// y = softmax(x): dx = y·(dy − Σ_axis dy·y)
registerGradient('Softmax', (ctx) => {
  const { g, dy } = ctx;
  const y = ctx.y();
  const s = g.op('ReduceSum', [g.op('Mul', [dy, y]), g.ints([ctx.int('axis', -1)])], { keepdims: 1 });
  return [g.op('Mul', [y, g.op('Sub', [dy, s])])];
});

// y = log softmax(x): dx = dy − eʸ·Σ_axis dy
registerGradient('LogSoftmax', (ctx) => {
  const { g, dy } = ctx;
  const s = g.op('ReduceSum', [dy, g.ints([ctx.int('axis', -1)])], { keepdims: 1 });
  return [g.op('Sub', [dy, g.op('Mul', [g.op('Exp', [ctx.y()]), s])])];
});

// y = x·Φ(x): dx = dy·(Φ(x) + x·φ(x)), Φ = e/2 with e = 1 + erf(x/√2) saved, φ(x) = e^(−x²/2)/√(2π)
registerGradient('Gelu', (ctx) => {
  const { g, dy } = ctx;
  const x = ctx.x(0);
  if (ctx.string('approximate', 'none') !== 'none') throw new EngineError('unsupported_op', 'Gelu: only the exact (erf) form has a gradient rule');
  const e = ctx.saved.e ?? g.op('Add', [g.op('Erf', [g.op('Div', [x, g.scalar(Math.SQRT2, x)])]), g.scalar(1, x)]);
  const pdf = g.op('Exp', [g.op('Mul', [g.op('Mul', [x, x]), g.scalar(-0.5, x)])]);
  const slope = g.op('Add', [g.op('Mul', [e, g.scalar(0.5, x)]), g.op('Mul', [x, g.op('Mul', [pdf, g.scalar(1 / Math.sqrt(2 * Math.PI), x)])])]);
  return [g.op('Mul', [dy, slope])];
});

// y = x·mask/(1 − p) (training): dx = dy·mask/(1 − p); without a mask output (inference) dx = dy
registerGradient('Dropout', (ctx) => {
  const { g, dy } = ctx;
  const mask = ctx.outputs[1];
  if (!mask) return [dy];
  const ratio = ctx.inputs[1] ? g.constantValue(ctx.inputs[1]) : undefined;
  if (ctx.inputs[1] && !ratio) throw new EngineError('unsupported_op', 'Dropout: the ratio must be a constant');
  const p = ratio ? Number(ratio.data[0]) : 0.5;
  return [g.op('Where', [mask, g.op('Mul', [dy, g.scalar(1 / (1 - p), dy)]), g.scalar(0, dy)])];
});
