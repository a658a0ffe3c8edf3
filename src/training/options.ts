// The options of a training run, validated once (CLI, API or a resumed run's stored params all pass through
// here) and stored verbatim as the run's params, so `--resume` rebuilds exactly the same run.
import { z } from 'zod';

import { ValidationError } from '../core/errors.js';
import { DETECTOR_CONFIGS } from '../models/detector.js';
import { MODEL_NAMES } from '../models/index.js';
import { LINEAR_INITS, POOLS } from '../models/vit.js';
import { DEFAULT_AUGMENT } from './data/augment.js';
import { BALANCE_MODES } from './data/sampler.js';

const positiveInt = z.number().int().positive();

/** What a run trains: a classifier of the nine classes, or a detector of the 14 VinDr findings with boxes. */
export const TASKS = ['classify', 'detect'] as const;
export type Task = (typeof TASKS)[number];

/** Detector presets (src/models/detector.ts), trained with --task detect. */
export const DETECTOR_NAMES = Object.keys(DETECTOR_CONFIGS) as [string, ...string[]];
export const isDetectorName = (name: string): boolean => Object.hasOwn(DETECTOR_CONFIGS, name);

/** The run's task: the one given, else the model's (a det-* model detects). */
export function taskOf(o: { task?: Task; model?: string }): Task {
  return o.task ?? (o.model && isDetectorName(o.model) ? 'detect' : 'classify');
}
const rate = z.number().finite().nonnegative();

export const trainOptionsSchema = z
  .object({
    /** Dataset version id or unique prefix; with --from-model it defaults to the base model's version. */
    dataset: z.string().min(1).optional(),
    /** classify (default) or detect; default: the model's (det-nano and det-small detect). */
    task: z.enum(TASKS).optional(),
    model: z.enum([...MODEL_NAMES, ...DETECTOR_NAMES]).optional(),
    /** Input side in pixels; default: the model config's. */
    size: positiveInt.optional(),
    /** Patch side on the conv stem's output grid; default: the model config's (fewer tokens = faster epochs). */
    patchSize: positiveInt.optional(),
    /** Strides of the conv-stem blocks, one per block; default: the model config's. [1, 2, 2] keeps full resolution in the first block. */
    stemStrides: z.array(positiveInt).min(1).max(8).optional(),
    /** Output channels of the conv-stem blocks; default: the model config's. */
    stemChannels: z.array(positiveInt.max(4096)).min(1).max(8).optional(),
    /** What the head reads: the [CLS] token (the model's default) or the mean of the patch tokens. */
    pool: z.enum(POOLS).optional(),
    /** Epochs (an upper bound under a time budget); default: the model's recipe. */
    epochs: positiveInt.optional(),
    /**
     * Minutes of training (steps, validation, checkpoints): the cosine schedule is fitted to the steps that fit,
     * measured after the first steps (budget.ts). With --epochs as well, whichever ends first.
     */
    timeBudget: z.number().finite().positive().max(10_080).optional(),
    batchSize: positiveInt.optional(),
    lr: z.number().finite().positive().optional(),
    /** Floor of the cosine decay, as a fraction of lr. */
    minLrRatio: z.number().min(0).max(1).default(0.01),
    /** AdamW's decoupled weight decay; default: the model's recipe. */
    weightDecay: rate.optional(),
    /**
     * Decay of an exponential moving average of the weights that validation, the best checkpoint and the test
     * read (0: off, the last step's weights). 0.998 averages over roughly the last 500 steps.
     */
    emaDecay: z.number().min(0).lt(1).default(0),
    warmupEpochs: z.number().finite().nonnegative().optional(),
    clipGradNorm: z.number().finite().positive().default(1),
    labelSmoothing: z.number().min(0).max(0.5).optional(),
    dropout: z.number().min(0).lt(1).optional(),
    /** Stochastic depth (ViT): drop-path rate of the last block, rising linearly from 0 in the first; 0 = off. */
    dropPath: z.number().min(0).lt(1).default(0),
    /** Mixup's Beta(α, α) (data/mix.ts); 0 = off. Trains on soft targets, with label smoothing applied to them. */
    mixup: z.number().finite().min(0).max(10).default(0),
    /** CutMix's Beta(α, α); 0 = off. With --mixup too, each batch uses one of the two with probability ½. */
    cutmix: z.number().finite().min(0).max(10).default(0),
    /**
     * Layer-wise learning-rate decay (ViT): block i trains at lr·d^(depth − i), the stem and patch embedding at
     * lr·d^(depth + 1), the head at lr; 1 = off.
     */
    layerDecay: z.number().gt(0).max(1).default(1),
    /**
     * Linear-layer initialization of a fresh model (src/models/vit.ts). PyTorch's fan-in uniform by default: with
     * timm's trunc-normal(0.02) the ViT sits on a modality-only plateau for many epochs on datasets of this size.
     */
    linearInit: z.enum(LINEAR_INITS).default('fan-in-uniform'),
    seed: z.number().int().nonnegative().default(1),
    /** Epochs without a validation-loss improvement before stopping; 0 disables early stopping. */
    patience: z.number().int().nonnegative().optional(),
    balance: z.enum(BALANCE_MODES).default('weights'),
    augment: z.boolean().default(true),
    hflip: z.boolean().default(DEFAULT_AUGMENT.hflip),
    cropMinScale: z.number().gt(0).max(1).optional(),
    rotateDegrees: z.number().min(0).max(180).optional(),
    brightness: z.number().min(0).lt(1).optional(),
    contrast: z.number().min(0).lt(1).optional(),
    /** Share of training images only shifted by whole pixels, keeping their sharp pixels (see augment.ts). */
    sharpShare: z.number().min(0).max(1).optional(),
    /** Random erasing probability (augment.ts); 0 = off. */
    randomErase: z.number().min(0).max(1).default(0),
    /** Also checkpoint every N optimizer steps (0: at epoch ends only). */
    checkpointEvery: z.number().int().nonnegative().default(0),
    /** Log train metrics every N steps. */
    logEvery: positiveInt.default(10),
    evalBatchSize: positiveInt.default(128),
    /** Batch-preparation worker threads (0: on the main thread). */
    workers: z.number().int().min(0).max(8).default(1),
    /** ONNX Runtime intra-op threads. */
    threads: positiveInt.default(2),
    experiment: z.string().min(1).default('default'),
    name: z.string().min(1).optional(),
    /** Registered model to start from: name, name:version or name@alias. */
    fromModel: z.string().min(1).optional(),
    /** Share of the base dataset version's final_eval images moved into training (needs fromModel). */
    addFinalEvalFraction: z.number().min(0).max(1).default(0),
  })
  .strict();

