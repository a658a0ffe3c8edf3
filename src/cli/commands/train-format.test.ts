// The summary `secondread train` prints at the end of a run, pinned line for line: the classifier's and the
// detector's share their head (run, dataset, model, epochs, budget) and their per-set lines.
import { describe, expect, it } from 'vitest';

import { SECONDREAD_CLASSES } from '../../data/classes.js';
import type { TrainResult } from '../../training/index.js';
import { formatDetectionResult, formatTrainResult } from './train.js';

const run = { id: 'run_1', params: { experiment: 'exp' } };
const common = {
  datasetVersion: 'ds-1',
  epochsTrained: 3,
  stoppedEarly: true,
  bestEpoch: 2,
  training: { steps: 120, seconds: 90, imagesPerSecond: 42.46 },
  budget: { seconds: 600, elapsed: 300, totalSteps: 200, plans: 1, deadlineReached: true },
};
const classRep = (count: number) => ({
  count,
  accuracy: 0.9,
  macroF1: 0.85,
  macroAuc: 0.95,
  ece: 0.05,
  eceUncalibrated: 0.08,
  confusion: SECONDREAD_CLASSES.map((_, i) => SECONDREAD_CLASSES.map((_, j) => (i === j ? 1 : 0))),
});
const detRep = (images: number) => ({
  images,
  truthBoxes: 30,
  map40: 0.5,
  map50: 0.4,
  mapCoco: null,
  froc: { sensitivity: [{ fpPerImage: 0.5, sensitivity: 0.61 }], mean: 0.61 },
  perClass: [{ class: 'Nodule/Mass', truthBoxes: 12, ap40: 0.5, ap50: 0.4, apCoco: null }],
});

describe('train summary', () => {
  it('classifier: head, budget, temperature, one line per evaluated set', () => {
    const metrics = {
      ...common,
      model: { name: 'vit-small', imageSize: 64 },
      calibration: { temperature: 1.5, nllBefore: 0.5, nllAfter: 0.4 },
      val: classRep(40),
      test: classRep(50),
      finalEval: null,
    };
    const lines = formatTrainResult({ status: 'finished', run, metrics } as unknown as TrainResult).split('\n');
    expect(lines.slice(0, 6)).toEqual([
      'run run_1 finished (experiment exp, dataset ds-1, vit-small 64×64)',
      '  trained 3 epochs (stopped early), best epoch 2, 120 steps in 90.0 s (42 img/s)',
      '  time budget 10.0 min: 5.0 min used, 200 steps planned (1 plan), the budget ran out at step 120 of 200 planned',
      '  temperature 1.500 (val NLL 0.5000 → 0.4000)',
      '  val        n=   40  accuracy 90.0%  macro-F1 85.0%  macro-AUC 0.950  ECE 0.050 (uncalibrated 0.080)',
      '  test       n=   50  accuracy 90.0%  macro-F1 85.0%  macro-AUC 0.950  ECE 0.050 (uncalibrated 0.080)',
    ]);
    expect(lines[6]).toBe('');
    expect(lines[7]).toBe('test confusion matrix:');
  });

  it('detector: head with the mAP epoch rule, one line per evaluated set, per-class table', () => {
    const detection = { ...common, budget: null, model: { name: 'det-nano', imageSize: 256 }, val: detRep(8), test: null, finalEval: detRep(4) };
    const text = formatDetectionResult({ status: 'finished', run, detection } as unknown as TrainResult & { detection: never });
    expect(text.split('\n').slice(0, 7)).toEqual([
      'run run_1 finished (experiment exp, dataset ds-1, det-nano 256×256)',
      '  trained 3 epochs (stopped early), best epoch 2 (val mAP@0.5), 120 steps in 90.0 s (42.5 img/s)',
      '  val        images     8 boxes    30  mAP@0.4 0.500  mAP@0.5 0.400  COCO mAP —  FROC 0.5:0.61 (mean 0.610)',
      '  final_eval images     4 boxes    30  mAP@0.4 0.500  mAP@0.5 0.400  COCO mAP —  FROC 0.5:0.61 (mean 0.610)',
      '',
      'val per class (VOC AP@0.4, AP@0.5, COCO AP):',
      '  Nodule/Mass  truth   12  0.500  0.400  —',
    ]);
  });
});
