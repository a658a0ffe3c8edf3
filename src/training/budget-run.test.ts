// `--time-budget` end to end on a tiny model, on a clock the test keeps (TrainerDeps.now): every training step costs
// a quarter of a virtual second and every validation pass one second, nothing else takes any time. The steps are
// real; their timing is not, so the planner's figures, its re-plans, the learning-rate curve laid over them and the
// deadline are exact, whatever the load of the machine. (The real-time run, which proves that real step timings
// keep a run inside its budget, is in budget-realtime.integration.test.ts; BudgetClock's default clock is checked
// in budget.test.ts.)
//
// The run below, worked out by hand (budget.ts; 72 training images in batches of 6: 12 steps an epoch):
// - steps 1–6 warm up to the peak 2e-3, which holds until the first plan;
// - plan 1 after step 10 (2 untimed steps, then 8 timed steps and 2 s): 0.25 s a step; the validation pass is
//   estimated on the clock, where it takes no time, so epoch ends look free. 12 − 2.5 = 9.5 s left, less the
//   margin max(3 %, two steps) = 0.5 s → 9 s = 36 steps: 46 in all (4 epochs), the cosine from step 10 to 45;
// - plan 2 at the end of epoch 1 (step 12, 3 s + a 1 s validation): 8 s left, 7.5 usable; S steps now cost
//   0.25 S + ceil(S / 12) × 1 s: 22 steps cost 7.5 s, 23 cost 7.75 → 34 in all (3 epochs). The cosine is re-anchored
//   where it stood, at 2/35 on step 12, and reaches 1 on step 33;
// - plan 3 at the end of epoch 2 (step 24, t = 8 s): 3.5 s usable; 10 steps cost 3.5 s, 11 cost 3.75 → still 34
//   steps, the cosine re-anchored at 2/35 + 33/35 × 12/21 = 438/735;
// - steps 25–34 run, the last one at the floor 2e-5; the last validation ends at 11.5 s, the plan is done.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ProgressEvent } from '../core/progress.js';
import { decodeCheckpoint } from '../engine/index.js';
import { vitConfig } from '../models/vit.js';
import type { TrainingData } from './dataset.js';
import { applyRecipe, parseTrainOptions } from './options.js';
import type { RunPlan } from './plan.js';
import { ARTIFACTS } from './retrain.js';
import { readCheckpointConfig } from './state.js';
import { openTrainingFixture, phantomSets, type TrainingFixture } from './testing.js';
import { trainRun } from './trainer.js';

let fx: TrainingFixture;
let data: TrainingData;
beforeAll(async () => {
  fx = await openTrainingFixture({ dataset: false });
  data = await phantomSets({ perClass: { train: 8, val: 2, test: 1 }, size: 32, renderSize: 48 });
});
afterAll(async () => {
  await fx?.close();
});

const PEAK = 2e-3;
const FLOOR = PEAK * 0.01;

function budgetPlan(): RunPlan {
  const options = parseTrainOptions({
    dataset: 'in-memory',
    model: 'vit-tiny',
    timeBudget: 0.2,
    batchSize: 6,
    lr: PEAK,
    warmupEpochs: 0.5,
    patience: 0,
    logEvery: 1,
  });
  return {
    options: { ...applyRecipe(options, 'vit-tiny', { architecture: false }), dataset: 'in-memory', model: 'vit-tiny', size: 32 },
    model: vitConfig('vit-tiny', { imageSize: 32 }),
  };
}

/**
 * The test's machine: its clock (milliseconds) moves only when the run reports a finished step (`stepSeconds(n)` for
 * the session's n-th step, 1-based) or the start of a validation pass (1 s). It keeps the planned epochs each step's
 * progress line showed ('?' before the first plan).
 */
function virtualMachine(stepSeconds: (n: number) => number = () => 0.25) {
  let ms = 0;
  let steps = 0;
  const plannedEpochs: string[] = [];
  return {
    plannedEpochs,
    seconds: () => ms / 1000,
    now: () => ms,
    onProgress(p: ProgressEvent): void {
      if (p.phase.startsWith('epoch ')) {
        ms += 1000 * stepSeconds(++steps);
        plannedEpochs.push(p.phase.split('/')[1]!);
      } else if (p.phase.startsWith('validate ') && p.done === 0) ms += 1000;
    },
  };
}

const deps = (machine: ReturnType<typeof virtualMachine>, signal?: AbortSignal) => ({
  db: fx.db,
  objects: fx.objects,
  tracker: fx.tracker,
  cacheDir: fx.cacheDir,
  now: machine.now,
  onProgress: (p: ProgressEvent) => machine.onProgress(p),
  signal,
});

const rate = (position: number) => FLOOR + 0.5 * (PEAK - FLOOR) * (1 + Math.cos(Math.PI * position));

/** The rate the worked-out run logs at step n (1-based; the step's schedule index is n − 1). */
function plannedRate(n: number): number {
  const i = n - 1;
  if (i < 6) return (PEAK * (i + 1)) / 6;
  if (i < 10) return PEAK;
  if (i < 12) return rate((i - 10) / 35); // plan 1
  if (i < 24) return rate(2 / 35 + ((33 / 35) * (i - 12)) / 21); // plan 2
  return rate(438 / 735 + ((297 / 735) * (i - 24)) / 9); // plan 3
}

