// Scored cases from a known score model, for measuring policy fits out of sample (bench/policy-bound.ts and
// the fit's coverage test): the truth is drawn, then the model's logits — the true class raised by a margin,
// the modality's normal class raised a little more on abnormal studies (models, like readers, miss findings),
// Gaussian noise — and a softmax. Logistic-normal probabilities: confident and mostly right, with errors
// concentrated at lower confidence but never absent at high confidence, as a trained classifier's are.
// Deterministic in (seed, index): the same seed gives the same cases, so a population can be regenerated.
import { ValidationError } from '../core/errors.js';
import { Rng, subSeed } from '../core/rng.js';
import { CLASS_MODALITY, classesOf, MODALITIES, NORMAL_CLASS, SECONDREAD_CLASSES } from '../data/classes.js';
import { evaluatePolicy, type PolicyRule } from './policy.js';
import { FIT_METHODS, type FitMethod, fitPolicy, type FitReader, type ScoredCase, topOf } from './policy-fit.js';
import { SimulatedReader } from './simulated-reader.js';

export interface SyntheticScoreOptions {
  seed: number;
  /** Cases to draw. */
  n: number;
  /** Logit margin of the true class over the noise (default 2.6: about 86% top-1 accuracy). */
  margin?: number;
  /** Extra logit of the normal class when the truth is abnormal (default 0.8). */
  missBias?: number;
  /** Logit noise standard deviation (default 1). */
  noise?: number;
  /** Key prefix (keys must differ between samples that should be independent). */
  prefix?: string;
}

export function syntheticScoredCases(o: SyntheticScoreOptions): ScoredCase[] {
  if (!Number.isInteger(o.n) || o.n < 0) throw new ValidationError('n must be a non-negative integer');
  const margin = o.margin ?? 2.6;
  const missBias = o.missBias ?? 0.8;
  const noise = o.noise ?? 1;
  const prefix = o.prefix ?? `syn${o.seed}`;
  const out: ScoredCase[] = [];
  for (let i = 0; i < o.n; i++) {
    const rng = new Rng(subSeed(o.seed, 'synthetic-scores', i));
    const modality = rng.pick(MODALITIES);
    const classes = classesOf(modality);
    const truth = rng.pick(classes);
    const normal = NORMAL_CLASS[modality];
    const logits = classes.map((c) => rng.normal(0, noise) + (c === truth ? margin : 0) + (c === normal && truth !== normal ? missBias : 0));
    const top = Math.max(...logits);
    const e = logits.map((l) => Math.exp(l - top));
    const z = e.reduce((s, v) => s + v, 0);
    const p = new Map(classes.map((c, k) => [c as string, e[k]! / z]));
    out.push({
      key: `${prefix}-${i}`,
      truth,
      // Every class the model knows; the other modality's get nothing (as a trained model all but does).
      predictions: SECONDREAD_CLASSES.map((c) => ({ class: c, probability: CLASS_MODALITY[c] === modality ? p.get(c)! : 0 })),
    });
  }
  return out;
}

/** What a rule does to a sample read by a reader: its clears and false clears (the policy rule's definitions, before QA). */
export function clearsOnSample(
  cases: readonly ScoredCase[],
  reader: FitReader,
  rule: PolicyRule,
): { autoFinalized: number; falseClears: number; studies: number } {
  let autoFinalized = 0;
  let falseClears = 0;
  let studies = 0;
  for (const c of cases) {
    const label = reader.read(c.key, c.truth);
    if (label === undefined) continue;
    studies++;
    // draw = 1: never QA-sampled, so the figures are before QA sampling like the fit's.
    if (evaluatePolicy({ label, model: { top: topOf(c) }, policy: rule, draw: 1 }).decision !== 'auto_finalized') continue;
    autoFinalized++;
    if (label !== c.truth) falseClears++;
  }
  return { autoFinalized, falseClears, studies };
}

export interface CoverageOptions {
  /** Reruns: each draws a new validation split, a new reader seed and a new split seed (default 20). */
  reruns?: number;
  valStudies: number;
  /** A final_eval-sized sample per rerun: what a user would see with `secondread simulate` (default 1097). */
  finalStudies?: number;
  /** One large sample scored once, read by each rerun's reader: its rate stands for the true rate (default 200 000). */
  populationStudies?: number;
  maxFalseClear: number;
  confidence?: number;
  searchFraction?: number;
  readerAccuracy?: number;
  /** Score model (syntheticScoredCases). */
  margin?: number;
  missBias?: number;
  /** Seed of everything (default 1). */
  seed?: number;
}

export interface CoverageRun {
  rerun: number;
  method: FitMethod;
  /** In sample, on the validation split. */
  valReduction: number;
  valFalseClearRate: number | null;
  /** The guarantee's upper bound (ltt). */
  upperBound: number | null;
  /** On the population: the true rate, up to the population's sampling error. */
  trueReduction: number;
  trueFalseClearRate: number | null;
  /** On a final_eval-sized sample. */
  finalFalseClearRate: number | null;
  exceeds: boolean;
}

/**
 * Fits both methods on `reruns` fresh validation splits and measures each fit out of sample: the share of fits
 * whose true false-clear rate (on the population) is above the bound is what `confidence` promises to keep under
 * 1 − confidence for `ltt`. Pure and deterministic in the options.
 */
export function policyCoverage(o: CoverageOptions): CoverageRun[] {
  const seed = o.seed ?? 1;
  const score = { margin: o.margin, missBias: o.missBias };
  const population = syntheticScoredCases({ seed: subSeed(seed, 'population'), n: o.populationStudies ?? 200_000, prefix: 'pop', ...score });
  const runs: CoverageRun[] = [];
  for (let r = 0; r < (o.reruns ?? 20); r++) {
    const val = syntheticScoredCases({ seed: subSeed(seed, 'val', r), n: o.valStudies, prefix: `val${r}`, ...score });
    const final = syntheticScoredCases({ seed: subSeed(seed, 'final', r), n: o.finalStudies ?? 1097, prefix: `final${r}`, ...score });
    const reader = new SimulatedReader({ accuracy: o.readerAccuracy ?? 0.9, confusion: 'miss', seed: subSeed(seed, 'reader', r) });
    for (const method of FIT_METHODS) {
      const fit = fitPolicy(val, {
        readerA: reader,
        maxFalseClear: o.maxFalseClear,
        method,
        confidence: o.confidence,
        searchFraction: o.searchFraction,
        splitSeed: subSeed(seed, 'split', r),
      });
      const truth = clearsOnSample(population, reader, fit.rule);
      const fin = clearsOnSample(final, reader, fit.rule);
      const trueRate = truth.autoFinalized > 0 ? truth.falseClears / truth.autoFinalized : null;
      runs.push({
        rerun: r,
        method,
        valReduction: fit.reduction,
        valFalseClearRate: fit.falseClearRate,
        upperBound: fit.guarantee?.upperBound ?? null,
        trueReduction: truth.autoFinalized / truth.studies,
        trueFalseClearRate: trueRate,
        finalFalseClearRate: fin.autoFinalized > 0 ? fin.falseClears / fin.autoFinalized : null,
        exceeds: trueRate !== null && trueRate > o.maxFalseClear,
      });
    }
  }
  return runs;
}
