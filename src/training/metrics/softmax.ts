// Softmax probabilities and negative log-likelihood of row-major logits [N, C], with a temperature T
// (softmax(z / T)): the quantities calibration and the metrics are computed on. Float64 throughout.
import { ValidationError } from '../../core/errors.js';

function check(logits: ArrayLike<number>, numClasses: number, temperature: number): number {
  if (!(temperature > 0) || !Number.isFinite(temperature)) throw new ValidationError(`temperature must be a positive number, got ${temperature}`);
  if (logits.length % numClasses !== 0) throw new ValidationError(`${logits.length} logits is not a multiple of ${numClasses} classes`);
  return logits.length / numClasses;
}

export function softmaxRows(logits: ArrayLike<number>, numClasses: number, temperature = 1): Float64Array {
  const n = check(logits, numClasses, temperature);
  const out = new Float64Array(n * numClasses);
  for (let i = 0; i < n; i++) {
    const o = i * numClasses;
    let max = -Infinity;
    for (let c = 0; c < numClasses; c++) max = Math.max(max, (logits[o + c] as number) / temperature);
    let sum = 0;
    for (let c = 0; c < numClasses; c++) {
      const e = Math.exp((logits[o + c] as number) / temperature - max);
      out[o + c] = e;
      sum += e;
    }
    for (let c = 0; c < numClasses; c++) out[o + c]! /= sum;
  }
  return out;
}

/** Mean −log softmax(z / T)[label] over the rows. */
export function meanNll(logits: ArrayLike<number>, labels: ArrayLike<number>, numClasses: number, temperature = 1): number {
  const n = check(logits, numClasses, temperature);
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