export type TrainOptions = z.infer<typeof trainOptionsSchema>;
export type TrainOptionsInput = z.input<typeof trainOptionsSchema>;

/** What a model's recipe decides when the option is not given. */
export interface Recipe {
  epochs: number;
  weightDecay: number;
  batchSize: number;
  lr: number;
  warmupEpochs: number;
  labelSmoothing: number;
  patience: number;
  cropMinScale: number;
  rotateDegrees: number;
  brightness: number;
  contrast: number;
  sharpShare: number;
  /** Dropout in the blocks; absent: the model config's. */
  dropout?: number;
  /** The stem and patch of a fresh model; absent: the model config's. */
  architecture?: { stemStrides: number[]; stemChannels: number[]; patchSize: number };
  /** The input side of a fresh model when --size is not given; absent: the model config's. */
  size?: number;
}

/** The trainer's first defaults: vit-tiny's recipe (fast tests and examples) and that of a model without one. */
export const GENERIC_RECIPE: Recipe = {
  epochs: 30,
  weightDecay: 0.05,
  batchSize: 32,
  lr: 1e-3,
  warmupEpochs: 1,
  labelSmoothing: 0,
  patience: 5,
  cropMinScale: DEFAULT_AUGMENT.cropMinScale,
  rotateDegrees: DEFAULT_AUGMENT.rotateDegrees,
  brightness: DEFAULT_AUGMENT.brightness,
  contrast: DEFAULT_AUGMENT.contrast,
  sharpShare: DEFAULT_AUGMENT.sharpShare,
};

/**
 * docs/training.md's best measured ViT recipe (vit-small, 10 080 phantoms: 85.8% and 88.5% test over two seeds in
 * 29 minutes on 2 cores): batch 64, warm-up 3 epochs to 1e-3, no dropout, label smoothing 0.1, mild augmentation
 * with a sharp share of 0.3, and an all-convolution stem down to a 4×4 token grid.
 */
const MEASURED_VIT: Omit<Recipe, 'architecture'> = {
  epochs: 40,
  weightDecay: 0.05,
  batchSize: 64,
  lr: 1e-3,
  warmupEpochs: 3,
  labelSmoothing: 0.1,
  patience: 15,
  cropMinScale: 0.9,
  rotateDegrees: 5,
  brightness: 0.1,
  contrast: 0.1,
  sharpShare: 0.3,
  dropout: 0,
};

/**
 * cnn-small (docs/training.md, "The CNN family"): the plain PyTorch CNN's recipe (bench/peers/cnn_ceiling.py: AdamW
 * 2e-3, batch 64, a warm-up, label smoothing 0.05, mild augmentation) plus the ViT's sharp share, at 48×48: on the
 * 10 080-image set `--time-budget 9` fitted 36 epochs at 48² (90.7% test, 9:39 for the whole process on an idle
 * 2-core machine) where 64² fitted 12 (83.2%) — the smaller input trains 3× more images per second and the model
 * still sees the findings. 35 epochs are that run's length without a budget.
 */
const CNN_SMALL: Recipe = {
  size: 48,
  epochs: 35,
  weightDecay: 0.05,
  batchSize: 64,
  lr: 2e-3,
  warmupEpochs: 2,
  labelSmoothing: 0.05,
  patience: 0,
  cropMinScale: 0.9,
  rotateDegrees: 5,
  brightness: 0.1,
  contrast: 0.1,
  sharpShare: 0.3,
};