async function expectPlannedRates(runId: string, steps: number): Promise<void> {
  const lrs = await fx.tracker.metrics(runId, 'lr');
  expect(lrs.map((p) => p.step)).toEqual(Array.from({ length: steps }, (_, i) => i + 1));
  // The session computes the rate in float64 and hands it to ONNX Runtime as float32.
  for (const p of lrs) expect(Math.abs(p.value / plannedRate(p.step) - 1), `lr at step ${p.step}`).toBeLessThan(1e-6);
}

describe('a time-budgeted run', () => {
  it('plans after its calibration steps, re-plans at every epoch end and ends on the last planned step at the floor', async () => {
    const machine = virtualMachine();
    const run = await fx.tracker.startRun({ experiment: 'budget-test', params: {} });
    const r = await trainRun(deps(machine), run, budgetPlan(), data);
    expect(r.status).toBe('finished');
    const m = r.metrics!;
    expect(m.training.steps).toBe(34);
    expect(m.budget).toEqual({
      seconds: 12,
      elapsed: 11.5,
      warmupSteps: 6,
      totalSteps: 34,
      anchorStep: 24,
      anchorFraction: expect.closeTo(438 / 735, 12),
      secondsPerStep: 0.25,
      secondsPerEpochEnd: 1,
      plans: 3,
      deadlineReached: false,
    });
    expect(machine.seconds()).toBe(11.5);
    expect(machine.plannedEpochs).toEqual([...Array<string>(10).fill('?'), '4', '4', ...Array<string>(22).fill('3')]);
    await expectPlannedRates(run.id, 34);
    expect(plannedRate(34)).toBeCloseTo(FLOOR, 15);
    const params = (await fx.tracker.getRun(run.id)).params;
    expect(params.budget_plan).toEqual({
      budget_seconds: 12,
      planned_steps: 34,
      planned_epochs: 3,
      warmup_steps: 6,
      seconds_per_step: 0.25,
      seconds_per_epoch_end: 1,
      plans: 3,
      deadline_reached: false,
    });
  });

  it('stops at the deadline when the machine slows down after the last plan: the step in flight, one validation', async () => {
    // From step 25 on a step takes 1 s instead of 0.25: at t = 8 s the plan left 10 steps, but 4 of them spend the
    // budget (t = 12 after step 28); the run validates that partial epoch (13 s) and finishes.
    const machine = virtualMachine((n) => (n > 24 ? 1 : 0.25));
    const run = await fx.tracker.startRun({ experiment: 'budget-test', params: {} });
    const r = await trainRun(deps(machine), run, budgetPlan(), data);
    expect(r.status).toBe('finished');
    const b = r.metrics!.budget!;
    expect(b).toMatchObject({ elapsed: 13, totalSteps: 34, plans: 3, deadlineReached: true });
    expect(r.metrics!.training.steps).toBe(28);
    expect((await fx.tracker.metrics(run.id, 'val/loss')).map((p) => p.step)).toEqual([12, 24, 28]);
    await expectPlannedRates(run.id, 28); // the cosine was cut short, not stretched
    expect((await fx.tracker.getRun(run.id)).params.budget_plan).toMatchObject({ planned_steps: 34, deadline_reached: true });
  });

  it('resumes after an interruption with its plan and the time it had spent, and ends as the uninterrupted run', async () => {
    const first = virtualMachine();
    const abort = new AbortController();
    const run = await fx.tracker.startRun({ experiment: 'budget-test', params: {} });
    const cut = await trainRun(
      {
        ...deps(first, abort.signal),
        onProgress: (p) => {
          first.onProgress(p);
          // Interrupt at the first step after the plan (step 11: its progress line shows the planned epochs).
          if (/^epoch \d+\/\d+$/.test(p.phase)) abort.abort();
        },
      },
      run,
      budgetPlan(),
      data,
    );
    expect(cut.status).toBe('killed');
    const ck = decodeCheckpoint(await fx.tracker.getArtifact(run.id, ARTIFACTS.last));
    expect(ck.step).toBe(11);
    expect(readCheckpointConfig(ck.config, 'last').progress.budget).toMatchObject({ elapsed: 2.75, totalSteps: 46, plans: 1 });

    // A new process: its clock starts anew, the state's elapsed carries the 2.75 s. Its first two steps are not
    // timed, so the re-plan at step 12 reuses the stored 0.25 s a step — and every later figure matches.
    const second = virtualMachine();
    const r = await trainRun(deps(second), await fx.tracker.resumeRun(run.id), budgetPlan(), data);
    expect(r.status).toBe('finished');
    expect(r.metrics!.budget).toMatchObject({ elapsed: 11.5, totalSteps: 34, plans: 3, deadlineReached: false });
    expect(second.seconds()).toBe(11.5 - 2.75);
    expect(r.metrics!.training.steps).toBe(34);
    await expectPlannedRates(run.id, 34);
  });
});
