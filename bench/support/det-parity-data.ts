// What bench/det-parity.ts hands the PyTorch peer (bench/peers/detector_torch.py `train`) and reads back: a dataset
// version's train/val/test as the engine's detector trainer holds them (letterboxed uint8 images in model-input
// pixels, fused reference boxes in input pixels) written as raw little-endian arrays plus index.json (the model
// config, the engine's recipe, the normalization and the evaluation thresholds), and the peer's JSON answer with
// its test detections as the engine's metrics take them.
//
// Per split s (train, val, test), N images of side S, M boxes in all:
//   s-images.u8  N·S·S bytes, image-major    s-coords.f32   M × (x0, y0, x1, y1) float32
//   s-classes.u8 M class indices              s-offsets.u32  N + 1 uint32: image i's boxes are rows offsets[i] … offsets[i+1] − 1
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { ValidationError } from '../../src/core/errors.js';
import type { ImagePredictions } from '../../src/data/detection/types.js';
import type { DetectorConfig } from '../../src/models/detector.js';
import type { DetectionThresholds } from '../../src/models/detector-export.js';
import type { AugmentConfig, Normalization } from '../../src/training/data/augment.js';
import type { ImageSet } from '../../src/training/data/batch.js';
import type { ResolvedTrainOptions } from '../../src/training/options.js';
import { loopSettings } from '../../src/training/trainer.js';
import { runPeer } from '../train-step.js';

export const PEER_SPLITS = ['train', 'val', 'test'] as const;
export type PeerSplit = (typeof PEER_SPLITS)[number];

/** The engine's run recipe as the peer follows it (trainer.ts, loop.ts). */
export interface PeerRecipe {
  epochs: number;
  batchSize: number;
  lr: number;
  /** The cosine's floor as a share of lr. */
  minLrRatio: number;
  /** AdamW's decoupled decay, applied (as the engine's decayMatricesOnly) to tensors of rank ≥ 2 only. */
  weightDecay: number;
  warmupEpochs: number;
  clipGradNorm: number;
  /** Epochs without a better val mAP@0.5 before stopping; 0: never. */
  patience: number;
  seed: number;
  evalBatchSize: number;
  /** The loop's augmentation (null: none). */
  augment: AugmentConfig | null;
}

/**
 * The recipe of a run with options `o` over `epochs` epochs on `trainCount` images (the cosine spans `epochs`, also
 * for a run that trained under a time budget). Refuses what the peer does not do: a weight average (EMA), the
 * balanced sampler.
 */
export function peerRecipe(o: ResolvedTrainOptions, epochs: number, trainCount: number): PeerRecipe {
  const refused = [
    ['--ema-decay (the peer keeps no weight average)', o.emaDecay > 0],
    ['--balance sampler (the peer shuffles)', o.balance === 'sampler'],
  ] as const;
  const what = refused.filter(([, on]) => on).map(([flag]) => flag);
  if (what.length > 0) throw new ValidationError(`the PyTorch peer does not follow ${what.join(', ')}`);
  const batchSize = Math.min(o.batchSize, trainCount);
  const s = loopSettings({ ...o, epochs }, batchSize);
  return {
    epochs,
    batchSize,
    lr: o.lr,
    minLrRatio: o.minLrRatio,
    weightDecay: o.weightDecay,
    warmupEpochs: o.warmupEpochs,
    clipGradNorm: o.clipGradNorm,
    patience: s.patience,
    seed: s.seed,
    evalBatchSize: s.evalBatchSize,
    augment: s.augment,
  };
}

export interface PeerIndex {
  config: DetectorConfig;
  recipe: PeerRecipe;
  norm: Normalization;
  thresholds: DetectionThresholds;
  size: number;
  splits: Record<PeerSplit, { count: number; boxes: number }>;
}

const bytes = (a: Uint8Array | Uint32Array | Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** Writes the sets (each with its boxes) and index.json into `dir`; returns the index. */
export async function writePeerData(dir: string, sets: Record<PeerSplit, ImageSet>, meta: Omit<PeerIndex, 'size' | 'splits'>): Promise<PeerIndex> {
  const splits = {} as PeerIndex['splits'];
  for (const split of PEER_SPLITS) {
    const set = sets[split];
    if (!set.boxes) throw new Error(`the ${split} set has no boxes: det-parity needs a detection version`);
    if (set.size !== meta.config.imageSize) throw new Error(`the ${split} set is ${set.size} px, the model takes ${meta.config.imageSize} px`);
    const px = set.size * set.size;
    const offsets = set.boxes.offsets.subarray(0, set.count + 1);
    const m = offsets[set.count] as number;
    await writeFile(join(dir, `${split}-images.u8`), bytes(set.images.subarray(0, set.count * px)));
    await writeFile(join(dir, `${split}-coords.f32`), bytes(set.boxes.coords.subarray(0, 4 * m)));
    await writeFile(join(dir, `${split}-classes.u8`), bytes(set.boxes.classes.subarray(0, m)));
    await writeFile(join(dir, `${split}-offsets.u32`), bytes(offsets));
    splits[split] = { count: set.count, boxes: m };
  }
  const index: PeerIndex = { ...meta, size: meta.config.imageSize, splits };
  await writeFile(join(dir, 'index.json'), `${JSON.stringify(index, null, 2)}\n`);
  return index;
}

/** The peer's answer (detector_torch.py `train`). */
export interface PeerTraining {
  torch: string;
  threads: number;
  params: number;
  steps_per_epoch: number;
  epochs: { epoch: number; train_loss: number; val_map50: number | null; lr: number; seconds: number }[];
  best_epoch: number;
  best_val_map50: number;
  epochs_trained: number;
  stopped_early: boolean;
  train_seconds: number;
  wall_seconds: number;
  /** Per test image (ids = row numbers): [class, x0, y0, x1, y1, score] in input pixels, best first. */
  test: { image_id: string; boxes: [number, number, number, number, number, number][] }[];
}

const PEER = join(dirname(fileURLToPath(import.meta.url)), '..', 'peers', 'detector_torch.py');

/** Trains the peer on the data written to `dir` (writePeerData); `echo` shows its per-epoch lines as they come. */
export function trainPeer(dir: string, threads: number, opts: { echo?: boolean } = {}): Promise<PeerTraining> {
  return runPeer<PeerTraining>([PEER, 'train', '--data', dir, '--threads', String(threads)], opts);
}

/** The peer's test detections as the engine's metrics take them. */
export function peerPredictions(r: PeerTraining): ImagePredictions[] {
  return r.test.map((img) => ({
    imageId: img.image_id,
    boxes: img.boxes.map(([classId, x0, y0, x1, y1, score]) => ({ classId, x0, y0, x1, y1, score })),
  }));
}
