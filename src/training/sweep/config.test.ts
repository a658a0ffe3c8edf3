import { describe, expect, it } from 'vitest';

import { MAX_TRIALS, parseSweepFile, planSweep } from './config.js';

const plan = (yaml: string) => planSweep(parseSweepFile(yaml));

describe('sweep files', () => {
  it('expands a grid into every combination, last parameter fastest, with complete validated options', () => {
    const p = plan(`
name: lr-wd
base: { dataset: ds-1, model: vit-tiny, epochs: 3 }
parameters:
  lr: { values: [0.0005, 0.001] }
  weight-decay: { values: [0.05, 0.1, 0.2] }
`);
    expect(p).toMatchObject({ name: 'lr-wd', experiment: 'sweep-lr-wd', method: 'grid', metric: 'val_accuracy', goal: 'max' });
    expect(p.trials.map((t) => t.varied)).toEqual([
      { lr: 0.0005, weightDecay: 0.05 },
      { lr: 0.0005, weightDecay: 0.1 },
      { lr: 0.0005, weightDecay: 0.2 },
      { lr: 0.001, weightDecay: 0.05 },
      { lr: 0.001, weightDecay: 0.1 },
      { lr: 0.001, weightDecay: 0.2 },
    ]);
    // The trainer's defaults are filled in, the sweep names the runs and the experiment.
    expect(p.trials[4]!.options).toMatchObject({
      dataset: 'ds-1',
      model: 'vit-tiny',
      epochs: 3,
      lr: 0.001,
      weightDecay: 0.1,
      seed: 1,
      experiment: 'sweep-lr-wd',
      name: 'lr-wd-5',
    });
    expect(p.trials.map((t) => t.index)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('draws random trials reproducibly from the seed, inside the ranges, log scale and integers respected', () => {
    const text = (seed: number) => `
name: rnd
method: random
trials: 40
seed: ${seed}
base: { dataset: ds-1 }
parameters:
  lr: { min: 0.0001, max: 0.01, scale: log }
  epochs: { min: 2, max: 9, integer: true }
  model: { values: [vit-tiny, vit-small] }
`;
    const a = plan(text(7));
    expect(a.trials).toHaveLength(40);
    expect(plan(text(7)).trials.map((t) => t.varied)).toEqual(a.trials.map((t) => t.varied));
    expect(plan(text(8)).trials.map((t) => t.varied)).not.toEqual(a.trials.map((t) => t.varied));
    const lrs = a.trials.map((t) => t.varied.lr as number);
    expect(Math.min(...lrs)).toBeGreaterThanOrEqual(0.0001);
    expect(Math.max(...lrs)).toBeLessThanOrEqual(0.01);
    // Log-uniform: about half the draws fall below the geometric middle (1e-3), far more than a linear draw's 9%.
    expect(lrs.filter((v) => v < 0.001).length).toBeGreaterThan(10);
    expect(a.trials.every((t) => Number.isInteger(t.varied.epochs) && (t.varied.epochs as number) >= 2 && (t.varied.epochs as number) <= 9)).toBe(true);
    expect(new Set(a.trials.map((t) => t.varied.model))).toEqual(new Set(['vit-tiny', 'vit-small']));
  });

  it('refuses mistakes with a message that names them', () => {
    const base = 'name: s\nbase: { dataset: ds-1 }\n';
    expect(() => plan(`${base}parameters: { learning-rate: { values: [1] } }`)).toThrow(/'learning-rate' is not a training option/);
    expect(() => plan(`${base}parameters: { name: { values: [a] } }`)).toThrow(/set by the sweep itself/);
    expect(() => plan(`name: s\nbase: { dataset: ds-1, lr: 0.1 }\nparameters: { lr: { values: [0.2] } }`)).toThrow(/both in base and in parameters/);
    expect(() => plan(`${base}parameters: { lr: { min: 0.1, max: 1 } }`)).toThrow(/a grid needs a list of values/);
    expect(() => plan(`${base}method: random\nparameters: { lr: { min: 0.1, max: 1 } }`)).toThrow(/needs the number of draws/);
    expect(() => plan(`${base}method: random\ntrials: 2\nparameters: { lr: { min: 0, max: 1, scale: log } }`)).toThrow(/log scale needs min > 0/);
    expect(() => plan(`${base}parameters: {}`)).toThrow(/at least one option to vary/);
    expect(() => plan(`${base}parameters: { lr: { values: [-1] } }`)).toThrow(/trial 1 .*lr/);
    expect(() => plan(`${base}parameters: { model: { values: [vit-huge] } }`)).toThrow(/trial 1/);
    expect(() => plan(`name: ../etc\nparameters: { lr: { values: [1] } }`)).toThrow(/name/);
    expect(() => plan(`${base}parameters: { lr: { values: [1] } }\nextra: 1`)).toThrow(/extra|Unrecognized/);
    expect(() => parseSweepFile('name: [unclosed')).toThrow(/not valid YAML/);
    const values = `{ values: [${Array.from({ length: 30 }, (_, i) => i + 1).join(', ')}] }`;
    expect(() => plan(`${base}parameters:\n  epochs: ${values}\n  batch-size: ${values}`)).toThrow(new RegExp(`900 combinations \\(at most ${MAX_TRIALS}\\)`));
  });
});
