// What a registered model version needs to be served on its own: class names, input and output
// names and shapes, how to turn an image into its input, and the softmax temperature. Models trained
// here carry it in their ONNX metadata_props (written by the engine's export and the trainer);
// imported models bring it as meta.json, validated by `importMetaSchema`.
import { z } from 'zod';

import { ValidationError } from '../core/errors.js';
import { MAX_SIZE, MIN_SIZE, PREPROCESS_POLICY } from '../data/images/preprocess.js';
import { EXPORT_METADATA } from '../engine/index.js';
import { detectionFromExport, detectionMetaSchema } from './detection.js';
import { InvalidModelError } from './errors.js';

/** metadata_props key of the fitted softmax temperature (written by src/training/finalize.ts). */
export const TEMPERATURE_METADATA_KEY = 'secondread.temperature';

const perChannel = z.union([z.number(), z.array(z.number()).min(1).max(3)]);

/**
 * How an image becomes the model input: THE preprocessing (src/data/images/preprocess.ts:
 * grayscale, letterbox to size×size) → value × scale → (value − mean) / std per channel, the gray
 * plane repeated over `channels`. Only that policy exists, so a different `policy` is refused.
 */
export const preprocessingSchema = z
  .object({
    policy: z.string().optional(),
    policyVersion: z.number().int().optional(),
    size: z.number().int().min(MIN_SIZE).max(MAX_SIZE),
    channels: z.union([z.literal(1), z.literal(3)]),
    layout: z.literal('NCHW').default('NCHW'),
    dtype: z.literal('float32').default('float32'),
    /** Multiplier applied to the 0…255 pixel before mean/std (default 1/255: pixels in 0…1). */
    scale: z
      .number()
      .positive()
      .default(1 / 255),
    mean: perChannel.default(0),
    std: perChannel.default(1),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.policy !== undefined && p.policy !== PREPROCESS_POLICY.name) {
      ctx.addIssue({ code: 'custom', path: ['policy'], message: `only '${PREPROCESS_POLICY.name}' is supported` });
    }
    for (const k of ['mean', 'std'] as const) {
      const v = p[k];
      if (Array.isArray(v) && v.length !== 1 && v.length !== p.channels)
        ctx.addIssue({ code: 'custom', path: [k], message: `needs 1 or ${p.channels} values` });
    }
    const stds = Array.isArray(p.std) ? p.std : [p.std];
    if (stds.some((s) => !(s > 0))) ctx.addIssue({ code: 'custom', path: ['std'], message: 'must be positive' });
  });
export type Preprocessing = z.infer<typeof preprocessingSchema>;

const dim = z.union([z.number().int(), z.string(), z.null()]);

const classesSchema = z
  .array(z.string().min(1).max(100))
  .min(2)
  .max(1000)
  .refine((c) => new Set(c).size === c.length, 'class names must be unique');

export const modelMetadataSchema = z.object({
  classes: classesSchema,
  input: z.object({ name: z.string().min(1), shape: z.array(dim) }),
  output: z.object({ name: z.string().min(1) }),
  preprocessing: preprocessingSchema,
  temperature: z.number().positive().finite().default(1),
  framework: z.string().optional(),
  /** Present for a detector only (tracking/detection.ts): thresholds and output layout; `classes` are then the box classes. */
  detection: detectionMetaSchema.optional(),
});
export type ModelMetadata = z.infer<typeof modelMetadataSchema>;

/** meta.json of `models import`. */
export const importMetaSchema = z
  .object({
    classes: classesSchema,
    input: z.object({
      name: z.string().min(1).optional(),
      /** [1 | 'batch' | -1 | null, C, H, W] */
      shape: z.tuple([dim, z.number().int().positive(), z.number().int().positive(), z.number().int().positive()]),
    }),
    output: z.object({ name: z.string().min(1).optional() }).optional(),
    preprocessing: z.object({ size: z.number().int().optional(), channels: z.number().int().optional() }).passthrough().optional(),
    temperature: z.number().positive().finite().optional(),
    /** A detector: its thresholds and output layout (docs/detection.md, "Serving"). */
    detection: detectionMetaSchema.optional(),
    framework: z.string().max(200).optional(),
    description: z.string().max(4000).optional(),
    intendedUse: z.string().max(4000).optional(),
    limitations: z.union([z.string().max(4000), z.array(z.string().max(1000))]).optional(),
    datasetVersion: z.string().max(200).optional(),
    /** Figures measured elsewhere (e.g. {"test/accuracy": 0.93}), shown on the model card. */
    metrics: z.record(z.string(), z.number()).optional(),
  })
  .strict();
