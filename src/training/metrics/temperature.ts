// Temperature scaling (Guo et al. 2017): one scalar T > 0 divides every logit so that softmax(z / T) minimizes the
// negative log-likelihood of held-out (validation) labels. Predictions (the argmax) do not change; confidences do.
//
// NLL(β·z) is convex in β = 1/T (log-sum-exp of a linear function minus a linear function), hence unimodal in
// u = ln T as well, so a golden-section search over u finds the minimum without derivatives. The search is bounded
// to T ∈ [0.05, 20]: on perfectly separated data the NLL keeps falling as T → 0 and the bound is returned.
import { ValidationError } from '../../core/errors.js';
import { meanNll } from './softmax.js';

export const TEMPERATURE_BOUNDS = { min: 0.05, max: 20 } as const;

export interface TemperatureFit {
  temperature: number;
  nllBefore: number;
  nllAfter: number;
}

export function fitTemperature(logits: ArrayLike<number>, labels: ArrayLike<number>, numClasses: number, tolerance = 1e-6): TemperatureFit {
  if (labels.length === 0) throw new ValidationError('temperature scaling needs at least one labelled example');
  const f = (u: number): number => meanNll(logits, labels, numClasses, Math.exp(u));
  const invPhi = (Math.sqrt(5) - 1) / 2;
  let a = Math.log(TEMPERATURE_BOUNDS.min);
  let b = Math.log(TEMPERATURE_BOUNDS.max);
  let c = b - invPhi * (b - a);
  let d = a + invPhi * (b - a);
  let fc = f(c);
  let fd = f(d);
  while (b - a > tolerance) {
    if (fc <= fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - invPhi * (b - a);
      fc = f(c);
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + invPhi * (b - a);
      fd = f(d);
    }
  }
  // The interval may have closed on a bound; compare the ends so a monotone NLL returns the right bound.
  const candidates = [(a + b) / 2, Math.log(TEMPERATURE_BOUNDS.min), Math.log(TEMPERATURE_BOUNDS.max)];
  let best = candidates[0]!;
  let bestF = f(best);
  for (const u of candidates.slice(1)) {
    const fu = f(u);
    if (fu < bestF) {
      best = u;
      bestF = fu;
    }
  }
  return { temperature: Math.exp(best), nllBefore: meanNll(logits, labels, numClasses, 1), nllAfter: bestF };
}