/**
 * The detectors' recipe (docs/detection.md): YOLOv8's small-dataset choices where they apply — AdamW at 2e-3 with
 * weight decay 5e-4, warm-up, scale/translate augmentation (crop area 0.5–1), brightness/contrast, no rotation, no
 * flip by default (laterality) — and early stopping on val mAP@0.5.
 */
const DETECTOR_RECIPE: Recipe = {
  epochs: 30,
  weightDecay: 5e-4,
  batchSize: 16,
  lr: 2e-3,
  warmupEpochs: 1,
  labelSmoothing: 0,
  patience: 10,
  cropMinScale: 0.5,
  rotateDegrees: 0,
  brightness: 0.2,
  contrast: 0.2,
  sharpShare: 0,
};

export const MODEL_RECIPES: Readonly<Record<string, Recipe>> = {
  'det-nano': DETECTOR_RECIPE,
  'det-small': DETECTOR_RECIPE,
  'vit-tiny': GENERIC_RECIPE,
  'vit-small': { ...MEASURED_VIT, architecture: { stemStrides: [1, 2, 2, 2, 2], stemChannels: [16, 32, 64, 128, 192], patchSize: 1 } },
  // The same recipe carried to 128×128 (not measured at this size): one more stride-2 block to the same 4×4 grid.
  'vit-seed': { ...MEASURED_VIT, architecture: { stemStrides: [1, 2, 2, 2, 2, 2], stemChannels: [16, 32, 64, 128, 192, 256], patchSize: 1 } },
  'cnn-small': CNN_SMALL,
};

export function modelRecipe(model: string): Recipe {
  return MODEL_RECIPES[model] ?? GENERIC_RECIPE;
}

const RECIPE_TRAINING_KEYS = [
  'weightDecay',
  'batchSize',
  'lr',
  'warmupEpochs',
  'labelSmoothing',
  'patience',
  'cropMinScale',
  'rotateDegrees',
  'brightness',
  'contrast',
  'sharpShare',
] as const satisfies readonly (keyof Recipe & keyof TrainOptions)[];

/** Options with the model's recipe filled in; `epochs` stays open under a time budget without --epochs. */
export type ResolvedTrainOptions = TrainOptions & Required<Pick<TrainOptions, (typeof RECIPE_TRAINING_KEYS)[number]>>;

/**
 * Fills what the user left open from the model's recipe. The recipe's input size, stem and patch apply to a fresh model only,
 * and only as a whole: when any of --stem-strides, --stem-channels, --patch-size is given, the others come from the
 * model config (a retrained model keeps its base's architecture).
 */
export function applyRecipe(o: TrainOptions, model: string, opts: { architecture: boolean }): ResolvedTrainOptions {
  const r = modelRecipe(model);
  const out = { ...o } as ResolvedTrainOptions;
  for (const k of RECIPE_TRAINING_KEYS) if (out[k] === undefined) out[k] = r[k];
  if (out.epochs === undefined && out.timeBudget === undefined) out.epochs = r.epochs;
  if (out.dropout === undefined && r.dropout !== undefined) out.dropout = r.dropout;
  if (opts.architecture && out.size === undefined && r.size !== undefined) out.size = r.size;
  const arch = r.architecture;
  if (opts.architecture && arch && o.stemStrides === undefined && o.stemChannels === undefined && o.patchSize === undefined) {
    out.stemStrides = [...arch.stemStrides];
    out.stemChannels = [...arch.stemChannels];
    out.patchSize = arch.patchSize;
  }
  return out;
}

export function parseTrainOptions(input: unknown): TrainOptions {
  const r = trainOptionsSchema.safeParse(input);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join('.') || 'options'}: ${i.message}`);
    throw new ValidationError(`invalid training options: ${issues.join('; ')}`, { issues });
  }
  const o = r.data;
  if (!o.dataset && !o.fromModel) throw new ValidationError('a dataset version is required (--dataset), unless retraining a registered model (--from-model)');
  if (o.task && o.model && taskOf({ model: o.model }) !== o.task)
    throw new ValidationError(
      `--model ${o.model} does not ${o.task === 'detect' ? 'detect' : 'classify'}: use ${o.task === 'detect' ? DETECTOR_NAMES.join(' or ') : 'a ViT or CNN'}`,
    );
  if (taskOf(o) === 'detect' && o.fromModel) throw new ValidationError('--from-model retrains classifiers only (detector retraining is not built yet)');
  if (taskOf(o) === 'detect') {
    const classifierOnly = [
      ['--mixup', o.mixup > 0],
      ['--cutmix', o.cutmix > 0],
      ['--drop-path', o.dropPath > 0],
      ['--layer-decay', o.layerDecay < 1],
      ['--label-smoothing', (o.labelSmoothing ?? 0) > 0],
    ] as const;
    const flags = classifierOnly.filter(([, on]) => on).map(([flag]) => flag);
    if (flags.length > 0) throw new ValidationError(`${flags.join(', ')}: classifier options, not for a detector`);
  }
  if (o.addFinalEvalFraction > 0 && !o.fromModel)
    throw new ValidationError("--add-final-eval-fraction moves the base model's final_eval images into training: it needs --from-model");
  return o;
}
