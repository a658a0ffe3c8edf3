// What the demo bootstrap builds: sizes of the synthetic dataset, the training recipe, the policy fit and
// the demo studies. Chosen so that `npm ci && npm start` reaches a working UI with a demo model within five
// minutes on a 2-core machine (docs/quickstart.md has the measured and estimated figures). The options a bootstrap
// starts with are recorded in its state file, so a bootstrap resumed after an interruption (or after an
// upgrade that changed these defaults) finishes with the options it started with.
import { z } from 'zod';

import { ValidationError } from '../core/errors.js';
import { MODEL_NAMES } from '../models/index.js';

/** The demo model's name in the registry. */
export const DEMO_MODEL = 'cxr-oct-demo';
/** The experiment its training run is tracked under. */
export const DEMO_EXPERIMENT = 'demo';

export const demoOptionsSchema = z
  .object({
    /** Seed of the phantoms, the training run and the simulated reader. */
    seed: z.number().int().nonnegative().default(1),
    /**
     * Synthetic images per class (9 classes) and their rendered sizes. The training images are 32×32, but the
     * renders are not shrunk to match: at 300 per class, 64 px renders gave 44% test against 128 px renders' 58–61%
     * with the same recipe (finer grain averages out in the downscale; docs/quickstart.md, "Why this recipe"). More
     * images beat more epochs: 1 000 per class for 25 epochs reached 67.0–71.0% (n = 904, lr 5e-3) against 300
     * per class for 35 epochs' 58.5–60.7%. On an otherwise idle 2-core machine the whole bootstrap took 199 s:
     * synth 26 s, build + validate 21 s, train 140 s (docs/quickstart.md, "Timings").
     */
    perClass: z.number().int().min(4).max(10_000).default(1000),
    cxrSize: z.number().int().min(32).max(1024).default(128),
    octWidth: z.number().int().min(32).max(1024).default(128),
    octHeight: z.number().int().min(32).max(1024).default(124),
    /**
     * The demo model: cnn-small at 32×32 with its own recipe (docs/training.md, "The CNN family"), trained for a
     * fixed 3 minutes. Measured on this dataset (1 000 per class, 128 px renders; docs/quickstart.md, "Why this
     * recipe"): 82.1% and 81.4% test over two seeds with the 3-minute budget (23–24 epochs at ~800 images/s on an idle
     * 2-core machine), 80.5% with 2.5 minutes. The previous default, vit-tiny at 32×32 (1 650 images/s, 25 epochs in
     * 95 s), stayed at 67–71% — it underfits, and neither more epochs nor 48×48 inputs (67.4%) helped; cnn-small at
     * 64×64 is 5× slower per image and had not left the modality plateau in 3 minutes (47.3%).
     */
    model: z.enum(MODEL_NAMES).default('cnn-small'),
    size: z.number().int().positive().default(32),
    /** A cap that the time budget reaches first on 2 cores (23–24 epochs fit in 3 minutes idle). */
    epochs: z.number().int().positive().max(200).default(30),
    /**
     * The training loop's minutes (`train --time-budget`): the learning-rate schedule is fitted to the steps that fit,
     * so the whole bootstrap stays within about five minutes on a 2-core machine (about 4 idle: synth 21 s, build
     * 13 s, train 3 min, the rest ~15 s) and a faster machine trains more epochs in the same time.
     */
    timeBudget: z.number().positive().max(60).default(3),
    /** Batch size and peak learning rate; unset: the model's recipe (cnn-small: 64 and 2e-3). */
    batchSize: z.number().int().positive().optional(),
    lr: z.number().positive().optional(),
    /** Policy fit: simulated reader A (accuracy, `miss` errors) and the false-clear bound. */
    readerAccuracy: z.number().min(0).max(1).default(0.9),
    maxFalseClear: z.number().min(0).max(1).default(0.02),
    qaFraction: z.number().min(0).max(1).default(0.05),
    /** Demo studies per class taken in from the final_eval split, and how many of those reader A has read. */
    studiesPerClass: z.number().int().min(0).max(50).default(3),
    readPerClass: z.number().int().min(0).max(50).default(2),
  })
  .strict();

export type DemoOptions = z.infer<typeof demoOptionsSchema>;
export type DemoOptionsInput = z.input<typeof demoOptionsSchema>;

export function parseDemoOptions(input: unknown): DemoOptions {
  const r = demoOptionsSchema.safeParse(input ?? {});
  if (!r.success) throw new ValidationError(`invalid demo options: ${r.error.issues.map((i) => `${i.path.join('.') || 'options'}: ${i.message}`).join('; ')}`);
  if (r.data.readPerClass > r.data.studiesPerClass) throw new ValidationError('demo options: readPerClass cannot exceed studiesPerClass');
  return r.data;
}
