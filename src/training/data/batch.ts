// Turns a list of training-set rows into one model batch: images [B, 1, S, S] float32 (augmented and
// normalized) and labels [B] int64. The augmentation of the image at position p of epoch e is drawn from
// Rng(seed, e, p) — a pure function of where it sits in the epoch — so batches are identical whichever thread
// builds them and whether or not the run was interrupted.
import { Rng, subSeed } from '../../core/rng.js';
import { type AugmentConfig, augmentInto, drawAugment, type Normalization, normalizeInto } from './augment.js';

/** Packed uint8 images (N × S × S) and their class indices; the buffers may be shared with worker threads. */
export interface ImageSet {
  images: Uint8Array;
  labels: Uint8Array;
  size: number;
  count: number;
}

export interface BatchRequest {
  /** Rows of the set, in batch order. */
  rows: Uint32Array | number[];
  /** null: no augmentation (evaluation). */
  augment: AugmentConfig | null;
  norm: Normalization;
  seed: number;
  epoch: number;
  /** Position of rows[0] in the epoch's order (the augmentation key). */
  position: number;
}

export interface PreparedBatch {
  images: Float32Array;
  labels: BigInt64Array;
}

export function prepareBatch(set: ImageSet, req: BatchRequest): PreparedBatch {
  const px = set.size * set.size;
  const n = req.rows.length;
  const images = new Float32Array(n * px);
  const labels = new BigInt64Array(n);
  for (let k = 0; k < n; k++) {
    const row = req.rows[k] as number;
    const src = set.images.subarray(row * px, (row + 1) * px);
    if (req.augment) {
      const rng = new Rng(subSeed(req.seed, 'augment', req.epoch, req.position + k));
      augmentInto(src, set.size, drawAugment(rng, set.size, req.augment), req.norm, images, k * px);
    } else {
      normalizeInto(src, req.norm, images, k * px);
    }
    labels[k] = BigInt(set.labels[row] as number);
  }
  return { images, labels };
}

/** Copies a set into SharedArrayBuffers so worker threads read it without a copy per batch. */
export function shareImageSet(set: ImageSet): ImageSet {
  const images = new Uint8Array(new SharedArrayBuffer(set.images.length));
  images.set(set.images);
  const labels = new Uint8Array(new SharedArrayBuffer(set.labels.length));
  labels.set(set.labels);
  return { images, labels, size: set.size, count: set.count };
}
