// Logits → class probabilities, the one copy that training, calibration, evaluation and serving all call: the
// model that is trained and calibrated is the model that is served only if its logits become probabilities
// through the very same function. Row-major logits [N, C], Float64 arithmetic, softmax(z / T) with the
// fitted temperature T. Here in core/ because it is the lowest layer all of them (and the web UI's types) import.
import { ValidationError } from './errors.js';

/** One class and its probability, as predictions list them (most probable first). */
export interface ClassProbability {
  class: string;
  probability: number;
}

/** The number of rows of logits [N, C]; ValidationError for a temperature that is not > 0 or a ragged length. */
export function logitRows(logits: ArrayLike<number>, numClasses: number, temperature = 1): number {
  if (!(temperature > 0) || !Number.isFinite(temperature)) throw new ValidationError(`temperature must be a positive number, got ${temperature}`);
  if (logits.length % numClasses !== 0) throw new ValidationError(`${logits.length} logits is not a multiple of ${numClasses} classes`);
  return logits.length / numClasses;
}

/** softmax(z / T) of each row of logits [N, C] (max-subtracted: no overflow for large logits). */
export function softmaxRows(logits: ArrayLike<number>, numClasses: number, temperature = 1): Float64Array {
  const n = logitRows(logits, numClasses, temperature);
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

/** Index of the largest of `n` values starting at `offset` (the first one on ties); the whole array by default. */
export function argmaxRow(values: ArrayLike<number>, offset = 0, n = values.length - offset): number {
  let best = 0;
  for (let c = 1; c < n; c++) if ((values[offset + c] as number) > (values[offset + best] as number)) best = c;
  return best;
}

/** Row `row` of probabilities [N, C] named by `classes`, most probable first (ties keep class order). */
export function rankClasses(classes: readonly string[], probabilities: ArrayLike<number>, row = 0): ClassProbability[] {
  const o = row * classes.length;
  return classes.map((c, i) => ({ class: c, probability: probabilities[o + i] as number })).sort((a, b) => b.probability - a.probability);
}
