// The training loop, reading like the algorithm:
//
//   for each epoch (from where the last checkpoint left off):
//     order ← shuffle (or balanced draw) of the training set, seeded by (seed, epoch)
//     for each batch (prepared on a worker thread while the previous step runs):
//       step: one ONNX Runtime run (forward, backward, gradient clipping, the optimizer update with its
//             learning-rate schedule, all built by the trainer), then the weight average (EMA) if one is kept
//       tally: loss and accuracy into the log window and the epoch totals
//       every logEvery steps: log train loss/accuracy, lr, images/s, CPU/RSS
//       every checkpointEvery steps: checkpoint (and on a stop signal: checkpoint, return 'interrupted')
//     evaluate on val; log; keep the best weights (the task's monitored figure: lowest val loss for the
//     classifier, highest val mAP@0.5 for the detector); checkpoint
//     stop early after `patience` epochs without improvement
//
// Under a time budget (budget.ts) the first steps are timed, the steps that fit are planned and the cosine is laid
// over them; every epoch end measures and re-plans; the run ends (validating its last, possibly partial, epoch) when
// the planned steps are done or, should the machine slow down, when the budget is spent.
//
// The loop is the same for every task: what a step, a tally and a validation are is the task's (LoopTask:
// classify-task.ts, detect-task.ts), everything else — order, loader, schedule, EMA, budget, checkpoints, logging,
// early stopping — is this file's.
//
// Everything the loop carries between steps (position, running sums, early-stopping state) is in TrainerProgress
// and goes into every checkpoint, so a run killed anywhere continues exactly where its last checkpoint was; metric
// points are keyed by step and upserted, so replayed steps never add rows.
import type { ProgressFn } from '../core/progress.js';
import { SECONDREAD_CLASSES } from '../data/classes.js';
import { encodeCheckpoint, EvalSession, type StepResult, type StoredTensor, TrainSession } from '../engine/index.js';
import type { MetricPoint, Tracker } from '../tracking/index.js';
import { BudgetClock, CALIBRATION, type Milliseconds, planDone, replan, stepsThatFit } from './budget.js';
import type { AugmentConfig, Normalization } from './data/augment.js';
import type { ImageSet, PreparedBatch } from './data/batch.js';
import { type BatchLoader, createBatchLoader } from './data/loader.js';
import type { MixConfig } from './data/mix.js';
import { type BalanceMode, epochOrder } from './data/sampler.js';
import type { WeightAverage } from './ema.js';
import { ARTIFACTS } from './retrain.js';
import {
  type Accumulator,
  CHECKPOINT_KIND,
  type CheckpointConfig,
  emptyAccumulator,
  type EpochRecord,
  type TrainedModelConfig,
  type TrainerProgress,
} from './state.js';

/** A validation pass's figures (val/… metric keys without the prefix) and the one that selects the weights. */
export interface Validation {
  /** The monitored figure: early stopping and the best checkpoint follow it (LoopTask.monitor says which way). */
  monitored: number;
  record: Pick<EpochRecord, 'valLoss' | 'valAccuracy' | 'valMacroF1' | 'valMap50'>;
  /** Logged as `val/<key>`. */
  figures: Record<string, number | null>;
  /** Shown on the progress bar. */
  info: Record<string, number>;
}

/** What a task does inside the one loop: a step on a prepared batch, its tally, and validation. */
export interface LoopTask {
  /** One optimizer step (the weight average is the loop's). */
  step(prepared: PreparedBatch): Promise<StepResult>;
  /** Whether the task has a training accuracy (the classifier) and how many of a step's images were right. */
  readonly accuracy: boolean;
  correct(r: StepResult, prepared: PreparedBatch): number;
  /** Evaluates the current weights (or their average) on `set`. */
  validate(set: ImageSet, batchSize: number): Promise<Validation>;
  /** 'min': lower monitored values are better (a loss); 'max': higher (an mAP). */
  readonly monitor: 'min' | 'max';
}

