// What a checkpoint carries besides the tensors (its `config` metadata): the model config and normalization the
// weights belong to, and where the trainer stood, so a resumed run continues the same epoch at the same batch with
// the same early-stopping bookkeeping and partial averages.
import { ValidationError } from '../core/errors.js';
import type { DetectorConfig } from '../models/detector.js';
import type { ModelConfig } from '../models/index.js';
import type { BudgetState } from './budget.js';
import type { Normalization } from './data/augment.js';

export const CHECKPOINT_KIND = 'secondread.trainer/1';

/** Sums over a stretch of training steps (the current log window, or the current epoch). */
export interface Accumulator {
  steps: number;
  images: number;
  lossSum: number;
  correct: number;
}

export const emptyAccumulator = (): Accumulator => ({ steps: 0, images: 0, lossSum: 0, correct: 0 });

/** One epoch's figures; null where the task has none (a detector has no accuracy and no validation loss). */
export interface EpochRecord {
  epoch: number;
  step: number;
  trainLoss: number;
  trainAccuracy: number | null;
  valLoss: number | null;
  valAccuracy: number | null;
  valMacroF1: number | null;
  /** Detection: VOC mAP@0.5 on val (the figure that selects the best weights). */
  valMap50?: number | null;
  lr: number;
}

export interface TrainerProgress {
  /** 0-based epoch being trained (= epochs completed). */
  epoch: number;
  /** Next batch of that epoch. */
  batch: number;
  /**
   * The best value of the task's monitored validation figure so far (classification: the lowest val loss;
   * detection: the highest val mAP@0.5). Checkpoints written before detection existed call it `bestValLoss`.
   */
  bestScore: number | null;
  bestEpoch: number | null;
  epochsWithoutImprovement: number;
  stoppedEarly: boolean;
  window: Accumulator;
  epochTotals: Accumulator;
  history: EpochRecord[];
  /** Seconds spent in training steps so far (over all sessions of the run). */
  trainSeconds: number;
  /** Training images processed so far (steps × batch). */
  imagesSeen: number;
  /** Learning rate of the last step taken. */
  lastLr: number;
  /** A time-budgeted run's plan and clock (absent without --time-budget). */
  budget?: BudgetState;
}

/** The config of any model the trainer trains: a classifier (ViT, CNN) or a detector. */
export type TrainedModelConfig = ModelConfig | DetectorConfig;

export function isDetectorConfig(cfg: TrainedModelConfig): cfg is DetectorConfig {
  return 'regMax' in cfg;
}

export interface CheckpointConfig {
  kind: typeof CHECKPOINT_KIND;
  model: TrainedModelConfig;
  norm: Normalization;
  progress: TrainerProgress;
}

export function initialProgress(): TrainerProgress {
  return {
    epoch: 0,
    batch: 0,
    bestScore: null,
    bestEpoch: null,
    epochsWithoutImprovement: 0,
    stoppedEarly: false,
    window: emptyAccumulator(),
    epochTotals: emptyAccumulator(),
    history: [],
    trainSeconds: 0,
    imagesSeen: 0,
    lastLr: 0,
  };
}

export function readCheckpointConfig(config: unknown, source: string): CheckpointConfig {
  const c = config as Partial<CheckpointConfig> | undefined;
  if (!c || c.kind !== CHECKPOINT_KIND || !c.model || !c.norm || !c.progress) throw new ValidationError(`${source} is not a secondread trainer checkpoint`);
  const progress = c.progress as TrainerProgress & { bestValLoss?: number | null };
  if (progress.bestScore === undefined && progress.bestValLoss !== undefined) {
    progress.bestScore = progress.bestValLoss;
    delete progress.bestValLoss;
  }
  return c as CheckpointConfig;
}
