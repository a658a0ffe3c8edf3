// Starting and resuming training runs — one trainer, two tasks: resolve the plan, load the data (the detector's with
// its boxes), create the sessions (fresh, from a registered model's weights, or from the run's last checkpoint), run
// the one loop with the task's step and validation (classify-task.ts, detect-task.ts), finalize with the task's
// evaluation and export (finalize.ts, finalize-detect.ts), and record the run's status in the tracker. A failure marks
// the run failed; an interruption (signal) checkpoints and marks it killed; a crash (kill -9) leaves it running — `resumeTraining` continues it.
import { ConflictError, SecondreadError } from '../core/errors.js';
import type { ProgressFn } from '../core/progress.js';
import { SECONDREAD_CLASSES } from '../data/classes.js';
import { adamw, type Checkpoint, decodeCheckpoint, type ExecutionOptions, type ModelBuilder, TrainSession, warmupCosine } from '../engine/index.js';
import { detectorModel } from '../models/detector.js';
import { classifier, isCnnConfig } from '../models/index.js';
import { layerDecayFactor } from '../models/vit.js';
import type { Db } from '../storage/db.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { RunRecord, Tracker } from '../tracking/index.js';
import { budgetSchedule, initialBudget, type Milliseconds } from './budget.js';
import { classifyLoopTask } from './classify-task.js';
import { pixelStats } from './data/augment.js';
import { type MixConfig, mixEnabled } from './data/mix.js';
import { inverseFrequencyWeights } from './data/sampler.js';
import { loadTrainingData, type TrainingData } from './dataset.js';
import { detectLoopTask } from './detect-task.js';
import { readReferenceBoxes, withBoxes } from './detection-data.js';
import { WeightAverage } from './ema.js';
import { finalizeRun, type FinalMetrics, runSummary } from './finalize.js';
import { type DetectionFinalMetrics, detectionRunSummary, finalizeDetectionRun } from './finalize-detect.js';
import { liveEval, type LoopSettings, type LoopTask, runLoop, stepsPerEpoch } from './loop.js';
import { parseTrainOptions, type ResolvedTrainOptions, taskOf, type TrainOptionsInput } from './options.js';
import { planFromParams, planRun, planToParams, type RunPlan } from './plan.js';
import { ARTIFACTS, loadBaseModel, loadRunWeights, type ModelResolver, type RunWeights } from './retrain.js';
import { type CheckpointConfig, initialProgress, isDetectorConfig, readCheckpointConfig, type TrainedModelConfig, type TrainerProgress } from './state.js';

export interface TrainerDeps {
  db: Db;
  objects: ObjectStore;
  tracker: Tracker;
  /** Needed only for --from-model. */
  registry?: ModelResolver;
  /** Root of the training caches (`$SECONDREAD_HOME/cache`). */
  cacheDir: string;
  onProgress?: ProgressFn;
  /** Called once the run exists (before any training), e.g. to print its id. */
  onRunStarted?: (run: RunRecord) => void;
  /** Abort = stop after the current step, checkpoint, mark the run killed. */
  signal?: AbortSignal;
  /** Execution provider and threads (default: CPU, options.threads). */
  execution?: ExecutionOptions;
  /** The time budget's clock in milliseconds (default performance.now); tests drive a budgeted run's time with it. */
  now?: Milliseconds;
}

export interface TrainResult {
  run: RunRecord;
  status: 'finished' | 'killed';
  /** A finished classifier's figures. */
  metrics?: FinalMetrics;
  /** A finished detector's figures. */
  detection?: DetectionFinalMetrics;
}

/** What a caller adds to a new run besides its options: tags (a sweep's name and trial, the job that runs it). */
export interface StartExtras {
  tags?: Record<string, string>;
}

export async function startTraining(deps: TrainerDeps, input: TrainOptionsInput, extras: StartExtras = {}): Promise<TrainResult> {
  const options = parseTrainOptions(input);
  let base;
  if (options.fromModel) {
    if (!deps.registry) throw new SecondreadError('internal', 'retraining needs the model registry', 500);
    base = await loadBaseModel(deps.registry, deps.tracker, options.fromModel);
  }
  const plan = await planRun(deps.db, options, base);
  const data = await loadData(deps, plan);
  const run = await deps.tracker.startRun({
    experiment: plan.options.experiment,
    name: plan.options.name,
    params: planToParams(plan, { data: { ...data.counts, added_final_eval: data.addedFinalEval } }),
    datasetVersion: plan.options.dataset,
    parentRunId: base?.runId,
    tags: { ...extras.tags, ...(plan.lineage ? { retrain_of: plan.lineage.from_model } : {}) },
  });
  deps.onRunStarted?.(run);
  return trainRun(deps, run, plan, data, base);
}