export interface LoopSettings {
  /** Upper bound on the epochs (a budgeted run without --epochs: Number.MAX_SAFE_INTEGER). */
  epochs: number;
  batchSize: number;
  seed: number;
  patience: number;
  balance: BalanceMode;
  augment: AugmentConfig | null;
  /** Mixup / CutMix (the train graph then reads soft `targets`); null: off. */
  mix?: MixConfig | null;
  checkpointEvery: number;
  logEvery: number;
  evalBatchSize: number;
  workers: number;
}

export interface LoopContext {
  runId: string;
  tracker: Tracker;
  session: TrainSession;
  task: LoopTask;
  model: TrainedModelConfig;
  norm: Normalization;
  train: ImageSet;
  val: ImageSet;
  settings: LoopSettings;
  progress: TrainerProgress;
  /** When set, validation and the best weights use this average of the weights instead of the last step's. */
  average?: WeightAverage;
  onProgress?: ProgressFn;
  signal?: AbortSignal;
  /** The time budget's clock (default performance.now); a test drives a budgeted run's time with its own. */
  now?: Milliseconds;
}

const NUM_CLASSES = SECONDREAD_CLASSES.length;

const batchImages = (b: PreparedBatch): number => b.labels.length;

export function stepsPerEpoch(trainCount: number, batchSize: number): number {
  // The last incomplete batch is dropped (a batch of 1-2 images makes BatchNorm statistics meaningless), unless
  // the set is smaller than one batch.
  return Math.max(1, Math.floor(trainCount / batchSize));
}

function checkpointConfig(ctx: LoopContext): CheckpointConfig {
  return { kind: CHECKPOINT_KIND, model: ctx.model, norm: ctx.norm, progress: structuredClone(ctx.progress) };
}

export async function saveLastCheckpoint(ctx: LoopContext, clock?: BudgetClock): Promise<void> {
  clock?.sync();
  const ck = ctx.session.checkpoint(checkpointConfig(ctx));
  ctx.average?.addTo(ck.tensors);
  await ctx.tracker.putArtifact(ctx.runId, ARTIFACTS.last, encodeCheckpoint(ck));
}

/** The weights validation reads and the best checkpoint keeps: the average when there is one (live views). */
function evaluatedWeights(session: TrainSession, average: WeightAverage | undefined): Map<string, StoredTensor> {
  return average ? average.tensors() : session.stateTensors(['param', 'buffer']);
}

async function saveBestWeights(ctx: LoopContext): Promise<void> {
  const tensors = new Map<string, StoredTensor>();
  for (const [name, t] of evaluatedWeights(ctx.session, ctx.average)) tensors.set(name, { ...t, data: t.data.slice() });
  await ctx.tracker.putArtifact(ctx.runId, ARTIFACTS.best, encodeCheckpoint({ tensors, step: ctx.session.steps, config: checkpointConfig(ctx) }));
}

function add(acc: Accumulator, loss: number, images: number, correct: number): void {
  acc.steps += 1;
  acc.images += images;
  acc.lossSum += loss * images;
  acc.correct += correct;
}

export type LoopOutcome = 'completed' | 'stopped_early' | 'interrupted';

/** An epoch's batches in order, each requested from the loader while the step before it runs. */
interface EpochBatches {
  /** The batch at position `b` (requested earlier); requests `b + 1` so it is prepared during the coming step. */
  take(b: number): Promise<PreparedBatch>;
  /** Waits out the pending request, if any, ignoring its failure (nothing is left running on return). */
  settle(): Promise<void>;
}

