// Every figure of a classifier on one evaluation set, from its logits and labels: accuracy, per-class precision /
// recall / F1 / one-vs-rest AUC, macro-F1, macro-AUC, NLL, expected calibration error (before and after the
// temperature) and the confusion matrix. Probabilities are softmax(logits / T): the calibrated ones a served
// model reports.
import { macroAuc, oneVsRestAuc } from './auc.js';
import { expectedCalibrationError, type ReliabilityBin } from './calibration.js';
import { accuracy, classFigures, macroF1 } from './classification.js';
import { argmaxRow, type ConfusionMatrix, confusionMatrix } from './confusion.js';
import { meanNll, softmaxRows } from './softmax.js';

export interface ClassReport {
  class: string;
  precision: number | null;
  recall: number | null;
  f1: number | null;
  auc: number | null;
  support: number;
  predicted: number;
}

export interface ClassifierReport {
  count: number;
  accuracy: number;
  macroF1: number | null;
  macroAuc: number | null;
  /** Mean negative log-likelihood at temperature T. */
  nll: number;
  /** ECE of softmax(logits / T), and of the raw softmax (T = 1). */
  ece: number;
  eceUncalibrated: number;
  temperature: number;
  perClass: ClassReport[];
  /** Rows = truth, columns = prediction, in `classes` order. */
  confusion: ConfusionMatrix;
  reliability: ReliabilityBin[];
}

export interface ReportInput {
  logits: ArrayLike<number>;
  labels: ArrayLike<number>;
  classes: readonly string[];
  temperature?: number;
  eceBins?: number;
}

export function classifierReport(input: ReportInput): ClassifierReport {
  const { logits, labels, classes } = input;
  const c = classes.length;
  const t = input.temperature ?? 1;
  const probs = softmaxRows(logits, c, t);
  const predicted = Array.from({ length: labels.length }, (_, i) => argmaxRow(logits, i * c, c));
  const cm = confusionMatrix(labels, predicted, c);
  const figures = classFigures(cm);
  const auc = oneVsRestAuc(probs, labels, c);
  const calibrated = expectedCalibrationError(probs, labels, c, input.eceBins);
  const raw = t === 1 ? calibrated : expectedCalibrationError(softmaxRows(logits, c, 1), labels, c, input.eceBins);
  return {
    count: labels.length,
    accuracy: accuracy(cm),
    macroF1: macroF1(figures),
    macroAuc: macroAuc(auc),
    nll: meanNll(logits, labels, c, t),
    ece: calibrated.ece,
    eceUncalibrated: raw.ece,
    temperature: t,
    perClass: figures.map((f, i) => ({ class: classes[i] as string, ...f, auc: auc[i] ?? null })),
    confusion: cm,
    reliability: calibrated.bins,
  };
}
