// Vector-Jacobian rule of SoftmaxCrossEntropyLoss (the label-smoothed loss is a composite of primitives and
// needs no rule of its own). With p = softmax(x) = exp(log_prob), the op's second output:
//   dx = (p − onehot(y)) · w_y · s,  s = dL / Σ w_y (mean), dL (sum), dL_i (none); ignored labels get w = 0.
import type { TensorRef } from '../../graph.js';
import { ONNX_DTYPE } from '../../onnx/dtype.js';
import { unbroadcast } from '../helpers.js';
import type { GradContext, GradFamily } from '../registry.js';

export const loss: GradFamily = {
  SoftmaxCrossEntropyLoss: (ctx) => [() => dLogits(ctx), undefined, undefined],

  // y = max(x, 0) − x·t + log(1 + e^−|x|) (BCE with logits): dx = dy·(σ(x) − t), dt = −dy·x
  SigmoidBinaryCrossEntropy: (ctx) => {
    const { g, dy } = ctx;
    const [x, t] = [ctx.x(0), ctx.x(1)];
    return [() => unbroadcast(g, g.op('Mul', [dy, g.op('Sub', [g.op('Sigmoid', [x]), t])]), x), () => unbroadcast(g, g.op('Neg', [g.op('Mul', [dy, x])]), t)];
  },
};

function dLogits(ctx: GradContext): TensorRef {
  const { g } = ctx;
  const [x, labels, weights] = [ctx.x(0), ctx.x(1), ctx.maybeX(2)];
  const logp = ctx.y(1);
  const p = g.op('Exp', [logp]);
  const c = x.shape[1] as number;
  const rank = x.shape.length;
  const labels64 = labels.dtype === 'int64' ? labels : g.op('Cast', [labels], { to: ONNX_DTYPE.int64 });
  const ignore = ctx.attrs.ignore_index ? ctx.int('ignore_index', -100) : undefined;
  const keep = ignore === undefined ? undefined : g.op('Not', [g.op('Equal', [labels64, g.constant([ignore], [], 'int64')])]);
  // Per-element weight w_y (0 where ignored), shape of labels.
  const safeLabels = keep ? g.op('Where', [keep, labels64, g.constant([0], [], 'int64')]) : labels64;
  let w: TensorRef | undefined = weights ? g.op('Gather', [weights, safeLabels], { axis: 0 }) : undefined;
  if (keep) w = w ? g.op('Where', [keep, w, g.scalar(0, x)]) : g.op('Cast', [keep], { to: ONNX_DTYPE[x.dtype] });
  // Cotangent per element of labels' shape.
  const dL = ctx.dOutputs[0];
  let coeff: TensorRef | undefined;
  if (dL) {
    const reduction = ctx.string('reduction', 'mean');
    if (reduction === 'none') coeff = w ? g.op('Mul', [dL, w]) : dL;
    else {
      let scale = dL;
      if (reduction === 'mean') {
        const denom = w ? g.op('ReduceSum', [w], { keepdims: 0 }) : g.op('Cast', [g.op('Size', [labels])], { to: ONNX_DTYPE[x.dtype] });
        scale = g.op('Div', [dL, denom]);
      }
      coeff = w ? g.op('Mul', [w, scale]) : scale;
    }
  }
  const grads: TensorRef[] = [];
  if (coeff) {
    const classShape = [1, c, ...Array<number>(rank - 2).fill(1)];
    const classes = g.constant(
      Array.from({ length: c }, (_, i) => i),
      classShape,
      'int64',
    );
    const onehot = g.op('Cast', [g.op('Equal', [g.op('Unsqueeze', [labels64, g.ints([1])]), classes])], { to: ONNX_DTYPE[x.dtype] });
    const k = coeff.shape.length === 0 ? coeff : g.op('Unsqueeze', [coeff, g.ints([1])]);
    grads.push(g.op('Mul', [g.op('Sub', [p, onehot]), k]));
  }
  // A cotangent on log_prob itself goes through the LogSoftmax rule: dlp − p·Σ_c dlp.
  const dlp = ctx.dOutputs[1];
  if (dlp) grads.push(g.op('Sub', [dlp, g.op('Mul', [p, g.op('ReduceSum', [dlp, g.ints([1])], { keepdims: 1 })])]));
  return grads.length === 2 ? g.op('Add', grads) : (grads[0] as TensorRef);
}
