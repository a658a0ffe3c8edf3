// The time budget's arithmetic: the steps that fit, the schedule laid over them, re-plans that keep the rate
// continuous, a warm-up cut for a short budget; and its stopwatch, on a clock the test moves and on the real one.
import { setTimeout as sleep } from 'node:timers/promises';

import { describe, expect, it } from 'vitest';

import { BUDGET_MARGIN, BudgetClock, budgetSchedule, cosineFraction, initialBudget, planDone, replan, stepsThatFit } from './budget.js';

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

  it('leaves at least two steps of time unused near the end, where a share of the remainder is too thin', () => {
    // 10 s left at 1 s per step: 3 % would leave 0.3 s, the floor leaves 2 s → 8 steps (no epoch end among them).
    const end = { remainingSeconds: 10, secondsPerStep: 1, secondsPerEpochEnd: 0, perEpoch: 100, batchInEpoch: 0, maxSteps: Infinity };
    expect(stepsThatFit(end)).toBe(8);
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

  it('runs the single step a re-plan leaves at the floor (the epoch-end re-plan of a slowed run)', () => {
    const b = initialBudget(10, 0);
    const lr = budgetSchedule(b, o);
    replan(b, 0, 102, figures); // planned to end at step 101
    replan(b, 100, 1, figures); // slower than measured: only step 100 still fits
    expect(planDone(b, 100)).toBe(false);
    expect(lr(100)).toBeCloseTo(1e-5, 12);
    expect(planDone(b, 101)).toBe(true);
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

describe('BudgetClock', () => {
  /** A clock in milliseconds that moves only when told. */
  function manual() {
    let ms = 1_000_000;
    return { now: () => ms, advance: (seconds: number) => (ms += seconds * 1000) };
  }

  it('times the steps after the untimed first two, leaves epoch ends out, and starts again after a plan', () => {
    const t = manual();
    const clock = new BudgetClock(initialBudget(1, 0), t.now);
    const step = (seconds: number) => {
      clock.stepStarting();
      t.advance(seconds);
      clock.stepDone();
    };
    step(5); // ONNX Runtime's first runs: slow, not timed
    step(5);
    step(0.5);
    step(0.5);
    expect(clock.secondsPerStep({ steps: 3, seconds: 0 })).toBeNull(); // 2 timed steps
    step(0.5);
    expect(clock.secondsPerStep({ steps: 3, seconds: 0 })).toBe(0.5);
    expect(clock.secondsPerStep({ steps: 3, seconds: 2 })).toBeNull(); // 1.5 timed seconds
    clock.epochEnding();
    t.advance(7); // validation and checkpoint
    step(0.25);
    expect(clock.secondsPerStep({ steps: 3, seconds: 0 })).toBe(1.75 / 4);
    clock.restartTiming();
    step(1);
    step(1);
    step(1);
    expect(clock.secondsPerStep({ steps: 3, seconds: 0 })).toBe(1);
    expect(clock.elapsed()).toBe(5 + 5 + 1.5 + 7 + 0.25 + 3);
  });

  it('counts the time of earlier sessions, stores it on sync, and says when the budget is spent', () => {
    const t = manual();
    const state = { ...initialBudget(1, 0), elapsed: 50 };
    const clock = new BudgetClock(state, t.now);
    t.advance(9.5);
    expect(clock.overBudget()).toBe(false);
    clock.sync();
    expect(state.elapsed).toBe(59.5);
    t.advance(0.5);
    expect(clock.overBudget()).toBe(true);
  });

  it('runs on the real clock by default, in seconds', async () => {
    const clock = new BudgetClock(initialBudget(1, 0));
    await sleep(30);
    // At least the 30 ms slept (timers may fire a hair early); far less than a minute, however loaded the machine.
    expect(clock.elapsed()).toBeGreaterThanOrEqual(0.025);
    expect(clock.elapsed()).toBeLessThan(60);
  });
});
