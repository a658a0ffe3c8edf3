// Confusion matrix: rows are the true class, columns the predicted class (sklearn's convention), so row sums are
// each class's support and column sums how often it was predicted.
import { ValidationError } from '../../core/errors.js';

export type ConfusionMatrix = number[][];

export function confusionMatrix(truth: ArrayLike<number>, predicted: ArrayLike<number>, numClasses: number): ConfusionMatrix {
  if (truth.length !== predicted.length) throw new ValidationError(`confusion matrix: ${truth.length} labels but ${predicted.length} predictions`);
  const m = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < truth.length; i++) {
    const t = truth[i] as number;
    const p = predicted[i] as number;
    if (!(t >= 0 && t < numClasses && p >= 0 && p < numClasses))
      throw new ValidationError(`confusion matrix: class index out of range at row ${i} (truth ${t}, predicted ${p}, ${numClasses} classes)`);
    (m[t] as number[])[p]! += 1;
  }
  return m;
}

/** The argmax is core/probabilities.ts's, the one serving and evaluation use. */
export { argmaxRow } from '../../core/probabilities.js';
