// The classifier inside the one training loop (loop.ts): a step is one session run on images and labels (or a mixed
// batch's soft targets), the tally
// counts top-1 hits, validation is the mean cross-entropy (the monitored figure, lower is better), accuracy and
// macro-F1 of the live eval session on val.
import { SECONDREAD_CLASSES } from '../data/classes.js';
import type { EvalSession, TrainSession } from '../engine/index.js';
import type { Normalization } from './data/augment.js';
import type { ImageSet, PreparedBatch } from './data/batch.js';
import { predictSet } from './evaluate.js';
import type { LoopTask, Validation } from './loop.js';
import { argmaxRow } from './metrics/confusion.js';
import { accuracy, classFigures, confusionMatrix, macroF1 } from './metrics/index.js';

const NUM_CLASSES = SECONDREAD_CLASSES.length;

function countCorrect(logits: ArrayLike<number>, labels: BigInt64Array): number {
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (BigInt(argmaxRow(logits, i * NUM_CLASSES, NUM_CLASSES)) === labels[i]) correct++;
  return correct;
}

export function classifyLoopTask(session: TrainSession, evalSession: EvalSession, norm: Normalization, size: number): LoopTask {
  return {
    accuracy: true,
    monitor: 'min',
    step(prepared: PreparedBatch) {
      const n = prepared.labels.length;
      const images = { data: prepared.images, shape: [n, 1, size, size] };
      // A mixed batch (mixup / cutmix) trains on its soft targets, any other on the labels.
      return session.step(
        prepared.targets
          ? { images, targets: { data: prepared.targets, shape: [n, prepared.targets.length / n] } }
          : { images, labels: { data: prepared.labels, shape: [n] } },
      );
    },
    correct: (r, prepared) => countCorrect(r.logits, prepared.labels),
    async validate(set: ImageSet, batchSize: number): Promise<Validation> {
      const val = await predictSet(evalSession, set, norm, NUM_CLASSES, batchSize);
      const predicted = Array.from({ length: set.count }, (_, i) => argmaxRow(val.logits, i * NUM_CLASSES, NUM_CLASSES));
      const cm = confusionMatrix(val.labels, predicted, NUM_CLASSES);
      const valAccuracy = accuracy(cm);
      const valMacroF1 = macroF1(classFigures(cm));
      return {
        monitored: val.loss,
        record: { valLoss: val.loss, valAccuracy, valMacroF1 },
        figures: { loss: val.loss, accuracy: valAccuracy, macro_f1: valMacroF1 },
        info: { 'val loss': val.loss, 'val acc': valAccuracy },
      };
    },
  };
}
