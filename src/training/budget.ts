// A time budget for a training run (`--time-budget <minutes>`): the learning-rate schedule is fitted to the time
// rather than to a number of epochs. The run starts with its warm-up; after the first steps the measured step time
// and validation time say how many optimizer steps fit in what is left of the budget, and the cosine decay is laid
// over exactly those steps, so the rate reaches its floor when the budget runs out. At every epoch end the plan is
// measured again and the remaining steps re-fitted; the cosine continues from where it stands (its position is
// kept as an anchor), so a re-plan changes the pace of the decay, never the current rate.
//
// Everything here is plain data kept in the trainer's progress, so it goes into every checkpoint and `--resume`
// continues the same plan with the time already spent.
import type { LrSchedule } from '../engine/index.js';

/** A time-budgeted run's plan and clock (part of TrainerProgress). */
export interface BudgetState {
  /** The budget in seconds of the training loop's wall time (steps, validation, checkpoints). */
  seconds: number;
  /** Loop wall time spent so far, over every session of the run (as of the last checkpoint after a crash). */
  elapsed: number;
  /** Linear warm-up steps (the run's --warmup-epochs; the first plan shortens it to at most half the planned steps). */
  warmupSteps: number;
  /** Planned optimizer steps in all; the cosine ends there. null until the first measurement. */
  totalSteps: number | null;
  /** The cosine's position is `anchorFraction` at step `anchorStep` and moves linearly to 1 at the last planned step. */
  anchorStep: number;
  anchorFraction: number;
  /** The figures of the last plan: seconds per optimizer step, seconds per validation + checkpoint. */
  secondsPerStep: number | null;
  secondsPerEpochEnd: number | null;
  /** How many times the plan was made (1 = only the first measurement). */
  plans: number;
  /** The budget ran out before the planned steps (the machine got slower than measured): the run stopped there. */
  deadlineReached: boolean;
}

export function initialBudget(minutes: number, warmupSteps: number): BudgetState {
  return {
    seconds: minutes * 60,
    elapsed: 0,
    warmupSteps,
    totalSteps: null,
    anchorStep: 0,
    anchorFraction: 0,
    secondsPerStep: null,
    secondsPerEpochEnd: null,
    plans: 0,
    deadlineReached: false,
  };
}

/** Share of the remaining time the plan leaves unused, for the variation of step times between measurements. */
export const BUDGET_MARGIN = 0.03;
/** Fewest steps' worth of time the plan leaves unused, however little time remains. */
export const MARGIN_STEPS = 2;
/** Steps of a session not timed (ONNX Runtime's first runs allocate and tune). */
export const UNTIMED_STEPS = 2;
/** The first plan waits for this many timed steps and this much timed time, whichever comes later. */
export const CALIBRATION = { steps: 8, seconds: 2 };

export interface StepFit {
  /** Seconds left in the budget. */
  remainingSeconds: number;
  secondsPerStep: number;
  /** Validation + checkpoint at an epoch end. */
  secondsPerEpochEnd: number;
  /** Steps per epoch, and the current epoch's next batch (0-based). */
  perEpoch: number;
  batchInEpoch: number;
  /** Upper bound on the steps left (an explicit epoch limit); Infinity without one. */
  maxSteps: number;
}

/** Epoch ends that `steps` more steps pass, counting the one after the last (possibly partial) epoch. */
function epochEnds(steps: number, batchInEpoch: number, perEpoch: number): number {
  return steps === 0 ? 0 : Math.ceil((batchInEpoch + steps) / perEpoch);
}

/**
 * The most steps S with S · secondsPerStep + (epoch ends among them) · secondsPerEpochEnd ≤ remaining − max(remaining ·
 * margin, MARGIN_STEPS · secondsPerStep),
 * at least 1 (the run makes progress even on a budget already spent) and at most maxSteps.
 */
export function stepsThatFit(f: StepFit): number {
  // The margin is a share of what is left, so it shrinks to nothing as the run nears its end, where the re-plan of
  // the last epoch end must still absorb the jitter of single steps: it never leaves less than MARGIN_STEPS steps'
  // time unused (without this floor a 9-second run ended past its deadline about one time in two).
  const usable = f.remainingSeconds - Math.max(f.remainingSeconds * BUDGET_MARGIN, MARGIN_STEPS * f.secondsPerStep);
  const cost = (s: number): number => s * f.secondsPerStep + epochEnds(s, f.batchInEpoch, f.perEpoch) * f.secondsPerEpochEnd;
  let lo = 0;
  let hi = Math.min(f.maxSteps, Math.max(1, Math.floor(usable / Math.max(f.secondsPerStep, 1e-9)) + 1));
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (cost(mid) <= usable) lo = mid;
    else hi = mid - 1;
  }
  return Math.max(1, Math.min(lo, f.maxSteps));
}

