// What every image classifier of models/ shares: the session model around a network — the `images` input,
// and in train mode `labels` (or soft `targets`: mixup, cutmix) and the softmax cross-entropy loss (class weights,
// label smoothing).
import { EngineError, type Graph, type ModelBuilder, ops, type TensorRef } from '../engine/index.js';

export interface ClassifierOptions {
  /** Name of the image input (default 'images'); labels are 'labels' (int64 [batch]). */
  input?: string;
  labelSmoothing?: number;
  /** Per-class loss weights [numClasses] (class balancing); unweighted when absent. */
  classWeights?: readonly number[];
  /**
   * Train on class probabilities: the train graph reads `targets` [batch, numClasses] (float32, rows summing to 1,
   * e.g. mixup's λ·onehot(a) + (1 − λ)·onehot(b)) instead of `labels`. The eval graph is the same either way.
   */
  softTargets?: boolean;
}

/** The input geometry and class count a classifier needs from its model config. */
export interface ClassifierShape {
  imageSize: number;
  inChannels: number;
  numClasses: number;
}

/**
 * A session model of `network` (images [B, C, H, W] → logits [B, classes] and the embedding its head reads):
 * declares `images` [batch, C, H, W] (float32); an eval graph outputs logits and embedding (drift monitoring reads
 * the embedding), a train graph reads `labels` [batch] (int64), or `targets` [batch, classes] (float32) with
 * `softTargets`, and outputs a softmax cross-entropy loss.
 */
export function classifierHead(
  cfg: ClassifierShape,
  opts: ClassifierOptions,
  network: (g: Graph, images: TensorRef) => { logits: TensorRef; embedding: TensorRef },
): ModelBuilder {
  const inputName = opts.input ?? 'images';
  const cw = opts.classWeights;
  if (cw && (cw.length !== cfg.numClasses || cw.some((w) => !(w >= 0) || !Number.isFinite(w)))) {
    throw new EngineError('invalid_argument', `classWeights must be ${cfg.numClasses} finite numbers >= 0`);
  }
  return (g: Graph) => {
    const images = g.input(inputName, 'float32', ['batch', cfg.inChannels, cfg.imageSize, cfg.imageSize]);
    const { logits, embedding } = network(g, images);
    if (g.mode === 'eval') return { logits, embedding };
    const weights = cw ? g.constant([...cw], [cfg.numClasses], 'float32') : undefined;
    const loss = opts.softTargets
      ? ops.softTargetCrossEntropy(g, logits, g.input('targets', 'float32', ['batch', cfg.numClasses]), { labelSmoothing: opts.labelSmoothing, weights })
      : ops.softmaxCrossEntropy(g, logits, g.input('labels', 'int64', ['batch']), { labelSmoothing: opts.labelSmoothing, weights });
    return { logits, loss };
  };
}
