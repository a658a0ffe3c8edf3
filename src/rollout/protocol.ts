// The change protocol (change-protocol.yaml): the acceptance criteria of a model change, declared before
// the candidate is trained, versioned, and applied the same way to every candidate. Two parts: `criteria`,
// judged offline on the locked splits (non-inferiority of accuracy and macro-F1 against production with a
// paired-bootstrap confidence interval, the false-clear rate of a policy re-fitted for the candidate, ECE,
// p95 latency in the serving runtime), and `canary`, the steps and live guards of the staged rollout.
// Validated with zod; every mistake is a ValidationError naming its YAML path. docs/rollout.md explains each field.
import { readFile } from 'node:fs/promises';

import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

import { canonicalJson } from '../core/canonical-json.js';
import { ValidationError } from '../core/errors.js';
import { sha256Hex } from '../core/ids.js';
import { SECONDREAD_CLASSES } from '../data/classes.js';
import { EVALUATION_SPLITS } from '../monitoring/evaluations/run.js';
import { CONFUSION_PATTERNS } from '../workflow/simulated-reader.js';

export const PROTOCOL_SCHEMA = 'secondread.change-protocol/1';

const fraction = z.number().min(0).max(1);
const openFraction = z.number().gt(0).lt(1);
const split = z.enum(EVALUATION_SPLITS as [string, ...string[]], { error: () => `must be one of ${EVALUATION_SPLITS.join(', ')}` });

const nonInferiority = z.object({ margin: fraction }).strict();

const readerA = z
  .object({
    accuracy: fraction,
    confusion: z.enum(CONFUSION_PATTERNS).default('miss'),
    seed: z.number().int().default(1),
  })
  .strict();

const criteria = z
  .object({
    /** Candidate − production, lower confidence bound ≥ −margin, on every evaluation split. */
    accuracy: nonInferiority,
    macroF1: nonInferiority,
    falseClear: z
      .object({
        /** Bound on false clears / auto-finalized of the candidate's re-fitted policy. */
        max: fraction,
        /** Split the policy is fitted on (Learn then Test), and the split its false-clear rate is measured on. */
        fitSplit: split.default('val'),
        testSplit: split.default('test'),
        readerA,
        confidence: openFraction.default(0.95),
        qaFraction: fraction.default(0.05),
        alwaysDoubleRead: z.array(z.enum(SECONDREAD_CLASSES)).default([]),
      })
      .strict(),
    ece: z.object({ max: fraction, split: split.default('test') }).strict(),
    latency: z
      .object({
        p95MaxMs: z.number().positive(),
        /** Timed single-image requests (after `warmup` untimed ones), sequential, through the serving runtime. */
        requests: z.number().int().min(20).max(100_000).default(200),
        warmup: z.number().int().min(0).max(1000).default(10),
        threads: z.number().int().min(1).max(64).default(1),
      })
      .strict(),
  })
  .strict();

const canary = z
  .object({
    /** Canary shares, ascending; the last must be 1 — reaching it promotes the candidate to production. */
    steps: z
      .array(z.number().gt(0).max(1))
      .min(1)
      .refine((s) => s.every((w, i) => i === 0 || w > s[i - 1]!), 'steps must increase')
      .refine((s) => s[s.length - 1] === 1, 'the last step must be 1 (promotion to production)'),
    /** Per step and arm: studies read by both A and the model version before the step can advance. */
    minStudies: z.number().int().min(1),
    /** Per step, canary arm: QA studies adjudicated by B before the step can advance (0: not required). */
    minQaReviews: z.number().int().min(0).default(0),
    /** Per step and arm: serving requests before error rate and latency count. */
    minRequests: z.number().int().min(1),
    guards: z
      .object({
        /** Degraded when production − canary agreement with reader A exceeds `max` and a one-sided test at `alpha` says it is a drop. */
        agreementDrop: z.object({ max: fraction, alpha: openFraction.default(0.05) }).strict(),
        /** Degraded when the canary's QA false-clear rate exceeds `max` (once it has `minQaReviews` reviews, at least 1). */
        qaFalseClear: z.object({ max: fraction }).strict(),
        /** Degraded when canary error rate − production error rate exceeds `maxIncrease`. */
        errorRate: z.object({ maxIncrease: fraction }).strict(),
        /** Degraded when the canary's p95 exceeds `maxMs`, or production's p95 × `maxRatio`. */
        latencyP95: z.object({ maxMs: z.number().positive(), maxRatio: z.number().min(1).default(1.5) }).strict(),
      })
      .strict(),
  })
  .strict();

const protocolSchema = z
  .object({
    schema: z.literal(PROTOCOL_SCHEMA, { error: () => `must be '${PROTOCOL_SCHEMA}'` }),
    name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'must be lowercase letters, digits, dots, dashes, underscores'),
    version: z.number().int().min(1),
    description: z.string().max(4000).optional(),
    /** The model name it governs (optional: any). */
    model: z.string().min(1).max(100).optional(),
    evaluation: z
      .object({
        /** The locked dataset version (id or unambiguous prefix); absent: the production version's dataset version. */
        dataset: z.string().min(1).max(100).optional(),
        splits: z.array(split).min(1).default(['test', 'final_eval']),
        bootstrap: z
          .object({
            resamples: z.number().int().min(100).max(100_000).default(2000),
            confidence: openFraction.default(0.95),
            seed: z.number().int().default(1),
          })
          .strict()
          .default({ resamples: 2000, confidence: 0.95, seed: 1 }),
      })
      .strict(),
    criteria,
    canary,
  })
  .strict();

export type ChangeProtocol = z.infer<typeof protocolSchema>;
export type CanaryProtocol = ChangeProtocol['canary'];

/** A protocol with its identity: the canonical JSON's sha256 says which exact criteria a report applied. */
export interface LoadedProtocol {
  protocol: ChangeProtocol;
  sha256: string;
}

/** Validates a parsed protocol document; every issue is named by its path. */
export function validateProtocol(raw: unknown, source = 'change protocol'): LoadedProtocol {
  const r = protocolSchema.safeParse(raw);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ValidationError(`invalid ${source}: ${issues.join('; ')}`, { issues });
  }
  return { protocol: r.data, sha256: sha256Hex(canonicalJson(r.data)) };
}

export function parseProtocol(text: string, source = 'change protocol'): LoadedProtocol {
  let raw: unknown;
  try {
    raw = parseYaml(text, { maxAliasCount: 100 });
  } catch (err) {
    throw new ValidationError(`${source} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  return validateProtocol(raw, source);
}

/** Largest protocol file read (it is a page of YAML). */
const MAX_PROTOCOL_BYTES = 256 * 1024;

export async function readProtocolFile(path: string): Promise<LoadedProtocol> {
  let text: string;
  try {
    const bytes = await readFile(path);
    if (bytes.length > MAX_PROTOCOL_BYTES) throw new ValidationError(`change protocol '${path}' is larger than ${MAX_PROTOCOL_BYTES / 1024} KiB`);
    text = bytes.toString('utf8');
  } catch (err) {
    if (err instanceof ValidationError) throw err;
    throw new ValidationError(`cannot read change protocol '${path}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseProtocol(text, `change protocol '${path}'`);
}