export async function resumeTraining(deps: TrainerDeps, runId: string): Promise<TrainResult> {
  const stored = await deps.tracker.getRun(runId);
  if (stored.status === 'finished')
    throw new ConflictError(`run '${runId}' already finished; start a new run (or retrain from its registered model)`, { run: runId });
  const plan = planFromParams(stored.params);
  const data = await loadData(deps, plan);
  const run = await deps.tracker.resumeRun(runId);
  deps.onRunStarted?.(run);
  return trainRun(deps, run, plan, data);
}

/** A plan's images (and, for a detector, their fused reference boxes in input pixels), as the run trains on them. */
export async function loadData(deps: Pick<TrainerDeps, 'db' | 'objects' | 'cacheDir' | 'onProgress'>, plan: RunPlan): Promise<TrainingData> {
  const data = await loadTrainingData({
    db: deps.db,
    objects: deps.objects,
    cacheDir: deps.cacheDir,
    size: plan.options.size,
    version: plan.options.dataset,
    baseVersion: plan.baseDataset,
    addFinalEvalFraction: plan.options.addFinalEvalFraction,
    seed: plan.options.seed,
    onProgress: deps.onProgress,
  });
  if (taskOf(plan.options) !== 'detect') return data;
  return withBoxes(data, await readReferenceBoxes(deps.objects, plan.options.dataset, plan.options.size));
}

/**
 * Trains an existing run on already-loaded data (startTraining and resumeTraining end here; tests call it with
 * in-memory sets). Marks the run failed if anything throws.
 */
export async function trainRun(deps: TrainerDeps, run: RunRecord, plan: RunPlan, data: TrainingData, base?: RunWeights): Promise<TrainResult> {
  try {
    return await train(deps, run, plan, data, base);
  } catch (err) {
    await deps.tracker.finishRun(run.id, 'failed').catch(() => undefined);
    throw err;
  }
}

/** The run's last checkpoint and its trainer config, when the run has one (a resumed run). */
interface LastCheckpoint {
  checkpoint: Checkpoint;
  config: CheckpointConfig;
}

async function readLastCheckpoint(tracker: Tracker, runId: string): Promise<LastCheckpoint | undefined> {
  if (!(await tracker.hasArtifact(runId, ARTIFACTS.last))) return undefined;
  const checkpoint = decodeCheckpoint(await tracker.getArtifact(runId, ARTIFACTS.last), ARTIFACTS.last);
  return { checkpoint, config: readCheckpointConfig(checkpoint.config, `run ${runId}'s ${ARTIFACTS.last}`) };
}

/**
 * The training session (AdamW, warm-up + cosine LR, gradient clipping) started from the last checkpoint, else from
 * the base weights, else fresh; and the weight average a resumed run continues (or a new one when emaDecay > 0).
 * Under a time budget the cosine follows the budget's plan (budget.ts), which lives in `progress`.
 */
async function createTrainSession(
  build: ModelBuilder,
  model: TrainedModelConfig,
  o: ResolvedTrainOptions,
  perEpoch: number,
  progress: TrainerProgress,
  execution: ExecutionOptions,
  last: LastCheckpoint | undefined,
  base: RunWeights | undefined,
): Promise<{ session: TrainSession; average: WeightAverage | undefined }> {
  const warmupSteps = Math.round(o.warmupEpochs * perEpoch);
  let lr;
  if (o.timeBudget !== undefined) {
    progress.budget ??= initialBudget(o.timeBudget, warmupSteps);
    lr = budgetSchedule(progress.budget, { peakLr: o.lr, minLr: o.lr * o.minLrRatio });
  } else {
    const totalSteps = perEpoch * (o.epochs ?? 1);
    lr = warmupCosine({ peakLr: o.lr, warmupSteps: Math.min(totalSteps, warmupSteps), totalSteps, minLr: o.lr * o.minLrRatio });
  }
  const session = await TrainSession.create(build, {
    optimizer: adamw({
      weightDecay: o.weightDecay,
      lrScale: o.layerDecay < 1 && !isDetectorConfig(model) && !isCnnConfig(model) ? layerDecayFactor(model, o.layerDecay) : undefined,
    }),
    lr,
    clipGradNorm: o.clipGradNorm,
    seed: o.seed,
    execution,
    initialState: last ? undefined : base?.weights,
  });
  let average: WeightAverage | undefined;
  if (last) {
    // The last checkpoint holds the session's state and, beside it, the weight average a resumed run continues.
    const stored = WeightAverage.split(last.checkpoint.tensors, o.emaDecay);
    await session.restore({ ...last.checkpoint, tensors: stored.own });
    average = stored.average;
  }
  if (!average && o.emaDecay > 0) average = new WeightAverage(o.emaDecay, session.stateTensors(['param', 'buffer']));
  return { session, average };
}

