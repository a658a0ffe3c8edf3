// Runs a model's eval graph over a whole labelled set in batches and returns its logits [N, C] (float32, row
// order of the set) and the mean unweighted cross-entropy — the validation loss early stopping watches.
import type { EvalSession } from '../engine/index.js';
import type { Normalization } from './data/augment.js';
import { type ImageSet, prepareBatch } from './data/batch.js';
import { meanNll } from './metrics/softmax.js';

export interface SetPredictions {
  logits: Float32Array;
  labels: Uint8Array;
  loss: number;
}

export async function predictSet(session: EvalSession, set: ImageSet, norm: Normalization, numClasses: number, batchSize: number): Promise<SetPredictions> {
  const logits = new Float32Array(set.count * numClasses);
  for (let start = 0; start < set.count; start += batchSize) {
    const rows = Array.from({ length: Math.min(batchSize, set.count - start) }, (_, k) => start + k);
    const batch = prepareBatch(set, { rows, augment: null, norm, seed: 0, epoch: 0, position: 0 });
    const out = await session.run({ images: { data: batch.images, shape: [rows.length, 1, set.size, set.size] } });
    logits.set(out.logits, start * numClasses);
  }
  const labels = set.labels.subarray(0, set.count);
  return { logits, labels, loss: set.count > 0 ? meanNll(logits, labels, numClasses) : Number.NaN };
}
