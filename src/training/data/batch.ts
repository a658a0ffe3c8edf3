// Turns a list of training-set rows into one model batch: images [B, 1, S, S] float32 (augmented and
// normalized) and labels [B] int64, mixed with mixup / cutmix when asked (mix.ts: then soft targets [B, C] too);
// for a detection set also each image's boxes, moved by the same augmentation (augment-boxes.ts).
// The augmentation of the image at position p of epoch e is drawn from
// Rng(seed, e, p) — a pure function of where it sits in the epoch — so batches are identical whichever thread
// builds them and whether or not the run was interrupted.
import { Rng, subSeed } from '../../core/rng.js';
import { type AugmentConfig, augmentInto, drawAugment, type Normalization, normalizeInto } from './augment.js';
import { augmentBoxes, drawBoxAugment } from './augment-boxes.js';
import { applyMix, drawMix, type MixConfig, mixEnabled } from './mix.js';

/**
 * Boxes of a set's images, flat: image i's boxes are rows offsets[i] … offsets[i + 1] − 1 of `coords` (x0, y0, x1,
 * y1 in model-input pixels, after the letterbox) and `classes` (detection class indices).
 */
export interface BoxTable {
  coords: Float32Array;
  classes: Uint8Array;
  offsets: Uint32Array;
}

/** A batch's boxes: `counts[k]` boxes of image k, in image order. */
export interface BatchBoxes {
  coords: Float32Array;
  classes: Uint8Array;
  counts: Uint32Array;
}

/**
 * Packed uint8 images (N × S × S) and their class indices (for a detection set: the split's stratum), and a
 * detection set's boxes; the buffers may be shared with worker threads.
 */
export interface ImageSet {
  images: Uint8Array;
  labels: Uint8Array;
  size: number;
  count: number;
  boxes?: BoxTable;
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
  /** Mixup / CutMix of the augmented batch (mix.ts); absent or all-zero: none. */
  mix?: MixConfig | null;
}

export interface PreparedBatch {
  images: Float32Array;
  labels: BigInt64Array;
  /** Soft targets [B, classes] when the batch is mixed (labels then hold each image's first class). */
  targets?: Float32Array;
  /** A detection set's boxes, augmented with their images. */
  boxes?: BatchBoxes;
}

/** The boxes of `row` in `table`, as [M, 4] corners and classes. */
export function boxesOf(table: BoxTable, row: number): { coords: Float32Array; classes: Uint8Array } {
  const [a, b] = [table.offsets[row] as number, table.offsets[row + 1] as number];
  return { coords: table.coords.subarray(4 * a, 4 * b), classes: table.classes.subarray(a, b) };
}

export function prepareBatch(set: ImageSet, req: BatchRequest): PreparedBatch {
  const px = set.size * set.size;
  const n = req.rows.length;
  const images = new Float32Array(n * px);
  const labels = new BigInt64Array(n);
  const coords: number[] = [];
  const classes: number[] = [];
  const counts = new Uint32Array(n);
  for (let k = 0; k < n; k++) {
    const row = req.rows[k] as number;
    const src = set.images.subarray(row * px, (row + 1) * px);
    const own = set.boxes && boxesOf(set.boxes, row);
    if (req.augment) {
      const rng = new Rng(subSeed(req.seed, 'augment', req.epoch, req.position + k));
      const p = own ? drawBoxAugment(rng, set.size, req.augment) : drawAugment(rng, set.size, req.augment);
      augmentInto(src, set.size, p, req.norm, images, k * px);
      if (own) {
        const moved = augmentBoxes(own.coords, set.size, p);
        coords.push(...moved.boxes);
        for (const m of moved.kept) classes.push(own.classes[m] as number);
        counts[k] = moved.kept.length;
      }
    } else {
      normalizeInto(src, req.norm, images, k * px);
      if (own) {
        coords.push(...own.coords);
        classes.push(...own.classes);
        counts[k] = own.classes.length;
      }
    }
    labels[k] = BigInt(set.labels[row] as number);
  }
  if (set.boxes) return { images, labels, boxes: { coords: Float32Array.from(coords), classes: Uint8Array.from(classes), counts } };
  if (!mixEnabled(req.mix)) return { images, labels };
  const draw = drawMix(new Rng(subSeed(req.seed, 'mix', req.epoch, req.position)), req.mix, set.size);
  return { images, labels, targets: applyMix(images, labels, set.size, req.mix.numClasses, draw) };
}

function shared<T extends Uint8Array | Uint32Array | Float32Array>(a: T): T {
  const out = new (a.constructor as new (b: SharedArrayBuffer) => T)(new SharedArrayBuffer(a.byteLength));
  out.set(a);
  return out;
}

/** Copies a set into SharedArrayBuffers so worker threads read it without a copy per batch. */
export function shareImageSet(set: ImageSet): ImageSet {
  const out: ImageSet = { images: shared(set.images), labels: shared(set.labels), size: set.size, count: set.count };
  if (set.boxes) out.boxes = { coords: shared(set.boxes.coords), classes: shared(set.boxes.classes), offsets: shared(set.boxes.offsets) };
  return out;
}

/** The buffers a prepared batch owns (moved to the main thread without a copy). */
export function batchBuffers(b: PreparedBatch): ArrayBuffer[] {
  const all = [b.images, b.labels, ...(b.targets ? [b.targets] : []), ...(b.boxes ? [b.boxes.coords, b.boxes.classes, b.boxes.counts] : [])];
  return all.map((a) => a.buffer as ArrayBuffer);
}