/** Mixup / CutMix of the run's batches (null when both are off: the train graph then reads integer labels). */
function mixing(o: ResolvedTrainOptions): MixConfig | null {
  const mix = { mixup: o.mixup, cutmix: o.cutmix, numClasses: SECONDREAD_CLASSES.length };
  return mixEnabled(mix) ? mix : null;
}

/** The loop's settings from the run's options (augmentation on or off as a whole). */
export function loopSettings(o: ResolvedTrainOptions, batchSize: number): LoopSettings {
  return {
    // Under a time budget without --epochs the budget's plan ends the run.
    epochs: o.epochs ?? Number.MAX_SAFE_INTEGER,
    batchSize,
    seed: o.seed,
    patience: o.patience,
    balance: o.balance,
    augment: o.augment
      ? {
          cropMinScale: o.cropMinScale,
          cropMaxAspect: 4 / 3,
          rotateDegrees: o.rotateDegrees,
          brightness: o.brightness,
          contrast: o.contrast,
          hflip: o.hflip,
          sharpShare: o.sharpShare,
          eraseProb: o.randomErase,
        }
      : null,
    mix: mixing(o),
    checkpointEvery: o.checkpointEvery,
    logEvery: o.logEvery,
    evalBatchSize: o.evalBatchSize,
    workers: o.workers,
  };
}

async function train(deps: TrainerDeps, run: RunRecord, plan: RunPlan, data: TrainingData, startFrom: RunWeights | undefined): Promise<TrainResult> {
  const o = plan.options;
  const { tracker } = deps;
  const last = await readLastCheckpoint(tracker, run.id);
  // A retraining run that crashed before its first checkpoint starts again from the base weights.
  const base = startFrom ?? (!last && plan.lineage ? await loadRunWeights(tracker, plan.lineage.base_run) : undefined);
  // The parent's normalization: its weights expect inputs scaled the way it was trained.
  const norm = last?.config.norm ?? base?.config.norm ?? pixelStats(data.train.images);

  const model = plan.model;
  const detect = isDetectorConfig(model);
  // The classifier's loss weighs classes (--balance weights); the detector's classes are its boxes' (no weights).
  const classWeights = !detect && o.balance === 'weights' ? inverseFrequencyWeights(data.train.labels, SECONDREAD_CLASSES.length) : undefined;
  const build = detect ? detectorModel(model) : classifier(model, { classWeights, labelSmoothing: o.labelSmoothing, softTargets: mixing(o) !== null });
  const batch = Math.min(o.batchSize, data.train.count);
  const execution: ExecutionOptions = deps.execution ?? { provider: 'cpu', intraOpThreads: o.threads };
  const progress = last?.config.progress ?? initialProgress();
  const { session, average } = await createTrainSession(build, plan.model, o, stepsPerEpoch(data.train.count, batch), progress, execution, last, base);
  const evalSession = await liveEval(build, session, average, execution);
  try {
    const task: LoopTask = detect ? detectLoopTask(session, evalSession, norm, model) : classifyLoopTask(session, evalSession, norm, data.train.size);
    const outcome = await runLoop({
      runId: run.id,
      tracker,
      session,
      task,
      model,
      norm,
      train: data.train,
      val: data.val,
      settings: loopSettings(o, batch),
      progress,
      average,
      onProgress: deps.onProgress,
      signal: deps.signal,
      now: deps.now,
    });
    if (outcome === 'interrupted') {
      await tracker.finishRun(run.id, 'killed');
      return { run: await tracker.getRun(run.id), status: 'killed' };
    }
    const finalizing = {
      runId: run.id,
      tracker,
      norm,
      data,
      datasetVersion: o.dataset,
      progress,
      steps: session.steps,
      evalBatchSize: o.evalBatchSize,
      execution,
      onProgress: (phase: string) => deps.onProgress?.({ phase, done: 0 }),
    };
    if (detect) {
      const detection = await finalizeDetectionRun({ ...finalizing, model });
      await tracker.finishRun(run.id, 'finished', detectionRunSummary(detection));
      return { run: await tracker.getRun(run.id), status: 'finished', detection };
    }
    const metrics = await finalizeRun({ ...finalizing, build, model });
    await tracker.finishRun(run.id, 'finished', runSummary(metrics));
    return { run: await tracker.getRun(run.id), status: 'finished', metrics };
  } finally {
    await Promise.all([session.release(), evalSession.release()]);
  }
}
