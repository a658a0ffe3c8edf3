// A fit-style example: vit-tiny learns a trivially separable synthetic 2-class set (horizontal vs vertical
// stripes under noise) in a few dozen steps. It fails if anything in forward, backward, the optimizer or the
// session's state handling is broken: the loss must fall clearly and held-out accuracy must be far above chance.
import { describe, expect, it } from 'vitest';

import { adamw, EvalSession, TrainSession, warmupCosine } from '../engine/index.js';
import { stripes } from './testing.js';
import { vitClassifier, vitConfig } from './vit.js';

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