function epochBatches(ctx: LoopContext, loader: BatchLoader, epoch: number, batch: number, perEpoch: number): EpochBatches {
  const { settings: s, train } = ctx;
  const order = epochOrder(train.labels.subarray(0, train.count), NUM_CLASSES, s.balance, s.seed, epoch);
  const request = (b: number): Promise<PreparedBatch> =>
    loader.request({
      rows: order.subarray(b * batch, (b + 1) * batch),
      augment: s.augment,
      mix: s.mix,
      norm: ctx.norm,
      seed: s.seed,
      epoch,
      position: b * batch,
    });
  let next = ctx.progress.batch < perEpoch ? request(ctx.progress.batch) : undefined;
  return {
    async take(b) {
      const prepared = await (next as Promise<PreparedBatch>);
      next = b + 1 < perEpoch ? request(b + 1) : undefined;
      return prepared;
    },
    async settle() {
      await next?.catch(() => undefined);
    },
  };
}

/** One optimizer step on a prepared batch (the task's), then the weight average's update. */
async function trainStep(ctx: LoopContext, prepared: PreparedBatch): Promise<StepResult> {
  const r = await ctx.task.step(prepared);
  ctx.average?.update(ctx.session.stateTensors(['param', 'buffer']));
  return r;
}

/** Counts a finished step into the progress: images seen, lr, the log window and the epoch totals; advances the batch. */
function tally(ctx: LoopContext, r: StepResult, prepared: PreparedBatch): void {
  const p = ctx.progress;
  const n = batchImages(prepared);
  p.imagesSeen += n;
  p.lastLr = r.lr;
  const correct = ctx.task.correct(r, prepared);
  add(p.window, r.loss, n, correct);
  add(p.epochTotals, r.loss, n, correct);
  p.batch += 1;
}

/** The progress bar's line for the epoch: running loss and accuracy, and this process's throughput. */
function reportProgress(ctx: LoopContext, epoch: number, perEpoch: number, clock: { start: number; images: number }): void {
  const p = ctx.progress;
  ctx.onProgress?.({
    phase: `epoch ${epoch + 1}/${plannedEpochs(ctx, perEpoch)}`,
    done: p.batch,
    total: perEpoch,
    info: {
      loss: p.epochTotals.lossSum / p.epochTotals.images,
      ...(ctx.task.accuracy ? { acc: p.epochTotals.correct / p.epochTotals.images } : {}),
      'img/s': Math.round((1000 * clock.images) / Math.max(1, performance.now() - clock.start)),
    },
  });
}

/** The epochs the run will train, for the progress bar: the planned ones under a budget ('?' before the plan). */
function plannedEpochs(ctx: LoopContext, perEpoch: number): string {
  const b = ctx.progress.budget;
  if (!b) return String(ctx.settings.epochs);
  return b.totalSteps === null ? '?' : String(Math.min(ctx.settings.epochs, Math.ceil(b.totalSteps / perEpoch)));
}

/** Whether a budgeted run is over: its planned steps done, or its time spent. */
function budgetOver(ctx: LoopContext): boolean {
  const b = ctx.progress.budget;
  return b !== undefined && (planDone(b, ctx.session.steps) || b.deadlineReached);
}

/** Seconds a validation pass over the whole val set takes, from two timed eval batches (the first warms up). */
async function estimateValidationSeconds(ctx: LoopContext, clock: BudgetClock): Promise<number> {
  const n = Math.min(ctx.settings.evalBatchSize, ctx.val.count);
  if (n === 0) return 0;
  const slice = { ...ctx.val, count: n };
  await ctx.task.validate(slice, n);
  const t0 = clock.now();
  await ctx.task.validate(slice, n);
  return (clock.secondsSince(t0) * ctx.val.count) / n;
}

/**
 * Plans (or re-plans) a budgeted run from the clock's figures: the steps that fit in what is left, capped by the
 * epoch limit; records the plan in the run's params. Returns without a plan while too few steps are timed.
 */
