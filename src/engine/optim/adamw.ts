// AdamW (Loshchilov & Hutter 2019) with decoupled weight decay and bias correction, in the same arithmetic order as
// torch.optim.AdamW so the two agree to rounding:
//   p ← p·(1 − lr·wd)                      (decoupled decay, only for params the filter selects)
//   m ← β1·m + (1 − β1)·g
//   v ← β2·v + (1 − β2)·g²
//   p ← p − (lr / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + ε)
// lr·wd, lr/(1−β1ᵗ) and 1/√(1−β2ᵗ) are scalar inputs computed in float64 each step (t = step + 1).
// Parameter groups (torch.optim's param_groups with lr = s·lr, e.g. layer-wise LR decay): `lrScale` gives each
// parameter a factor s; the parameters of one factor share a decay factor and step size of their own (scalar inputs
// suffixed `.lr_x<s>`), so every group is exactly AdamW at the rate s·lr. Factor-1 parameters keep the plain names.
import { EngineError } from '../errors.js';
import type { Graph, TensorRef } from '../graph.js';
import { commonDtype, type DecayFilter, decayMatricesOnly, flatBuckets, type Optimizer, type OptimizerUpdate, type ParamGrad } from './optimizer.js';

export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Decoupled weight decay (default 0.01, PyTorch's default). */
  weightDecay?: number;
  /** Which parameters decay (default: rank >= 2). */
  decay?: DecayFilter;
  /** Per-parameter learning-rate factor in (0, 1] (default: 1 for all). */
  lrScale?: (name: string, shape: readonly number[]) => number;
}

const INPUT = { decay: 'adamw.decay_factor', stepSize: 'adamw.step_size', invBc2Sqrt: 'adamw.inv_bias_correction2_sqrt' };

/** The scalar input `base` of the group with learning-rate factor `scale`. */
const grouped = (base: string, scale: number): string => (scale === 1 ? base : `${base}.lr_x${scale}`);

export function adamw(opts: AdamWOptions = {}): Optimizer {
  const beta1 = opts.beta1 ?? 0.9;
  const beta2 = opts.beta2 ?? 0.999;
  const eps = opts.eps ?? 1e-8;
  const weightDecay = opts.weightDecay ?? 0.01;
  const decays = opts.decay ?? decayMatricesOnly;
  for (const [k, v] of Object.entries({ beta1, beta2 })) {
    if (!(v >= 0 && v < 1)) throw new EngineError('invalid_argument', `adamw: ${k} must be in [0, 1), got ${v}`);
  }
  if (!(eps > 0)) throw new EngineError('invalid_argument', `adamw: eps must be > 0, got ${eps}`);
  if (!(weightDecay >= 0)) throw new EngineError('invalid_argument', `adamw: weightDecay must be >= 0, got ${weightDecay}`);
  const lrScale = opts.lrScale ?? (() => 1);
  // The factors of the groups the last build() made (scalars() fills each group's inputs).
  let scales: number[] = [1];

  return {
    name: 'adamw',
    config: { beta1, beta2, eps, weightDecay },

    build(g: Graph, pairs: readonly ParamGrad[], { gradScale }: { gradScale?: TensorRef } = {}): OptimizerUpdate {
      const dtype = commonDtype(pairs, 'adamw');
      const factor = new Map<string, number>();
      for (const { param } of pairs) {
        const s = lrScale(param.name, param.shape.map(Number));
        if (!(s > 0 && s <= 1)) throw new EngineError('invalid_argument', `adamw: the learning-rate factor of ${param.name} must be in (0, 1], got ${s}`);
        factor.set(param.name, s);
      }
      scales = [...new Set([1, ...factor.values()])].sort((a, b) => b - a);
      const groups = new Map(
        scales.map((s) => [s, { decay: g.input(grouped(INPUT.decay, s), dtype, []), step: g.input(grouped(INPUT.stepSize, s), dtype, []) }]),
      );
      const invBc2Sqrt = g.input(INPUT.invBc2Sqrt, dtype, []);
      // Gradient scaling folds into the moment coefficients: (1−β1)·s·g and (1−β2)·s²·g².
      let c1 = g.scalar(1 - beta1, dtype);
      let c2 = g.scalar(1 - beta2, dtype);
      if (gradScale) {
        c1 = g.op('Mul', [c1, gradScale]);
        c2 = g.op('Mul', [c2, g.op('Mul', [gradScale, gradScale])]);
      }
      const b1 = g.scalar(beta1, dtype);
      const b2 = g.scalar(beta2, dtype);
      const epsT = g.scalar(eps, dtype);

      const scalarInputs = [INPUT.invBc2Sqrt, ...scales.flatMap((s) => [grouped(INPUT.decay, s), grouped(INPUT.stepSize, s)])];
      const update: OptimizerUpdate = { params: new Map(), state: [], scalarInputs };
      // One flat update per (learning-rate factor, decay) bucket; the moments stay one state tensor per parameter.
      const decayed = (p: ParamGrad): boolean => weightDecay > 0 && decays(p.param.name, p.param.shape.map(Number));
      for (const bucket of flatBuckets(g, pairs, (p) => `${factor.get(p.param.name)}|${decayed(p)}`)) {
        const first = bucket.pairs[0] as ParamGrad;
        const { decay: decayFactor, step: stepSize } = groups.get(factor.get(first.param.name) as number) as { decay: TensorRef; step: TensorRef };
        const ms = bucket.pairs.map(({ param }) => g.input(`adamw.m.${param.name}`, dtype, param.shape));
        const vs = bucket.pairs.map(({ param }) => g.input(`adamw.v.${param.name}`, dtype, param.shape));
        const grad = bucket.flat(bucket.pairs.map((p) => p.grad));
        const param = bucket.flat(bucket.pairs.map((p) => p.param));
        const m1 = g.op('Add', [g.op('Mul', [bucket.flat(ms), b1]), g.op('Mul', [grad, c1])]);
        const v1 = g.op('Add', [g.op('Mul', [bucket.flat(vs), b2]), g.op('Mul', [g.op('Mul', [grad, grad]), c2])]);
        const denom = g.op('Add', [g.op('Mul', [g.op('Sqrt', [v1]), invBc2Sqrt]), epsT]);
        const step = g.op('Mul', [g.op('Div', [m1, denom]), stepSize]);
        const next = g.op('Sub', [decayed(first) ? g.op('Mul', [param, decayFactor]) : param, step]);
        const [params, m1s, v1s] = [bucket.unflat(next), bucket.unflat(m1), bucket.unflat(v1)];
        bucket.pairs.forEach(({ param: p }, i) => {
          update.params.set(p.name, params[i] as TensorRef);
          update.state.push(
            { input: ms[i] as TensorRef, updated: m1s[i] as TensorRef, param: p.name },
            { input: vs[i] as TensorRef, updated: v1s[i] as TensorRef, param: p.name },
          );
        });
      }
      return update;
    },

    scalars(step: number, lr: number): Record<string, number> {
      const t = step + 1;
      const out: Record<string, number> = { [INPUT.invBc2Sqrt]: 1 / Math.sqrt(1 - beta2 ** t) };
      for (const s of scales) {
        out[grouped(INPUT.decay, s)] = 1 - s * lr * weightDecay;
        out[grouped(INPUT.stepSize, s)] = (s * lr) / (1 - beta1 ** t);
      }
      return out;
    },
  };
}
