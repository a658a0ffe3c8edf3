// Vector-Jacobian rules of elementwise ops. Broadcast inputs get their gradient summed back (unbroadcast).
import { EngineError } from '../../errors.js';
import type { TensorRef } from '../../graph.js';
import { ONNX_DTYPE } from '../../onnx/dtype.js';
import { unbroadcast } from '../helpers.js';
import { registerGradient } from '../registry.js';

// y = a + b: da = dy, db = dy
registerGradient('Add', ({ g, dy, inputs: [a, b], needs }) => [needs[0] ? unbroadcast(g, dy, a!) : undefined, needs[1] ? unbroadcast(g, dy, b!) : undefined]);

// y = a − b: da = dy, db = −dy
registerGradient('Sub', ({ g, dy, inputs: [a, b], needs }) => [
  needs[0] ? unbroadcast(g, dy, a!) : undefined,
  needs[1] ? g.op('Neg', [unbroadcast(g, dy, b!)]) : undefined,
]);

// y = a·b: da = dy·b, db = dy·a
registerGradient('Mul', ({ g, dy, inputs: [a, b], needs }) => [
  needs[0] ? unbroadcast(g, g.op('Mul', [dy, b!]), a!) : undefined,
  needs[1] ? unbroadcast(g, g.op('Mul', [dy, a!]), b!) : undefined,
]);

// y = a / b: da = dy / b, db = −(dy / b)·y
registerGradient('Div', ({ g, dy, inputs: [a, b], outputs: [y], needs }) => {
  const t = g.op('Div', [dy, b!]);
  return [needs[0] ? unbroadcast(g, t, a!) : undefined, needs[1] ? g.op('Neg', [unbroadcast(g, g.op('Mul', [t, y!]), b!)]) : undefined];
});

// y = −x: dx = −dy
registerGradient('Neg', ({ g, dy }) => [g.op('Neg', [dy])]);

// y = x: dx = dy
registerGradient('Identity', ({ dy }) => [dy]);

// y = a^b: da = dy·b·a^(b−1), db = dy·y·ln a
registerGradient('Pow', ({ g, dy, inputs: [a, b], outputs: [y], needs }) => {
  let da;
  if (needs[0]) {
    const bv = g.constantValue(b!);
    // A constant scalar exponent folds b − 1 at build time (x², x^0.5 are the common cases).
    const bm1 = bv && bv.data.length === 1 ? g.scalar(Number(bv.data[0]) - 1, b!) : g.op('Sub', [b!, g.scalar(1, b!)]);
    da = unbroadcast(g, g.op('Mul', [g.op('Mul', [dy, b!]), g.op('Pow', [a!, bm1])]), a!);
  }
  const db = needs[1] ? unbroadcast(g, g.op('Mul', [g.op('Mul', [dy, y!]), g.op('Log', [a!])]), b!) : undefined;
  return [da, db];
});

// y = √x: dx = dy / (2y)
registerGradient('Sqrt', ({ g, dy, outputs: [y] }) => [g.op('Div', [g.op('Mul', [dy, g.scalar(0.5, dy)]), y!])]);

// y = eˣ: dx = dy·y
registerGradient('Exp', ({ g, dy, outputs: [y] }) => [g.op('Mul', [dy, y!])]);

// y = ln x: dx = dy / x
registerGradient('Log', ({ g, dy, inputs: [x] }) => [g.op('Div', [dy, x!])]);

// y = 1/x: dx = −dy·y²
registerGradient('Reciprocal', ({ g, dy, outputs: [y] }) => [g.op('Neg', [g.op('Mul', [dy, g.op('Mul', [y!, y!])])])]);

// y = |x|: dx = dy·sign(x)
registerGradient('Abs', ({ g, dy, inputs: [x] }) => [g.op('Mul', [dy, g.op('Sign', [x!])])]);

// y = erf(x): dx = dy·(2/√π)·e^(−x²)
registerGradient('Erf', ({ g, dy, inputs: [x] }) => {
  const e = g.op('Exp', [g.op('Neg', [g.op('Mul', [x!, x!])])]);
  return [g.op('Mul', [dy, g.op('Mul', [e, g.scalar(2 / Math.sqrt(Math.PI), x!)])])];
});

// y = cast(x): dx = cast(dy) back to x's dtype (float inputs only; ints get no gradient)
registerGradient('Cast', ({ g, dy, inputs: [x] }) => [dy.dtype === x!.dtype ? dy : g.op('Cast', [dy], { to: ONNX_DTYPE[x!.dtype] })]);

// y = Σ xᵢ: dxᵢ = dy
registerGradient('Sum', ({ g, dy, inputs, needs }) => inputs.map((x, i) => (needs[i] ? unbroadcast(g, dy, x!) : undefined)));

// y = where(c, a, b): da = dy where c, db = dy where ¬c
registerGradient('Where', ({ g, dy, inputs: [c, a, b], needs }) => {
  const zero = g.scalar(0, dy);
  return [
    undefined,
    needs[1] ? unbroadcast(g, g.op('Where', [c!, dy, zero]), a!) : undefined,
    needs[2] ? unbroadcast(g, g.op('Where', [c!, zero, dy]), b!) : undefined,
  ];
});

// y = max(a, b) / min(a, b): the cotangent goes to the selected operand (a on ties)
for (const [op, pick] of [
  ['Max', 'GreaterOrEqual'],
  ['Min', 'LessOrEqual'],
] as const) {
  registerGradient(op, ({ g, dy, inputs, needs }) => {
    if (inputs.length !== 2) throw new EngineError('unsupported_op', `${op} gradient: exactly two inputs`);
    const [a, b] = [inputs[0]!, inputs[1]!];
    const takeA = g.op(pick, [a, b]);
    const zero = g.scalar(0, dy);
    return [
      needs[0] ? unbroadcast(g, g.op('Where', [takeA, dy, zero]), a) : undefined,
      needs[1] ? unbroadcast(g, g.op('Where', [takeA, zero, dy]), b) : undefined,
    ];
  });
}

// y = clip(x, lo, hi): dx = dy where lo < x < hi (constant bounds only)
registerGradient('Clip', ({ g, dy, inputs: [x, lo, hi] }) => {
  let inside: TensorRef | undefined;
  if (lo) inside = g.op('Greater', [x!, lo]);
  if (hi) {
    const below = g.op('Less', [x!, hi]);
    inside = inside ? g.op('And', [inside, below]) : below;
  }
  return [inside ? g.op('Where', [inside, dy, g.scalar(0, dy)]) : dy, undefined, undefined];
});
