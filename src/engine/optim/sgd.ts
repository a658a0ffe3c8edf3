// SGD with momentum, PyTorch's formulation (torch.optim.SGD, dampening 0):
//   g ← g + wd·p                 (coupled L2 weight decay, only for params the filter selects)
//   b ← μ·b + g                  (b starts at 0, so the first step gives b = g exactly as PyTorch's lazy init)
//   p ← p − lr·(g + μ·b)  if nesterov, else  p − lr·b
// Without momentum (μ = 0) it keeps no state. lr is a scalar input fed each step.
import { EngineError } from '../errors.js';
import type { Graph, TensorRef } from '../graph.js';
import { commonDtype, type DecayFilter, decayMatricesOnly, flatBuckets, type Optimizer, type OptimizerUpdate, type ParamGrad } from './optimizer.js';

export interface SgdOptions {
  momentum?: number;
  nesterov?: boolean;
  weightDecay?: number;
  decay?: DecayFilter;
}

const LR = 'sgd.lr';

export function sgd(opts: SgdOptions = {}): Optimizer {
  const momentum = opts.momentum ?? 0.9;
  const nesterov = opts.nesterov ?? false;
  const weightDecay = opts.weightDecay ?? 0;
  const decays = opts.decay ?? decayMatricesOnly;
  if (!(momentum >= 0 && momentum < 1)) throw new EngineError('invalid_argument', `sgd: momentum must be in [0, 1), got ${momentum}`);
  if (nesterov && momentum === 0) throw new EngineError('invalid_argument', 'sgd: nesterov needs momentum > 0');
  if (!(weightDecay >= 0)) throw new EngineError('invalid_argument', `sgd: weightDecay must be >= 0, got ${weightDecay}`);

  return {
    name: 'sgd',
    config: { momentum, nesterov, weightDecay },

    build(g: Graph, pairs: readonly ParamGrad[], { gradScale }: { gradScale?: TensorRef } = {}): OptimizerUpdate {
      const dtype = commonDtype(pairs, 'sgd');
      const lr = g.input(LR, dtype, []);
      const mu = g.scalar(momentum, dtype);
      const wd = g.scalar(weightDecay, dtype);
      const update: OptimizerUpdate = { params: new Map(), state: [], scalarInputs: [LR] };
      // One flat update per decay bucket (flatBuckets); the momentum stays one state tensor per parameter.
      const decayed = (p: ParamGrad): boolean => weightDecay > 0 && decays(p.param.name, p.param.shape.map(Number));
      for (const bucket of flatBuckets(g, pairs, (p) => `${decayed(p)}`)) {
        const param = bucket.flat(bucket.pairs.map((p) => p.param));
        const grad = bucket.flat(bucket.pairs.map((p) => p.grad));
        let d = gradScale ? g.op('Mul', [grad, gradScale]) : grad;
        if (decayed(bucket.pairs[0] as ParamGrad)) d = g.op('Add', [d, g.op('Mul', [param, wd])]);
        if (momentum > 0) {
          const bs = bucket.pairs.map(({ param: p }) => g.input(`sgd.momentum.${p.name}`, dtype, p.shape));
          const b1 = g.op('Add', [g.op('Mul', [bucket.flat(bs), mu]), d]);
          bucket
            .unflat(b1)
            .forEach((updated, i) => update.state.push({ input: bs[i] as TensorRef, updated, param: (bucket.pairs[i] as ParamGrad).param.name }));
          d = nesterov ? g.op('Add', [d, g.op('Mul', [b1, mu])]) : b1;
        }
        const params = bucket.unflat(g.op('Sub', [param, g.op('Mul', [d, lr])]));
        bucket.pairs.forEach(({ param: p }, i) => update.params.set(p.name, params[i] as TensorRef));
      }
      return update;
    },

    scalars(_step: number, lr: number): Record<string, number> {
      return { [LR]: lr };
    },
  };
}
