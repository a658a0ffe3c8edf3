// The options of a training run, validated once (CLI, API or a resumed run's stored params all pass through
// here) and stored verbatim as the run's params, so `--resume` rebuilds exactly the same run.
import { z } from 'zod';

import { ValidationError } from '../core/errors.js';
import { LINEAR_INITS, POOLS, VIT_CONFIGS } from '../models/vit.js';
import { DEFAULT_AUGMENT } from './data/augment.js';
import { BALANCE_MODES } from './data/sampler.js';

const positiveInt = z.number().int().positive();
const rate = z.number().finite().nonnegative();

export const trainOptionsSchema = z
  .object({
    /** Dataset version id or unique prefix; with --from-model it defaults to the base model's version. */
    dataset: z.string().min(1).optional(),
    model: z.enum(Object.keys(VIT_CONFIGS) as [string, ...string[]]).optional(),
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
    epochs: positiveInt.default(30),
    batchSize: positiveInt.default(32),
    lr: z.number().finite().positive().default(1e-3),
    /** Floor of the cosine decay, as a fraction of lr. */
    minLrRatio: z.number().min(0).max(1).default(0.01),
    weightDecay: rate.default(0.05),
    /**
     * Decay of an exponential moving average of the weights that validation, the best checkpoint and the test
     * read (0: off, the last step's weights). 0.998 averages over roughly the last 500 steps.
     */
    emaDecay: z.number().min(0).lt(1).default(0),
    warmupEpochs: z.number().finite().nonnegative().default(1),
    clipGradNorm: z.number().finite().positive().default(1),
    labelSmoothing: z.number().min(0).max(0.5).default(0),
    dropout: z.number().min(0).lt(1).optional(),
    /**
     * Linear-layer initialization of a fresh model (src/models/vit.ts). PyTorch's fan-in uniform by default: with
     * timm's trunc-normal(0.02) the ViT sits on a modality-only plateau for many epochs on datasets of this size.
     */
    linearInit: z.enum(LINEAR_INITS).default('fan-in-uniform'),
    seed: z.number().int().nonnegative().default(1),
    /** Epochs without a validation-loss improvement before stopping; 0 disables early stopping. */
    patience: z.number().int().nonnegative().default(5),
    balance: z.enum(BALANCE_MODES).default('weights'),
    augment: z.boolean().default(true),
    hflip: z.boolean().default(DEFAULT_AUGMENT.hflip),
    cropMinScale: z.number().gt(0).max(1).default(DEFAULT_AUGMENT.cropMinScale),
    rotateDegrees: z.number().min(0).max(180).default(DEFAULT_AUGMENT.rotateDegrees),
    brightness: z.number().min(0).lt(1).default(DEFAULT_AUGMENT.brightness),
    contrast: z.number().min(0).lt(1).default(DEFAULT_AUGMENT.contrast),
    /** Share of training images only shifted by whole pixels, keeping their sharp pixels (see augment.ts). */
    sharpShare: z.number().min(0).max(1).default(DEFAULT_AUGMENT.sharpShare),
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

export function parseTrainOptions(input: unknown): TrainOptions {
  const r = trainOptionsSchema.safeParse(input);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join('.') || 'options'}: ${i.message}`);
    throw new ValidationError(`invalid training options: ${issues.join('; ')}`, { issues });
  }
  const o = r.data;
  if (!o.dataset && !o.fromModel) throw new ValidationError('a dataset version is required (--dataset), unless retraining a registered model (--from-model)');
  if (o.addFinalEvalFraction > 0 && !o.fromModel)
    throw new ValidationError("--add-final-eval-fraction moves the base model's final_eval images into training: it needs --from-model");
  return o;
}
