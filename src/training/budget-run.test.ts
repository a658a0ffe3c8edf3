// `--time-budget` end to end on a tiny model: the run measures its steps, plans, ends within the budget with its
// learning rate at the cosine's floor (the schedule completed), records the plan in its params and metrics.json,
// and a run interrupted after its plan resumes with the same plan and the time already spent.
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

const deps = (signal?: AbortSignal) => ({ db: fx.db, objects: fx.objects, tracker: fx.tracker, cacheDir: fx.cacheDir, signal });

describe('a time-budgeted run', () => {
  it('fits its schedule to the budget: ends in time with the rate at its floor, the plan in params and metrics', async () => {
    const plan = budgetPlan();
    expect(plan.options.epochs).toBeUndefined();
    const run = await fx.tracker.startRun({ experiment: 'budget-test', params: {} });
    const started = performance.now();
    const r = await trainRun(deps(), run, plan, data);
    const loopBound = (performance.now() - started) / 1000;
    expect(r.status).toBe('finished');
    const m = r.metrics!;
    const b = m.budget!;
    expect(b.seconds).toBe(9);
    expect(b.deadlineReached).toBe(false);
    expect(b.totalSteps).toBe(m.training.steps);
    expect(b.plans).toBeGreaterThanOrEqual(1);
    // The loop's own clock stayed inside the budget (the deadline is checked after every step; the last epoch end
    // validates and checkpoints after it), and the process took about that long (plus finalizing).
    expect(b.elapsed).toBeLessThanOrEqual(b.seconds + 1);
    expect(b.elapsed).toBeGreaterThan(b.seconds * 0.5);
    expect(loopBound).toBeGreaterThanOrEqual(b.elapsed);
    // More than the measuring steps (2 untimed + 8 timed) ran: the plan added steps (how many depends on the load).
    expect(m.training.steps).toBeGreaterThan(10);
    const lrs = await fx.tracker.metrics(run.id, 'lr');
    expect(lrs.at(-1)!.step).toBe(m.training.steps);
    expect(lrs.at(-1)!.value).toBeCloseTo(2e-3 * 0.01, 9);
    expect(Math.max(...lrs.map((p) => p.value))).toBeCloseTo(2e-3, 9);
    const params = (await fx.tracker.getRun(run.id)).params;
    expect(params.budget_plan).toMatchObject({ budget_seconds: 9, planned_steps: m.training.steps, plans: b.plans, deadline_reached: false });
  });

  it('resumes after an interruption with its plan and the time it had spent', async () => {
    const plan = budgetPlan();
    const run = await fx.tracker.startRun({ experiment: 'budget-test', params: {} });
    const abort = new AbortController();
    const first = await trainRun(
      {
        ...deps(abort.signal),
        onProgress: (p) => {
          // Interrupt at the first step after the plan was made (the bar then shows the planned epochs).
          if (/^epoch \d+\/\d+$/.test(p.phase)) abort.abort();
        },
      },
      run,
      plan,
      data,
    );
    expect(first.status).toBe('killed');
    const { readCheckpointConfig } = await import('./state.js');
    const { decodeCheckpoint } = await import('../engine/index.js');
    const ck = decodeCheckpoint(await fx.tracker.getArtifact(run.id, 'checkpoint-last.safetensors'));
    const saved = readCheckpointConfig(ck.config, 'last').progress.budget!;
    expect(saved.totalSteps).not.toBeNull();
    expect(saved.elapsed).toBeGreaterThan(0);

    const second = await trainRun(deps(), run, plan, data);
    expect(second.status).toBe('finished');
    const b = second.metrics!.budget!;
    expect(b.elapsed).toBeGreaterThan(saved.elapsed);
    // A fresh session's first steps and first eval pass are slower than the measured ones: more slack than above.
    expect(b.elapsed).toBeLessThanOrEqual(b.seconds + 2);
    expect(b.plans).toBeGreaterThan(saved.plans);
    expect(second.metrics!.training.steps).toBe(b.totalSteps);
    const lrs = await fx.tracker.metrics(run.id, 'lr');
    expect(lrs.at(-1)!.value).toBeCloseTo(2e-3 * 0.01, 9);
  });
});
