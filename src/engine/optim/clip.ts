// Global-norm gradient clipping (torch.nn.utils.clip_grad_norm_ semantics):
//   n = √(Σ_i ‖g_i‖²),  s = min(1, maxNorm / (n + 1e-6)),  every g_i is scaled by s.
// Returned as the scalar s (optimizers fold it into their coefficients instead of rewriting every gradient) and
// the norm n (a graph output worth logging: spikes show instability before the loss does).
import { EngineError } from '../errors.js';
import type { Graph, TensorRef } from '../graph.js';

export function globalGradNorm(g: Graph, grads: readonly TensorRef[]): TensorRef {
  if (grads.length === 0) throw new EngineError('invalid_argument', 'globalGradNorm needs at least one gradient');
  const squares = grads.map((t) => g.op('ReduceSumSquare', [t], { keepdims: 0 }));
  const total = squares.length === 1 ? (squares[0] as TensorRef) : g.op('Sum', squares);
  return g.op('Sqrt', [total]);
}

export function clipScale(g: Graph, norm: TensorRef, maxNorm: number): TensorRef {
  if (!(maxNorm > 0)) throw new EngineError('invalid_argument', `maxNorm must be > 0, got ${maxNorm}`);
  const coef = g.op('Div', [g.scalar(maxNorm, norm), g.op('Add', [norm, g.scalar(1e-6, norm)])]);
  return g.op('Min', [coef, g.scalar(1, norm)]);
}