async function planBudget(ctx: LoopContext, clock: BudgetClock, perEpoch: number, min: { steps: number; seconds: number }): Promise<void> {
  const b = clock.state;
  const secondsPerStep = clock.secondsPerStep(min) ?? b.secondsPerStep;
  if (secondsPerStep === null) return;
  const validation = clock.validationSeconds ?? (await estimateValidationSeconds(ctx, clock));
  const secondsPerEpochEnd = validation + clock.checkpointSeconds;
  const step = ctx.session.steps;
  const steps = stepsThatFit({
    remainingSeconds: b.seconds - clock.elapsed(),
    secondsPerStep,
    secondsPerEpochEnd,
    perEpoch,
    batchInEpoch: ctx.progress.batch,
    maxSteps: ctx.settings.epochs * perEpoch - step,
  });
  replan(b, step, steps, { secondsPerStep, secondsPerEpochEnd });
  clock.restartTiming();
  await ctx.tracker.mergeParams(ctx.runId, { budget_plan: budgetRecord(ctx, perEpoch) });
}

/** What the run's params say about the plan (`runs show`). */
function budgetRecord(ctx: LoopContext, perEpoch: number): Record<string, number | boolean | null> {
  const b = ctx.progress.budget;
  if (!b) return {};
  return {
    budget_seconds: b.seconds,
    planned_steps: b.totalSteps,
    planned_epochs: b.totalSteps === null ? null : Math.ceil(b.totalSteps / perEpoch),
    warmup_steps: b.warmupSteps,
    seconds_per_step: b.secondsPerStep,
    seconds_per_epoch_end: b.secondsPerEpochEnd,
    plans: b.plans,
    deadline_reached: b.deadlineReached,
  };
}

/** Trains until the last epoch, early stopping, the end of a time budget, or `signal` (then it checkpoints and returns 'interrupted'). */
export async function runLoop(ctx: LoopContext): Promise<LoopOutcome> {
  const { session, settings: s, progress: p, train } = ctx;
  const batch = Math.min(s.batchSize, train.count);
  const perEpoch = stepsPerEpoch(train.count, batch);
  const loader = createBatchLoader(train, { workers: s.workers });
  const clock = p.budget ? new BudgetClock(p.budget, ctx.now) : undefined;
  let windowStart = performance.now();
  try {
    while (p.epoch < s.epochs && !p.stoppedEarly && !budgetOver(ctx)) {
      const epoch = p.epoch;
      const batches = epochBatches(ctx, loader, epoch, batch, perEpoch);
      const epochClock = { start: performance.now(), images: 0 }; // throughput shown on the bar, this process only
      while (p.batch < perEpoch) {
        const t0 = performance.now();
        clock?.stepStarting();
        const prepared = await batches.take(p.batch);
        const r = await trainStep(ctx, prepared);
        p.trainSeconds += (performance.now() - t0) / 1000;
        clock?.stepDone();
        tally(ctx, r, prepared);
        epochClock.images += batchImages(prepared);

        const step = session.steps;
        if (step % s.logEvery === 0) {
          await logWindow(ctx, step, epoch, r.lr, (performance.now() - windowStart) / 1000);
          windowStart = performance.now();
        }
        reportProgress(ctx, epoch, perEpoch, epochClock);
        if (ctx.signal?.aborted) {
          await batches.settle();
          await saveLastCheckpoint(ctx, clock);
          return 'interrupted';
        }
        if (clock) {
          if (clock.state.totalSteps === null) await planBudget(ctx, clock, perEpoch, CALIBRATION);
          if (planDone(clock.state, step)) break;
          if (clock.overBudget()) {
            clock.state.deadlineReached = true;
            break;
          }
        }
        if (s.checkpointEvery > 0 && step % s.checkpointEvery === 0 && p.batch < perEpoch) await saveLastCheckpoint(ctx, clock);
      }
      await batches.settle();
      clock?.epochEnding();
      const validated = clock?.now() ?? 0;
      await endEpoch(ctx, epoch, p.lastLr);
      if (clock) {
        clock.validationSeconds = clock.secondsSince(validated);
        if (!budgetOver(ctx)) await planBudget(ctx, clock, perEpoch, { steps: 3, seconds: 0 });
        else await ctx.tracker.mergeParams(ctx.runId, { budget_plan: budgetRecord(ctx, perEpoch) });
      }
      const saved = clock?.now() ?? 0;
      await saveLastCheckpoint(ctx, clock);
      if (clock) clock.checkpointSeconds = clock.secondsSince(saved);
    }
    return p.stoppedEarly ? 'stopped_early' : 'completed';
  } finally {
    await loader.close();
  }
}

