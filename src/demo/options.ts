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
     * Training recipe: vit-tiny at 32×32 trains at ~1 050–1 465 images/s on 2 cores, so it sees many more images in
     * the time budget than vit-small at 64×64 (~66 images/s), which stays on the modality-only plateau when trained
     * for a minute or two. Measured on 1 000 per class at fixed epochs (docs/quickstart.md's table): cnn-tiny (8
     * epochs, 61.3%), a wider conv stem (16/32/64 channels) and a wider, deeper ViT (dim 64, 3 blocks: 1.75× the
     * CPU per image) learned no faster per unit of CPU; label smoothing 0.1 with sharp share 0.3 slowed the exit from
     * the modality-only plateau. Any preset is accepted (cnn-small at 64×64 reached 59.2% in 12 epochs of 300 per
     * class at three times vit-tiny's cost).
     */
    model: z.enum(MODEL_NAMES).default('vit-tiny'),
    size: z.number().int().positive().default(32),
    /** 25 epochs of the 6 302 training images ≈ 157 600 images: 108 s of training loop on an idle 2-core machine. */
    epochs: z.number().int().positive().max(200).default(25),
    /**
     * Cap on the training loop's minutes (`train --time-budget`): on an idle 2-core machine the 25 epochs took 108 s
     * and end first; on a slower or busy one the schedule is fitted to this time instead, so the bootstrap stays
     * within about five minutes (with a model trained for fewer steps).
     */
    timeBudget: z.number().positive().max(60).default(2.5),
    batchSize: z.number().int().positive().default(32),
    /** 5e-3: 67.0% and 71.0% test in two runs against 3e-3's 65.7% (1 000 per class, 25 epochs; batch 64 at 4e-3: 64.8%). */
    lr: z.number().positive().default(5e-3),
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
