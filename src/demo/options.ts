// What the demo bootstrap builds: sizes of the synthetic dataset, the training recipe, the policy fit and
// the demo studies. Chosen so that `npm ci && npm start` reaches a working UI with a demo model within five
// minutes on a 2-core machine (docs/quickstart.md has the measured figures). The options a bootstrap
// starts with are recorded in its state file, so a bootstrap resumed after an interruption (or after an
// upgrade that changed these defaults) finishes with the options it started with.
import { z } from 'zod';

import { ValidationError } from '../core/errors.js';
import { VIT_CONFIGS } from '../models/vit.js';

/** The demo model's name in the registry. */
export const DEMO_MODEL = 'cxr-oct-demo';
/** The experiment its training run is tracked under. */
export const DEMO_EXPERIMENT = 'demo';

export const demoOptionsSchema = z
  .object({
    /** Seed of the phantoms, the training run and the simulated reader. */
    seed: z.number().int().nonnegative().default(1),
    /** Synthetic images per class (9 classes) and their sizes: small images render, build and cache fast. */
    perClass: z.number().int().min(4).max(10_000).default(300),
    cxrSize: z.number().int().min(32).max(1024).default(128),
    octWidth: z.number().int().min(32).max(1024).default(128),
    octHeight: z.number().int().min(32).max(1024).default(124),
    /**
     * Training recipe: vit-tiny at 32×32 trains at ~1 200 images/s on 2 cores, so it sees many more images in the
     * time budget than vit-small at 64×64 (~66 images/s), which stays on the modality-only plateau when trained for
     * a minute or two (measured in docs/quickstart.md).
     */
    model: z.enum(Object.keys(VIT_CONFIGS) as [string, ...string[]]).default('vit-tiny'),
    size: z.number().int().positive().default(32),
    epochs: z.number().int().positive().max(200).default(35),
    /**
     * Cap on the training loop's minutes (`train --time-budget`): on a quiet 2-core machine the 35 epochs take about a
     * minute and end first; on a slower or busy one the schedule is fitted to this time instead, so the bootstrap
     * stays within its five minutes (with a model trained for fewer steps).
     */
    timeBudget: z.number().positive().max(60).default(3),
    batchSize: z.number().int().positive().default(32),
    lr: z.number().positive().default(3e-3),
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