export type ImportMeta = z.infer<typeof importMetaSchema>;

/** "input.shape.1: expected number" — zod issues as one line a user can act on. */
export function describeIssues(err: z.ZodError): string {
  return err.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}

export function parseImportMeta(raw: unknown): ImportMeta {
  const r = importMetaSchema.safeParse(raw);
  if (!r.success) throw new ValidationError(`invalid model meta: ${describeIssues(r.error)}`, { issues: r.error.issues.slice(0, 10) });
  return r.data;
}

function parsePreprocessing(raw: unknown, where: string): Preprocessing {
  const r = preprocessingSchema.safeParse(raw);
  if (!r.success) throw new ValidationError(`invalid preprocessing in ${where}: ${describeIssues(r.error)}`);
  return r.data;
}

/** The model metadata an imported classifier declares in meta.json. */
export function metadataFromImport(meta: ImportMeta, io: { input: string; output: string }): ModelMetadata {
  const [, c, h, w] = meta.input.shape;
  if (h !== w) throw new ValidationError(`input shape [${meta.input.shape.join(', ')}]: height and width must be equal (images are letterboxed to a square)`);
  const pre = parsePreprocessing({ size: h, channels: c, ...meta.preprocessing }, 'meta.json');
  if (pre.size !== h || pre.channels !== c) {
    throw new ValidationError(
      `meta.json preprocessing (size ${pre.size}, ${pre.channels} channels) does not match input shape [${meta.input.shape.join(', ')}]`,
    );
  }
  return {
    classes: meta.classes,
    input: { name: io.input, shape: [...meta.input.shape] },
    output: { name: io.output },
    preprocessing: pre,
    temperature: meta.temperature ?? 1,
    framework: meta.framework,
    ...(meta.detection ? { detection: meta.detection } : {}),
  };
}

function readJsonProp(props: Record<string, string>, key: string): unknown {
  const v = props[key];
  if (v === undefined) return undefined;
  try {
    return JSON.parse(v) as unknown;
  } catch {
    throw new InvalidModelError(`model metadata '${key}' is not valid JSON`);
  }
}

/** The model metadata a model exported by the engine carries in its metadata_props. */
export function metadataFromExport(
  props: Record<string, string>,
  io: { input: string; output: string; inputShape: readonly (number | string | null)[] },
  fallbackTemperature?: number,
): ModelMetadata {
  const classes = readJsonProp(props, EXPORT_METADATA.classes);
  if (classes === undefined) throw new InvalidModelError(`the model has no '${EXPORT_METADATA.classes}' metadata (export it with classNames)`);
  const pre = readJsonProp(props, EXPORT_METADATA.preprocessing);
  if (pre === undefined) throw new InvalidModelError(`the model has no '${EXPORT_METADATA.preprocessing}' metadata (export it with preprocessing)`);
  const temperature = readJsonProp(props, TEMPERATURE_METADATA_KEY) ?? fallbackTemperature ?? 1;
  const detection = detectionFromExport(props);
  const r = modelMetadataSchema.safeParse({
    classes,
    input: { name: io.input, shape: [...io.inputShape] },
    output: { name: io.output },
    preprocessing: pre,
    temperature,
    framework: 'secondread-engine',
    ...(detection !== undefined ? { detection } : {}),
  });
  if (!r.success) throw new InvalidModelError(`invalid model metadata: ${describeIssues(r.error)}`);
  return r.data;
}

/** Parses metadata stored with a model version (our own JSON; corruption is a storage problem). */
export function parseStoredMetadata(json: string): ModelMetadata {
  return modelMetadataSchema.parse(JSON.parse(json));
}
