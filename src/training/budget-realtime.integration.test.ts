// `--time-budget` on the real clock: a tiny model trains for 9 seconds of wall time, and the plan made from measured
// step times ends the run inside its budget with the learning rate at the cosine's floor. The planner's arithmetic
// and the loop's handling of plans, re-plans, resume and the deadline are proven exactly, on a clock the test keeps,
// in budget-run.test.ts; this is the one check that real ONNX Runtime step timings (the untimed first steps, the
// margin) keep a real run on time. Integration tier: it needs the machine to itself (the files run one at a time),
// because a neighbouring test worker that starts heavy work in the run's last second slows it past its deadline
// (stopping there is the designed answer to a machine that slows down, but then this test proves nothing).
// CI's machines are shared, and a pause of half a second in the last second of the 9 still happens there (it
// failed one CI run of 2026-12-06 that way, after passing the others): the test then tries again, twice at most,
// and prints the figures of the run that missed, so three misses in a row — a plan that does not fit, not a
// pause — still fail it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { vitConfig } from '../models/vit.js';
import type { TrainingData } from './dataset.js';
import { applyRecipe, parseTrainOptions } from './options.js';
import type { RunPlan } from './plan.js';
import { openTrainingFixture, phantomSets, type TrainingFixture } from './testing.js';
import { trainRun } from './trainer.js';

let fx: TrainingFixture;
let data: TrainingData;
beforeAll(async () => {
  fx = await openTrainingFixture({ dataset: false });
  data = await phantomSets({ perClass: { train: 16, val: 4, test: 2 }, size: 32, renderSize: 48 });
});
afterAll(async () => {
  await fx?.close();
});

const BUDGET_MINUTES = 0.15; // 9 s

function budgetPlan(): RunPlan {
  const options = parseTrainOptions({ dataset: 'in-memory', model: 'vit-tiny', timeBudget: BUDGET_MINUTES, batchSize: 16, lr: 2e-3, patience: 0, logEvery: 1 });
  return {
    options: { ...applyRecipe(options, 'vit-tiny', { architecture: false }), dataset: 'in-memory', model: 'vit-tiny', size: 32 },
    model: vitConfig('vit-tiny', { imageSize: 32 }),
  };
}

describe('a time-budgeted run on the real clock', () => {
  it('fits its schedule to the budget: ends in time with the rate at its floor, the plan in params and metrics', { retry: 2 }, async () => {
    const plan = budgetPlan();
    expect(plan.options.epochs).toBeUndefined();
    const run = await fx.tracker.startRun({ experiment: 'budget-test', params: {} });
    const started = performance.now();
    const r = await trainRun({ db: fx.db, objects: fx.objects, tracker: fx.tracker, cacheDir: fx.cacheDir }, run, plan, data);
    const loopBound = (performance.now() - started) / 1000;
    expect(r.status).toBe('finished');
    const m = r.metrics!;
    const b = m.budget!;
    expect(b.seconds).toBe(9);
    if (b.deadlineReached) console.log(`deadline reached: ${JSON.stringify({ ...b, steps: m.training.steps, loopBound })}`);
    expect(b.deadlineReached).toBe(false);
    expect(b.totalSteps).toBe(m.training.steps);
    expect(b.plans).toBeGreaterThanOrEqual(1);
    // The loop's own clock stayed inside the budget (the deadline is checked after every step; the last epoch end
    // validates and checkpoints after it), and the process took about that long (plus finalizing).
    expect(b.elapsed).toBeLessThanOrEqual(b.seconds + 1);
    expect(b.elapsed).toBeGreaterThan(b.seconds * 0.5);
    expect(loopBound).toBeGreaterThanOrEqual(b.elapsed);
    // More than the measuring steps (2 untimed + 8 timed) ran: the plan added steps (how many depends on the machine).
    expect(m.training.steps).toBeGreaterThan(10);
    const lrs = await fx.tracker.metrics(run.id, 'lr');
    expect(lrs.at(-1)!.step).toBe(m.training.steps);
    expect(lrs.at(-1)!.value).toBeCloseTo(2e-3 * 0.01, 9);
    expect(Math.max(...lrs.map((p) => p.value))).toBeCloseTo(2e-3, 9);
    const params = (await fx.tracker.getRun(run.id)).params;
    expect(params.budget_plan).toMatchObject({ budget_seconds: 9, planned_steps: m.training.steps, plans: b.plans, deadline_reached: false });
  });
});
