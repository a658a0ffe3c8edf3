// Area under the ROC curve by the Mann–Whitney statistic: the probability that a random positive scores higher
// than a random negative, ties counting one half. Ties get their average rank, which gives exactly that.
import { ValidationError } from '../../core/errors.js';
import { meanDefined } from './classification.js';

/** AUC of `scores` for the binary truth `positive`; null when either class is absent (AUC is undefined). */
export function binaryAuc(scores: ArrayLike<number>, positive: ArrayLike<boolean>): number | null {
  const n = scores.length;
  if (positive.length !== n) throw new ValidationError(`AUC: ${n} scores but ${positive.length} labels`);
  let nPos = 0;
  for (let i = 0; i < n; i++) if (positive[i]) nPos++;
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0) return null;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (scores[a] as number) - (scores[b] as number));
  let rankSumPos = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]!] === scores[order[i]!]) j++;
    const avgRank = (i + j) / 2 + 1; // 1-based ranks i+1 … j+1
    for (let k = i; k <= j; k++) if (positive[order[k]!]) rankSumPos += avgRank;
    i = j + 1;
  }
  return (rankSumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

/** One-vs-rest AUC per class from row-major probabilities [N, C]; null for a class absent from (or filling) the truth. */
export function oneVsRestAuc(probs: ArrayLike<number>, labels: ArrayLike<number>, numClasses: number): (number | null)[] {
  const n = labels.length;
  if (probs.length !== n * numClasses) throw new ValidationError(`AUC: ${probs.length} probabilities for ${n} rows × ${numClasses} classes`);
  const column = new Float64Array(n);
  const positive = new Array<boolean>(n);
  return Array.from({ length: numClasses }, (_, c) => {
    for (let i = 0; i < n; i++) {
      column[i] = probs[i * numClasses + c] as number;
      positive[i] = labels[i] === c;
    }
    return binaryAuc(column, positive);
  });
}

export function macroAuc(perClass: readonly (number | null)[]): number | null {
  return meanDefined(perClass);
}