/** Where the cosine stands at `step`: 0 at its start, 1 at the last planned step (totalSteps − 1) and after. */
export function cosineFraction(b: BudgetState, step: number): number {
  if (b.totalSteps === null) return b.anchorFraction;
  // The last planned step is checked first: a re-plan that leaves a single step anchors the cosine on that very
  // step, which must still run at the floor (the schedule completes), not at the anchor's position.
  const last = b.totalSteps - 1;
  if (step >= last) return 1;
  if (step <= b.anchorStep) return b.anchorFraction;
  return b.anchorFraction + ((1 - b.anchorFraction) * (step - b.anchorStep)) / (last - b.anchorStep);
}

/**
 * Fits the plan: from `step` on, `steps` more steps. The cosine keeps its current position (re-anchored at `step`,
 * or at the end of warm-up when that is still ahead) and now reaches 1 after those steps. A warm-up longer than
 * half the planned steps is cut there (not below the steps already taken), so a short budget still decays.
 */
export function replan(b: BudgetState, step: number, steps: number, figures: { secondsPerStep: number; secondsPerEpochEnd: number }): void {
  const total = step + steps;
  if (b.totalSteps === null && b.warmupSteps > total / 2) b.warmupSteps = Math.max(step, Math.floor(total / 2));
  const anchor = Math.max(step, b.warmupSteps);
  b.anchorFraction = cosineFraction(b, anchor);
  b.anchorStep = anchor;
  b.totalSteps = Math.max(total, anchor + 1);
  b.secondsPerStep = figures.secondsPerStep;
  b.secondsPerEpochEnd = figures.secondsPerEpochEnd;
  b.plans += 1;
}

export interface BudgetLrOptions {
  peakLr: number;
  minLr: number;
}

/**
 * The learning rate of a budgeted run, read from the live state: linear warm-up (as engine/optim/schedule.ts's
 * warmupCosine), the peak until the first plan, then half-cosine from peakLr to minLr along cosineFraction.
 */
export function budgetSchedule(b: BudgetState, o: BudgetLrOptions): LrSchedule {
  return (step) => {
    if (step < b.warmupSteps) return (o.peakLr * (step + 1)) / b.warmupSteps;
    const f = cosineFraction(b, step);
    return o.minLr + 0.5 * (o.peakLr - o.minLr) * (1 + Math.cos(Math.PI * f));
  };
}

/** Whether the planned steps are done (the schedule is complete). */
export function planDone(b: BudgetState, step: number): boolean {
  return b.totalSteps !== null && step >= b.totalSteps;
}

/** A monotonic clock in milliseconds (performance.now); a test passes its own to drive a budgeted run's time. */
export type Milliseconds = () => number;

/**
 * The stopwatch of a budgeted run in one process: the loop time over all sessions (from the state's `elapsed`),
 * and the figures a plan needs — seconds per optimizer step (batch wait, step, logging; not the first steps of
 * the session, not epoch ends) since the last plan, and the cost of an epoch end (validation + checkpoint).
 * Every reading goes through `now`, so a run under a test's clock plans, re-plans and meets its deadline exactly.
 */
export class BudgetClock {
  private readonly started: number;
  private readonly elapsedBefore: number;
  private sessionSteps = 0;
  private timedSteps = 0;
  private timedSeconds = 0;
  private phaseStart: number | null = null;
  /** The last epoch end's validation and checkpoint seconds (null until measured). */
  validationSeconds: number | null = null;
  checkpointSeconds = 0;

  constructor(
    readonly state: BudgetState,
    readonly now: Milliseconds = () => performance.now(),
  ) {
    this.started = now();
    this.elapsedBefore = state.elapsed;
  }

  /** Seconds since `since` (a reading of `now`). */
  secondsSince(since: number): number {
    return (this.now() - since) / 1000;
  }

  /** Loop seconds so far, over every session of the run. */
  elapsed(): number {
    return this.elapsedBefore + this.secondsSince(this.started);
  }

  /** Stores the elapsed time in the state (before a checkpoint, so a resumed run goes on from there). */
  sync(): void {
    this.state.elapsed = this.elapsed();
  }

  overBudget(): boolean {
    return this.elapsed() >= this.state.seconds;
  }

  stepStarting(): void {
    if (this.phaseStart === null && this.sessionSteps >= UNTIMED_STEPS) this.phaseStart = this.now();
  }

  stepDone(): void {
    this.sessionSteps += 1;
    if (this.phaseStart !== null) this.timedSteps += 1;
  }

  /** Stops the step timing for an epoch end (validation and checkpoint are measured apart). */
  epochEnding(): void {
    if (this.phaseStart !== null) this.timedSeconds += this.secondsSince(this.phaseStart);
    this.phaseStart = null;
  }

  /** Seconds per step since the last plan, once `min` steps and seconds are timed; null before. */
  secondsPerStep(min: { steps: number; seconds: number }): number | null {
    const seconds = this.timedSeconds + (this.phaseStart !== null ? this.secondsSince(this.phaseStart) : 0);
    return this.timedSteps >= min.steps && seconds >= min.seconds ? seconds / this.timedSteps : null;
  }

  /** Starts the next measurement (after a plan used this one). */
  restartTiming(): void {
    this.timedSteps = 0;
    this.timedSeconds = 0;
    if (this.phaseStart !== null) this.phaseStart = this.now();
  }
}
