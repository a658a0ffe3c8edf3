// The time budget's arithmetic: the steps that fit, the schedule laid over them, re-plans that keep the rate
// continuous, a warm-up cut for a short budget.
import { describe, expect, it } from 'vitest';

import { BUDGET_MARGIN, budgetSchedule, cosineFraction, initialBudget, planDone, replan, stepsThatFit } from './budget.js';

const figures = { secondsPerStep: 1, secondsPerEpochEnd: 5 };

describe('stepsThatFit', () => {
  it('finds the most steps whose steps and epoch ends fit in the budget less the margin', () => {
    // usable 100 × 0.97 = 97 s; S steps from an epoch start cost S + 5 · ceil(S / 10): 62 + 35 = 97, 63 + 35 = 98.
    expect(BUDGET_MARGIN).toBe(0.03);
    const fit = { remainingSeconds: 100, secondsPerStep: 1, secondsPerEpochEnd: 5, perEpoch: 10, batchInEpoch: 0, maxSteps: Infinity };
    expect(stepsThatFit(fit)).toBe(62);
    // Mid-epoch at batch 5 of 10: 62 steps pass ceil(67 / 10) = 7 epoch ends, 62 + 35 = 97.
    expect(stepsThatFit({ ...fit, batchInEpoch: 5 })).toBe(62);
    // At batch 9: 62 steps would pass ceil(71 / 10) = 8 (102 s); 61 pass 7 (96 s).
    expect(stepsThatFit({ ...fit, batchInEpoch: 9 })).toBe(61);
    expect(stepsThatFit({ ...fit, maxSteps: 40 })).toBe(40);
    expect(stepsThatFit({ ...fit, secondsPerEpochEnd: 0 })).toBe(97);
  });

  it('still takes one step when the budget is spent', () => {
    expect(stepsThatFit({ remainingSeconds: -3, secondsPerStep: 1, secondsPerEpochEnd: 5, perEpoch: 10, batchInEpoch: 0, maxSteps: Infinity })).toBe(1);
  });
});

describe('budgetSchedule', () => {
  const o = { peakLr: 1e-3, minLr: 1e-5 };

  it('warms up, holds the peak until the first plan, then decays to the floor exactly at the planned end', () => {
    const b = initialBudget(10, 4);
    const lr = budgetSchedule(b, o);
    expect([0, 1, 2, 3].map(lr)).toEqual([2.5e-4, 5e-4, 7.5e-4, 1e-3]);
    expect(lr(9)).toBe(1e-3); // no plan yet
    replan(b, 10, 91, figures); // steps 10..100
    expect(b.totalSteps).toBe(101);
    expect(lr(10)).toBeCloseTo(1e-3, 12);
    expect(lr(55)).toBeCloseTo((1e-3 + 1e-5) / 2, 12); // half-way through the cosine
    expect(lr(99)).toBeGreaterThan(1e-5);
    expect(lr(100)).toBeCloseTo(1e-5, 12); // the last planned step runs at the floor
    expect(lr(150)).toBeCloseTo(1e-5, 12);
    expect(planDone(b, 100)).toBe(false);
    expect(planDone(b, 101)).toBe(true);
  });

  it('keeps the rate continuous when a re-plan lengthens or shortens the rest', () => {
    const b = initialBudget(10, 0);
    const lr = budgetSchedule(b, o);
    replan(b, 0, 101, figures);
    const before = lr(40);
    replan(b, 40, 201, figures); // the machine got faster: 201 more steps, the last one 240
    expect(lr(40)).toBeCloseTo(before, 15);
    expect(cosineFraction(b, 40)).toBeCloseTo(0.4, 12);
    expect(cosineFraction(b, 140)).toBeCloseTo(0.4 + 0.6 * 0.5, 12);
    expect(lr(240)).toBeCloseTo(1e-5, 12);
    const at = lr(100);
    replan(b, 100, 11, figures); // slower: only 11 more
    expect(lr(100)).toBeCloseTo(at, 15);
    expect(lr(110)).toBeCloseTo(1e-5, 12);
    expect(b.plans).toBe(3);
  });

  it('anchors the cosine at the end of a warm-up that is still running, and cuts a warm-up longer than half the plan', () => {
    const b = initialBudget(1, 30);
    replan(b, 10, 90, figures); // 100 steps in all: warm-up of 30 stays, the cosine runs 30..99
    expect(b.warmupSteps).toBe(30);
    expect(b.anchorStep).toBe(30);
    expect(budgetSchedule(b, o)(30)).toBeCloseTo(1e-3, 12);

    const short = initialBudget(1, 30);
    replan(short, 10, 30, figures); // 40 steps in all: warm-up cut to 20
    expect(short.warmupSteps).toBe(20);
    const lr = budgetSchedule(short, o);
    expect(lr(19)).toBeCloseTo(1e-3, 12);
    expect(lr(39)).toBeCloseTo(1e-5, 12);
  });
});
