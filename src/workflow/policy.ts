// The decision rule (DESIGN.md, "Names"): a study is auto-finalized iff reader A's label equals the
// model's top class, the model's confidence reaches that class's threshold, the class is not one that
// is always double-read, and the QA draw did not pick it; everything else goes to reader B, with every
// reason that applied. Pure: the random draw is an input, so a decision can be replayed exactly.
import { ValidationError } from '../core/errors.js';
import type { ClassProbability } from '../core/probabilities.js';
import { isSecondreadClass } from '../data/classes.js';

export const DEFAULT_QA_FRACTION = 0.05;

/** What a policy says; stored versioned per model name + version (src/workflow/policies.ts). */
export interface PolicyRule {
  /** class → minimum model probability for auto-finalization; a class without a threshold is never auto-finalized. */
  thresholds: Record<string, number>;
  /** Classes that always go to B whatever the agreement. */
  alwaysDoubleRead: string[];
  /** Share (0…1) of would-be auto-finalized studies sent to B anyway, marked QA. */
  qaFraction: number;
}

export const SECOND_READ_REASONS = ['no_model_read', 'no_policy', 'disagreement', 'no_threshold', 'low_confidence', 'always_double_read', 'qa_sample'] as const;
export type SecondReadReason = (typeof SECOND_READ_REASONS)[number];

export interface ModelOpinion {
  top: ClassProbability;
}

export interface PolicyInput {
  /** Reader A's label. */
  label: string;
  /** The model's read, or null when it failed at intake. */
  model: ModelOpinion | null;
  /** The policy in force, or null when the model version has none. */
  policy: PolicyRule | null;
  /** A uniform draw in [0, 1): the study is QA-sampled when draw < qaFraction. */
  draw: number;
}

export type PolicyOutcome = { decision: 'auto_finalized'; qa: false; reasons: [] } | { decision: 'second_read'; qa: boolean; reasons: SecondReadReason[] };

export function evaluatePolicy(i: PolicyInput): PolicyOutcome {
  if (!i.model) return { decision: 'second_read', qa: false, reasons: ['no_model_read'] };
  if (!i.policy) return { decision: 'second_read', qa: false, reasons: ['no_policy'] };
  const { top } = i.model;
  const reasons: SecondReadReason[] = [];
  if (i.label !== top.class) reasons.push('disagreement');
  const threshold = i.policy.thresholds[top.class];
  if (threshold === undefined) reasons.push('no_threshold');
  else if (!(top.probability >= threshold)) reasons.push('low_confidence');
  if (i.policy.alwaysDoubleRead.includes(top.class) || i.policy.alwaysDoubleRead.includes(i.label)) reasons.push('always_double_read');
  if (reasons.length > 0) return { decision: 'second_read', qa: false, reasons };
  // Only would-be auto-finalized studies are sampled: the QA sample measures the false-clear rate of
  // exactly the studies the policy clears.
  if (i.draw < i.policy.qaFraction) return { decision: 'second_read', qa: true, reasons: ['qa_sample'] };
  return { decision: 'auto_finalized', qa: false, reasons: [] };
}

/** A rule from untrusted input (CLI, API, a fit): classes known, thresholds and fraction in [0, 1]. */
export function validatePolicyRule(r: { thresholds: Record<string, number>; alwaysDoubleRead?: string[]; qaFraction?: number }): PolicyRule {
  if (!r || typeof r.thresholds !== 'object' || r.thresholds === null || Array.isArray(r.thresholds))
    throw new ValidationError('policy thresholds must be an object class → probability');
  const thresholds: Record<string, number> = {};
  for (const [cls, t] of Object.entries(r.thresholds)) {
    if (!isSecondreadClass(cls)) throw new ValidationError(`policy threshold for unknown class '${cls.slice(0, 60)}'`, { class: cls.slice(0, 60) });
    if (typeof t !== 'number' || !Number.isFinite(t) || t < 0 || t > 1)
      throw new ValidationError(`policy threshold of '${cls}' must be a number in [0, 1]`, { class: cls });
    thresholds[cls] = t;
  }
  const always = r.alwaysDoubleRead ?? [];
  if (!Array.isArray(always)) throw new ValidationError('alwaysDoubleRead must be a list of classes');
  for (const cls of always) {
    if (typeof cls !== 'string' || !isSecondreadClass(cls)) throw new ValidationError(`always-double-read class '${String(cls).slice(0, 60)}' is unknown`);
  }
  const qaFraction = r.qaFraction ?? DEFAULT_QA_FRACTION;
  if (typeof qaFraction !== 'number' || !Number.isFinite(qaFraction) || qaFraction < 0 || qaFraction > 1)
    throw new ValidationError('qaFraction must be a number in [0, 1]');
  return { thresholds, alwaysDoubleRead: [...new Set(always)].sort(), qaFraction };
}