async function logWindow(ctx: LoopContext, step: number, epoch: number, lr: number, seconds: number): Promise<void> {
  const w = ctx.progress.window;
  if (w.images === 0) return;
  const points: MetricPoint[] = [
    { key: 'train/loss', value: w.lossSum / w.images, step, epoch, split: 'train' },
    ...(ctx.task.accuracy ? [{ key: 'train/accuracy', value: w.correct / w.images, step, epoch, split: 'train' as const }] : []),
    { key: 'lr', value: lr, step, epoch },
    { key: 'images_per_second', value: w.images / Math.max(seconds, 1e-9), step, epoch },
  ];
  await ctx.tracker.logMetrics(ctx.runId, points);
  await ctx.tracker.logSystemMetrics(ctx.runId, step);
  ctx.progress.window = emptyAccumulator();
}

async function endEpoch(ctx: LoopContext, epoch: number, lr: number): Promise<void> {
  const { progress: p, settings: s } = ctx;
  const step = ctx.session.steps;
  const phase = `validate ${epoch + 1}/${plannedEpochs(ctx, stepsPerEpoch(ctx.train.count, Math.min(s.batchSize, ctx.train.count)))}`;
  ctx.onProgress?.({ phase, done: 0, total: ctx.val.count });
  const val = await ctx.task.validate(ctx.val, s.evalBatchSize);
  const t = p.epochTotals;
  const record: EpochRecord = {
    epoch: epoch + 1,
    step,
    trainLoss: t.images ? t.lossSum / t.images : Number.NaN,
    trainAccuracy: ctx.task.accuracy && t.images ? t.correct / t.images : null,
    ...val.record,
    lr,
  };
  const points: MetricPoint[] = [{ key: 'train/epoch_loss', value: record.trainLoss, step, epoch: epoch + 1, split: 'train' }];
  if (record.trainAccuracy !== null) points.push({ key: 'train/epoch_accuracy', value: record.trainAccuracy, step, epoch: epoch + 1, split: 'train' });
  for (const [key, value] of Object.entries(val.figures)) if (value !== null) points.push({ key: `val/${key}`, value, step, epoch: epoch + 1, split: 'val' });
  await ctx.tracker.logMetrics(ctx.runId, points);
  ctx.onProgress?.({ phase, done: ctx.val.count, total: ctx.val.count, info: val.info });

  const improved = p.bestScore === null || (ctx.task.monitor === 'min' ? val.monitored < p.bestScore : val.monitored > p.bestScore);
  p.history = [...p.history.filter((h) => h.epoch !== record.epoch), record];
  p.epoch = epoch + 1;
  p.batch = 0;
  p.epochTotals = emptyAccumulator();
  if (improved) {
    p.bestScore = val.monitored;
    p.bestEpoch = epoch + 1;
    p.epochsWithoutImprovement = 0;
    await saveBestWeights(ctx);
  } else {
    p.epochsWithoutImprovement += 1;
    if (s.patience > 0 && p.epochsWithoutImprovement >= s.patience) p.stoppedEarly = true;
  }
}

/** Creates the eval session that reads a live training session's weights, or their average (no copy). */
export function liveEval(
  build: Parameters<typeof EvalSession.create>[0],
  session: TrainSession,
  average: WeightAverage | undefined,
  execution: Parameters<typeof EvalSession.create>[1]['execution'],
): Promise<EvalSession> {
  return EvalSession.create(build, { state: () => evaluatedWeights(session, average), execution });
}
