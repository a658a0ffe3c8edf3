// Negative log-likelihood of row-major logits [N, C] at a temperature T (−log softmax(z / T)[label]), the
// quantity calibration minimizes; the softmax is core/probabilities.ts's, shared with serving. Float64 throughout.
import { ValidationError } from '../../core/errors.js';
import { logitRows } from '../../core/probabilities.js';

/** The softmax itself is core/probabilities.ts's, the same function serving calls. */
export { softmaxRows } from '../../core/probabilities.js';

/** Mean −log softmax(z / T)[label] over the rows. */
export function meanNll(logits: ArrayLike<number>, labels: ArrayLike<number>, numClasses: number, temperature = 1): number {
  const n = logitRows(logits, numClasses, temperature);
  if (labels.length !== n) throw new ValidationError(`NLL: ${n} rows of logits but ${labels.length} labels`);
  if (n === 0) return 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const o = i * numClasses;
    let max = -Infinity;
    for (let c = 0; c < numClasses; c++) max = Math.max(max, (logits[o + c] as number) / temperature);
    let sum = 0;
    for (let c = 0; c < numClasses; c++) sum += Math.exp((logits[o + c] as number) / temperature - max);
    total += max + Math.log(sum) - (logits[o + (labels[i] as number)] as number) / temperature;
  }
  return total / n;
}
