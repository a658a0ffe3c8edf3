// Accuracy and per-class precision / recall / F1 from a confusion matrix.
//
// Conventions (sklearn's with zero_division=0 and labels = classes in the truth ∪ the predictions):
// - a class that occurs in the truth but is never predicted has precision 0 (not undefined) and F1 0;
// - a class that is predicted but never occurs has recall 0 and F1 0;
// - a class that is neither true nor predicted anywhere has null figures and is left out of macro averages.
import type { ConfusionMatrix } from './confusion.js';

export interface ClassFigures {
  precision: number | null;
  recall: number | null;
  f1: number | null;
  /** True instances of the class. */
  support: number;
  /** How often the class was predicted. */
  predicted: number;
}

export function accuracy(cm: ConfusionMatrix): number {
  let correct = 0;
  let total = 0;
  cm.forEach((row, i) => {
    row.forEach((v, j) => {
      total += v;
      if (i === j) correct += v;
    });
  });
  return total === 0 ? 0 : correct / total;
}

export function classFigures(cm: ConfusionMatrix): ClassFigures[] {
  return cm.map((row, c) => {
    const tp = row[c] ?? 0;
    const support = row.reduce((a, b) => a + b, 0);
    const predicted = cm.reduce((a, r) => a + (r[c] ?? 0), 0);
    if (support === 0 && predicted === 0) return { precision: null, recall: null, f1: null, support, predicted };
    const precision = predicted > 0 ? tp / predicted : 0;
    const recall = support > 0 ? tp / support : 0;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    return { precision, recall, f1, support, predicted };
  });
}

/** Unweighted mean of the non-null values (null when there are none). */
export function meanDefined(values: readonly (number | null)[]): number | null {
  const xs = values.filter((v): v is number => v !== null);
  return xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Macro-F1 over the classes present in the truth or the predictions. */
export function macroF1(figures: readonly ClassFigures[]): number | null {
  return meanDefined(figures.map((f) => f.f1));
}
