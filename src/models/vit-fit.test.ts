// A fit-style example: vit-tiny learns a trivially separable synthetic 2-class set (horizontal vs vertical
// stripes under noise) in a few dozen steps. It fails if anything in forward, backward, the optimizer or the
// session's state handling is broken: the loss must fall clearly and held-out accuracy must be far above chance.
import { describe, expect, it } from 'vitest';

import { adamw, type Batch, EvalSession, TrainSession, warmupCosine } from '../engine/index.js';
import { vitClassifier, vitConfig } from './vit.js';

const SIZE = 32;

/** n images of class (i + offset) % 2: stripes of random phase and period along rows (0) or columns (1). */
function stripes(n: number, seed: number): { batch: Batch; labels: number[] } {
  let s = seed >>> 0;
  const rand = (): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const images = new Float32Array(n * SIZE * SIZE);
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = rand() < 0.5 ? 0 : 1;
    labels.push(c);
    const period = 4 + Math.floor(rand() * 5);
    const phase = rand() * 2 * Math.PI;
    for (let y = 0; y < SIZE; y++) {
      for (let x = 0; x < SIZE; x++) {
        const t = c === 0 ? y : x;
        images[i * SIZE * SIZE + y * SIZE + x] = Math.sin((2 * Math.PI * t) / period + phase) + (rand() - 0.5);
      }
    }
  }
  return {
    batch: { images: { data: images, shape: [n, 1, SIZE, SIZE] }, labels: { data: BigInt64Array.from(labels, BigInt), shape: [n] } },
    labels,
  };
}

describe('vit-tiny fit example', () => {
  it('learns horizontal vs vertical stripes in 40 steps', async () => {
    const cfg = vitConfig('vit-tiny', { numClasses: 2 });
    const build = vitClassifier(cfg);
    const steps = 40;
    const session = await TrainSession.create(build, {
      optimizer: adamw({ weightDecay: 0.05 }),
      lr: warmupCosine({ peakLr: 3e-3, warmupSteps: 5, totalSteps: steps }),
      clipGradNorm: 1,
      seed: 7,
    });
    const losses: number[] = [];
    for (let k = 0; k < steps; k++) losses.push((await session.step(stripes(16, 100 + k).batch)).loss);
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    const first = mean(losses.slice(0, 5));
    const last = mean(losses.slice(-5));
    expect(first).toBeGreaterThan(0.6); // starts near ln 2
    expect(last).toBeLessThan(first * 0.5);

    const held = stripes(64, 999);
    const ev = await EvalSession.create(build, { state: () => session.stateTensors(['param', 'buffer']) });
    const { logits } = await ev.run({ images: held.batch.images! });
    const correct = held.labels.filter((c, i) => (logits[2 * i + 1]! > logits[2 * i]! ? 1 : 0) === c).length;
    expect(correct / held.labels.length).toBeGreaterThan(0.85);
    await Promise.all([session.release(), ev.release()]);
  });
});
