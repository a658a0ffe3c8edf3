// Which training images an epoch visits, in which order, and how classes are balanced. Everything is a pure
// function of (seed, epoch), so an epoch resumed after a crash visits exactly the images it would have.
//
// Balancing, `--balance`:
// - 'weights': every image once per epoch, shuffled; the loss weighs class c by N / (K · n_c) (K classes present),
//   so each class contributes equally to the gradient in expectation.
// - 'sampler': N draws with replacement per epoch, class uniform among the present classes, image uniform in its
//   class; the loss is unweighted. Rare classes are seen more often (and augmented differently each time).
// - 'none': every image once per epoch, shuffled, unweighted.
import { Rng, subSeed } from '../../core/rng.js';

export const BALANCE_MODES = ['weights', 'sampler', 'none'] as const;
export type BalanceMode = (typeof BALANCE_MODES)[number];

export function classCounts(labels: ArrayLike<number>, numClasses: number): number[] {
  const counts = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < labels.length; i++) counts[labels[i] as number]! += 1;
  return counts;
}

/** Inverse-frequency loss weights N / (K · n_c); 0 for a class with no training images. */
export function inverseFrequencyWeights(labels: ArrayLike<number>, numClasses: number): number[] {
  const counts = classCounts(labels, numClasses);
  const present = counts.filter((n) => n > 0).length;
  return counts.map((n) => (n > 0 ? labels.length / (present * n) : 0));
}

/** Fisher–Yates permutation of 0…n−1 seeded by (seed, epoch). */
export function shuffledOrder(n: number, seed: number, epoch: number): Uint32Array {
  const rng = new Rng(subSeed(seed, 'shuffle', epoch));
  const order = Uint32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(0, i);
    const t = order[i] as number;
    order[i] = order[j] as number;
    order[j] = t;
  }
  return order;
}

/** n draws with replacement, class uniform among present classes, image uniform within the class. */
export function balancedOrder(labels: ArrayLike<number>, numClasses: number, seed: number, epoch: number): Uint32Array {
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < labels.length; i++) byClass[labels[i] as number]!.push(i);
  const present = byClass.filter((members) => members.length > 0);
  const rng = new Rng(subSeed(seed, 'balanced', epoch));
  const order = new Uint32Array(labels.length);
  for (let k = 0; k < order.length; k++) order[k] = rng.pick(rng.pick(present));
  return order;
}

/** The images of one epoch, in visiting order. */
export function epochOrder(labels: ArrayLike<number>, numClasses: number, mode: BalanceMode, seed: number, epoch: number): Uint32Array {
  return mode === 'sampler' ? balancedOrder(labels, numClasses, seed, epoch) : shuffledOrder(labels.length, seed, epoch);
}
