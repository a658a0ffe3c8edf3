// Fitting a policy's per-class thresholds on a validation split (docs/policy.md). Input: the model's
// probabilities for every study of the split, its truth, and reader A's label (a SimulatedReader, or reads
// recorded in a department). Output: the thresholds that auto-finalize the most studies while the
// false-clear rate stays within a bound — by default with a guarantee that holds out of sample — and the
// whole trade-off. Pure: no I/O; the split into search and test parts is a hash of each study's key.
//
// Definitions are the policy rule's (policy.ts) and the metrics' (metrics.ts), before QA sampling:
//   auto-finalized  ⇔ A's label = the model's top class, top probability ≥ that class's threshold, class not
//                     always double-read
//   false clear     = an auto-finalized study whose label ≠ truth
//   false-clear rate = false clears / auto-finalized studies (metrics.ts's truth false-clear rate, and what the
//                     QA sample estimates in production — so the bound is checked by the same figure later)
//   reduction       = auto-finalized / studies (every study of the split that A read)
//
// The search is exact. For one class, a threshold clears the studies where A and the model both said that
// class, from the most probable down: a prefix of them in descending probability (equal probabilities go
// together). Of the prefixes with the same number f of false clears the longest dominates, so a class offers
// one option per f: (f false clears, n_c(f) clears, the lowest threshold reaching it). Picking one option per
// class so that Σn is largest with Σf ≤ bound · Σn is a multiple-choice knapsack on the integer weight f:
// best[b] = the most studies cleared with exactly b false clears, built class by class. The points
// (b / best[b], best[b]) give the trade-off curve.
//
// Method `empirical`: the fit is the curve's best point within the bound on the whole split. Its rate is
// counted on the sample that chose it, so out of sample it is above the bound most of the time (74% of the fits in docs/policy.md, "Measured").
// Method `ltt` (the default), Learn then Test (Angelopoulos, Bates, Candès, Jordan, Lei 2021) with
// fixed-sequence testing: the split is cut in two by a hash of the study key; the search part's curve gives
// the candidates and their ORDER (ascending false-clear rate); the test part, which played no part in either,
// tests H_j "the rate of candidate j is above the bound" with the exact binomial p-value, in that order, each
// at level δ = 1 − confidence, stopping at the first candidate not rejected. Fixed-sequence testing controls
// the family-wise error at δ, so with probability ≥ confidence every rejected candidate — the last one is
// the fit — has a true false-clear rate within the bound.
import { ValidationError } from '../core/errors.js';
import { subSeed } from '../core/rng.js';
import { isSecondreadClass, SECONDREAD_CLASSES, type SecondreadClass } from '../data/classes.js';
import type { ClassProbability } from './blinding.js';
import { DEFAULT_QA_FRACTION, type PolicyRule, validatePolicyRule } from './policy.js';
import { binomialPValue, clopperPearsonUpper } from './risk-bound.js';

/** One study of the split as the model read it. */
export interface ScoredCase {
  /** A stable id of the study: the image's sha256 (also the simulated reader's key). */
  key: string;
  truth: SecondreadClass;
  /** Every class's probability; the top class is the most probable, the first one listed on a tie. */
  predictions: readonly ClassProbability[];
}

/** Reader A during a fit: its label for a study, or undefined when it has none (recorded reads missing a study). */
export interface FitReader {
  read(key: string, truth: SecondreadClass): string | undefined;
}

/** `ltt`: a bound that holds out of sample at a stated confidence (the default); `empirical`: within the bound on the split itself. */
export const FIT_METHODS = ['ltt', 'empirical'] as const;
export type FitMethod = (typeof FIT_METHODS)[number];
export const DEFAULT_CONFIDENCE = 0.95;
/** Share of the split that builds the candidates; the rest tests them (docs/policy.md, "Choosing the search share"). */
export const DEFAULT_SEARCH_FRACTION = 0.3;

export interface FitOptions {
  readerA: FitReader;
  /** Bound on the false-clear rate (false clears / auto-finalized), in [0, 1]. */
  maxFalseClear: number;
  /** Stored in the rule; the fit's figures are before QA sampling (default 0.05). */
  qaFraction?: number;
  alwaysDoubleRead?: readonly string[];
  /** Classes to give thresholds to (default: every secondread class the predictions name). */
  classes?: readonly string[];
  /** Default `ltt`. */
  method?: FitMethod;
  /** `ltt`: the probability, over the split's draw, that the fitted policy's true false-clear rate is within the bound (default 0.95). */
  confidence?: number;
  /** `ltt`: share of the split's studies in the search part, in (0, 1) (default 0.3). */
  searchFraction?: number;
  /** `ltt`: seed of the search/test assignment (default 1). */
  splitSeed?: number;
}

/** One candidate threshold of a class and what it clears on the split. */
export interface ThresholdOption {
  /** null: no threshold, the class never clears. */
  threshold: number | null;
  autoFinalized: number;
  falseClears: number;
}

/**
 * - `fitted`: has a threshold;
 * - `never_clears`: has agreements, but no threshold was chosen (every one that clears breaks the bound, or was not certified);
 * - `no_agreement`: no study of the split where A and the model both said this class — nothing to fit, no threshold;
 * - `always_double_read`: excluded by the rule.
 */
export type ClassFitStatus = 'fitted' | 'never_clears' | 'no_agreement' | 'always_double_read';

export interface ClassFit {
  class: string;
  threshold: number | null;
  status: ClassFitStatus;
  /** Studies whose model top class is this class. */
  modelTop: number;
  /** …of which A gave the same label: the only studies a threshold of this class can clear. */
  agreements: number;
  /** What the threshold clears on the whole split. */
  autoFinalized: number;
  falseClears: number;
  /** The class's sweep on the whole split: for each number of false clears, the lowest threshold with it (thresholds descending). */
  sweep: ThresholdOption[];
}

/** A point of the trade-off: the most the policy can clear when the bound is `falseClearRate`. */
export interface TradeOffPoint {
  falseClearRate: number;
  reduction: number;
  autoFinalized: number;
  falseClears: number;
}

/** One candidate of the fixed sequence, as the test part judged it. */
export interface SequenceStep {
  /** Its index on the search part's curve, and what it cleared there. */
  candidate: number;
  searchAutoFinalized: number;
  searchFalseClears: number;
  thresholds: Record<string, number>;
  testAutoFinalized: number;
  testFalseClears: number;
  /** P(X ≤ test false clears), X ~ Binomial(test clears, bound): the exact p-value of "its rate is above the bound". */
  pValue: number;
  /** The one-sided Clopper–Pearson upper bound at the confidence, on the test part. */
  upperBound: number;
  /** pValue ≤ 1 − confidence (⇔ upperBound ≤ bound). */
  rejected: boolean;
}

/** How the `ltt` fit certified its thresholds. */
export interface FitGuarantee {
  method: 'learn-then-test';
  /** The test of each candidate. */
  test: 'exact binomial, fixed sequence';
  confidence: number;
  searchFraction: number;
  splitSeed: number;
  /** Studies (read by A) in each part. */
  searchStudies: number;
  testStudies: number;
  /** Points of the search part's curve, and the one the sequence starts at (see `sequenceStart`). */
  candidates: number;
  start: number;
  /** The candidates tested, in order: every one rejected, then the first one not rejected (if any). */
  sequence: SequenceStep[];
  /** Index in `sequence` of the fit (the last rejected), or null: nothing certified, nothing clears. */
  chosen: number | null;
  /** The fit on the test part, and the Clopper–Pearson upper bound of its rate there (null when nothing clears). */
  testAutoFinalized: number;
  testFalseClears: number;
  upperBound: number | null;
}

/** The empirical fit on the whole split, beside an `ltt` fit: what the guarantee costs. */
export interface EmpiricalFit {
  thresholds: Record<string, number>;
  autoFinalized: number;
  falseClears: number;
  reduction: number;
  falseClearRate: number | null;
}

export interface PolicyFit {
  rule: PolicyRule;
  maxFalseClear: number;
  method: FitMethod;
  /** `ltt`: the stated confidence; `empirical`: null (no statement beyond the split). */
  confidence: number | null;
  guarantee: FitGuarantee | null;
  /** The empirical fit on the whole split (for `empirical`, the fit itself). */
  empirical: EmpiricalFit;
  /** Second-review reduction given up for the guarantee: empirical.reduction − reduction (0 for `empirical`). */
  price: number;
  /** What the false-clear rate divides by (metrics.ts's truth false-clear rate does the same). */
  falseClearDenominator: 'auto_finalized';
  /** Studies of the split with a read by A (the population of every figure). */
  studies: number;
  /** Studies A has no read for (recorded reads only): left out of every figure. */
  unread: number;
  /** Studies where A's label = the model's top class. */
  agreements: number;
  /** A's label = truth / studies, and the model's top class = truth / studies. */
  readerAccuracy: number;
  modelAccuracy: number;
  /** The rule's figures on the whole split (for `ltt`, in sample on the search part, out of sample on the test part). */
  autoFinalized: number;
  falseClears: number;
  /** auto-finalized / studies, before QA sampling. */
  reduction: number;
  /** false clears / auto-finalized (null when nothing is cleared). */
  falseClearRate: number | null;
  /** false clears / studies: how many studies in all end with a wrong final label unseen by B. */
  falseClearsPerStudy: number;
  /** Expected figures once the QA sample (a random `qaFraction` of would-be clears) goes to B as well. */
  afterQa: { qaFraction: number; reduction: number; expectedQaSamples: number; falseClearsPerStudy: number };
  classes: ClassFit[];
  /** The upper envelope of the trade-off on the whole split, false-clear rate ascending: what each bound would give empirically. */
  curve: TradeOffPoint[];
}

/** A bound b ≤ rate · n checked with a little room for binary fractions (0.005 · 200 may be a hair under 1). */
const within = (falseClears: number, cleared: number, rate: number) => falseClears - rate * cleared <= 1e-9;

function assertFraction(what: string, v: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1)
    throw new ValidationError(`${what} must be a number in [0, 1], got ${String(v).slice(0, 20)}`);
  return v;
}

function assertOpenFraction(what: string, v: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v >= 1)
    throw new ValidationError(`${what} must be a number strictly between 0 and 1, got ${String(v).slice(0, 20)}`);
  return v;
}

/** The most probable class (the first listed on a tie), with the probabilities checked. */
export function topOf(c: ScoredCase): ClassProbability {
  if (!Array.isArray(c.predictions) || c.predictions.length === 0) throw new ValidationError(`study ${String(c.key).slice(0, 80)} has no predictions`);
  let top = c.predictions[0]!;
  for (const p of c.predictions) {
    if (typeof p.probability !== 'number' || !(p.probability >= 0 && p.probability <= 1))
      throw new ValidationError(`study ${String(c.key).slice(0, 80)} has a probability outside [0, 1] for '${String(p.class).slice(0, 40)}'`);
    if (p.probability > top.probability) top = p;
  }
  return top;
}

/** A class's options from its agreeing studies: for each number of false clears, the longest prefix (see the header). */
export function classSweep(agreeing: readonly { probability: number; wrong: boolean }[]): ThresholdOption[] {
  const sorted = [...agreeing].sort((a, b) => b.probability - a.probability);
  const options: ThresholdOption[] = [{ threshold: null, autoFinalized: 0, falseClears: 0 }];
  let n = 0;
  let f = 0;
  for (let i = 0; i < sorted.length;) {
    const p = sorted[i]!.probability;
    // A threshold cannot split studies of equal probability: the whole group is cleared or none of it.
    for (; i < sorted.length && sorted[i]!.probability === p; i++) {
      n++;
      if (sorted[i]!.wrong) f++;
    }
    const option = { threshold: p, autoFinalized: n, falseClears: f };
    if (options[options.length - 1]!.falseClears === f) options[options.length - 1] = option;
    else options.push(option);
  }
  return options;
}
/** An agreeing study a threshold of its class can clear. */
interface Agreeing {
  key: string;
  probability: number;
  wrong: boolean;
}

/** The exact search on one set of agreeing studies (per class): the sweeps, the curve, and each curve point's options. */
interface Search {
  sweeps: ThresholdOption[][];
  curve: TradeOffPoint[];
  /** The option each class takes at a curve point (walked back through the DP's choices). */
  optionsAt(point: TradeOffPoint): ThresholdOption[];
}

function search(agreeing: readonly (readonly Agreeing[])[], studies: number): Search {
  const sweeps = agreeing.map((a) => classSweep(a));
  const { best, choice } = knapsack(sweeps);
  return {
    sweeps,
    curve: envelope(best, studies),
    optionsAt(point) {
      const picked = new Array<ThresholdOption>(sweeps.length);
      for (let i = sweeps.length - 1, b = point.falseClears; i >= 0; i--) {
        picked[i] = sweeps[i]![choice[i]![b]!]!;
        b -= picked[i]!.falseClears;
      }
      return picked;
    },
  };
}

const thresholdsOf = (classes: readonly string[], options: readonly ThresholdOption[]): Record<string, number> => {
  const out: Record<string, number> = {};
  options.forEach((o, i) => {
    if (o.threshold !== null) out[classes[i]!] = o.threshold;
  });
  return out;
};

/** What thresholds clear among agreeing studies, per class (a class without a threshold clears none). */
function clearsOf(classes: readonly string[], agreeing: readonly (readonly Agreeing[])[], thresholds: Record<string, number>): ThresholdOption[] {
  return classes.map((c, i) => {
    const t = thresholds[c];
    let n = 0;
    let f = 0;
    if (t !== undefined)
      for (const s of agreeing[i]!)
        if (s.probability >= t) {
          n++;
          if (s.wrong) f++;
        }
    return { threshold: t ?? null, autoFinalized: n, falseClears: f };
  });
}

const sum = (options: readonly ThresholdOption[], k: 'autoFinalized' | 'falseClears') => options.reduce((s, o) => s + o[k], 0);

/** A candidate of the fixed sequence, built on the search part. */
interface Candidate {
  thresholds: Record<string, number>;
  autoFinalized: number;
  falseClears: number;
}

/** Shares of the first curve point's clears kept by the candidates that precede it (see `candidatesOf`). */
const SHRINK = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

/**
 * The candidates in test order, from the search part alone: the search curve, rate ascending, preceded by
 * stricter versions of its first point (each class keeping only its most confident 30%, 40%, … 90% of that
 * point's clears). The first point is the most the search part clears without a false clear — chosen on
 * that part, so its rate is optimistic, and a sequence that started there would often fail at once.
 */
function candidatesOf(classes: readonly string[], searched: Search, agreeing: readonly (readonly Agreeing[])[]): Candidate[] {
  const out: Candidate[] = [];
  const first = searched.curve[0]!;
  const firstOptions = searched.optionsAt(first);
  const sorted = agreeing.map((a) => a.map((s) => s.probability).sort((x, y) => y - x));
  for (const q of SHRINK) {
    const thresholds: Record<string, number> = {};
    firstOptions.forEach((o, i) => {
      const keep = Math.ceil(q * o.autoFinalized);
      if (o.threshold !== null && keep > 0) thresholds[classes[i]!] = sorted[i]![keep - 1]!;
    });
    const on = clearsOf(classes, agreeing, thresholds);
    out.push({ thresholds, autoFinalized: sum(on, 'autoFinalized'), falseClears: sum(on, 'falseClears') });
  }
  for (const point of searched.curve)
    out.push({ thresholds: thresholdsOf(classes, searched.optionsAt(point)), autoFinalized: point.autoFinalized, falseClears: point.falseClears });
  return out;
}

/**
 * Where the fixed sequence starts, from the search part alone (so the order stays independent of the test part):
 * the first candidate whose search figures, scaled to the test part's size and with one false clear more than the
 * search part saw (its figures are optimistic: it chose them), would be rejected; if none would, the one that
 * comes closest. Fixed-sequence testing stops at its first failure, and a candidate that clears too few studies
 * for the test part to certify anything would end the test before it began.
 */
export function sequenceStart(candidates: readonly { autoFinalized: number; falseClears: number }[], scale: number, bound: number, delta: number): number {
  let bestIndex = 0;
  let bestP = Infinity;
  for (const [i, p] of candidates.entries()) {
    const pValue = binomialPValue(Math.round((p.falseClears + 1) * scale), Math.round(p.autoFinalized * scale), bound);
    if (pValue <= delta) return i;
    if (pValue < bestP) {
      bestP = pValue;
      bestIndex = i;
    }
  }
  return bestIndex;
}

/** Which part of the split a study is in for a Learn-then-Test fit: a hash of its key, so its truth plays no part. */
export function fitPart(key: string, splitSeed: number, searchFraction: number): 'search' | 'test' {
  return subSeed(splitSeed, 'policy-fit-split', key) / 0x1_0000_0000 < searchFraction ? 'search' : 'test';
}

export function fitPolicy(cases: readonly ScoredCase[], o: FitOptions): PolicyFit {
  const maxFalseClear = assertFraction('maxFalseClear', o.maxFalseClear);
  const qaFraction = assertFraction('qaFraction', o.qaFraction ?? DEFAULT_QA_FRACTION);
  const method = o.method ?? 'ltt';
  if (!(FIT_METHODS as readonly string[]).includes(method)) throw new ValidationError(`fit method must be one of ${FIT_METHODS.join(', ')}`);
  const confidence = assertOpenFraction('confidence', o.confidence ?? DEFAULT_CONFIDENCE);
  const searchFraction = assertOpenFraction('searchFraction', o.searchFraction ?? DEFAULT_SEARCH_FRACTION);
  const splitSeed = o.splitSeed ?? 1;
  if (!Number.isInteger(splitSeed)) throw new ValidationError('splitSeed must be an integer');
  const alwaysDoubleRead = new Set(o.alwaysDoubleRead ?? []);
  for (const c of alwaysDoubleRead) if (!isSecondreadClass(c)) throw new ValidationError(`always-double-read class '${String(c).slice(0, 60)}' is unknown`);
  if (o.classes) for (const c of o.classes) if (!isSecondreadClass(c)) throw new ValidationError(`class '${String(c).slice(0, 60)}' is unknown`);
  const classes: string[] = o.classes ? [...new Set(o.classes)] : SECONDREAD_CLASSES.filter((c) => cases.some((x) => x.predictions.some((p) => p.class === c)));

  const classIndex = new Map(classes.map((c, i) => [c, i]));
  const modelTop = classes.map(() => 0);
  // Per class, the agreeing studies: all of them, and those of each part (a hash of the key decides the part).
  const all: Agreeing[][] = classes.map(() => []);
  const parts = { search: classes.map(() => [] as Agreeing[]), test: classes.map(() => [] as Agreeing[]) };
  const partStudies = { search: 0, test: 0 };
  const partOf = (key: string) => fitPart(key, splitSeed, searchFraction);
  let studies = 0;
  let unread = 0;
  let agreements = 0;
  let readerRight = 0;
  let modelRight = 0;
  for (const c of cases) {
    if (!isSecondreadClass(c.truth))
      throw new ValidationError(`study ${String(c.key).slice(0, 80)} has an unknown truth class '${String(c.truth).slice(0, 40)}'`);
    const top = topOf(c);
    const label = o.readerA.read(c.key, c.truth);
    if (label === undefined) {
      unread++;
      continue;
    }
    studies++;
    const part = partOf(c.key);
    partStudies[part]++;
    if (label === c.truth) readerRight++;
    if (top.class === c.truth) modelRight++;
    const i = classIndex.get(top.class);
    if (i !== undefined) modelTop[i]!++;
    if (label !== top.class) continue;
    agreements++;
    if (i === undefined || alwaysDoubleRead.has(top.class)) continue;
    const s = { key: c.key, probability: top.probability, wrong: label !== c.truth };
    all[i]!.push(s);
    parts[part][i]!.push(s);
  }
  if (studies === 0)
    throw new ValidationError(cases.length === 0 ? 'no studies to fit a policy on' : `reader A has no read for any of the ${cases.length} studies`);

  // The empirical fit on the whole split: the curve's last point within the bound (point 0, no false clear, always is).
  const whole = search(all, studies);
  const empiricalPoint = whole.curve.filter((p) => within(p.falseClears, p.autoFinalized, maxFalseClear)).pop()!;
  const empiricalThresholds = thresholdsOf(classes, whole.optionsAt(empiricalPoint));
  const empirical: EmpiricalFit = {
    thresholds: empiricalThresholds,
    autoFinalized: empiricalPoint.autoFinalized,
    falseClears: empiricalPoint.falseClears,
    reduction: empiricalPoint.autoFinalized / studies,
    falseClearRate: empiricalPoint.autoFinalized > 0 ? empiricalPoint.falseClears / empiricalPoint.autoFinalized : null,
  };

  let thresholds = empiricalThresholds;
  let guarantee: FitGuarantee | null = null;
  if (method === 'ltt') {
    const delta = 1 - confidence;
    const searched = search(parts.search, Math.max(1, partStudies.search));
    const candidates = candidatesOf(classes, searched, parts.search);
    const start = sequenceStart(candidates, partStudies.test / Math.max(1, partStudies.search), maxFalseClear, delta);
    const sequence: SequenceStep[] = [];
    let chosen: number | null = null;
    for (let j = start; j < candidates.length; j++) {
      const point = candidates[j]!;
      const candidate = point.thresholds;
      const onTest = clearsOf(classes, parts.test, candidate);
      const n = sum(onTest, 'autoFinalized');
      const f = sum(onTest, 'falseClears');
      const pValue = binomialPValue(f, n, maxFalseClear);
      const rejected = pValue <= delta;
      sequence.push({
        candidate: j,
        searchAutoFinalized: point.autoFinalized,
        searchFalseClears: point.falseClears,
        thresholds: candidate,
        testAutoFinalized: n,
        testFalseClears: f,
        pValue,
        upperBound: clopperPearsonUpper(f, n, confidence),
        rejected,
      });
      // Fixed sequence: the first candidate not rejected ends the test; nothing after it may be claimed.
      if (!rejected) break;
      chosen = sequence.length - 1;
    }
    const pick = chosen === null ? null : sequence[chosen]!;
    thresholds = pick ? pick.thresholds : {};
    guarantee = {
      method: 'learn-then-test',
      test: 'exact binomial, fixed sequence',
      confidence,
      searchFraction,
      splitSeed,
      searchStudies: partStudies.search,
      testStudies: partStudies.test,
      candidates: candidates.length,
      start,
      sequence,
      chosen,
      testAutoFinalized: pick?.testAutoFinalized ?? 0,
      testFalseClears: pick?.testFalseClears ?? 0,
      upperBound: pick ? pick.upperBound : null,
    };
  }

  const onWhole = clearsOf(classes, all, thresholds);
  const classFits: ClassFit[] = classes.map((c, i) => {
    const option = onWhole[i]!;
    const status: ClassFitStatus = alwaysDoubleRead.has(c)
      ? 'always_double_read'
      : all[i]!.length === 0
        ? 'no_agreement'
        : option.threshold === null
          ? 'never_clears'
          : 'fitted';
    return {
      class: c,
      threshold: option.threshold,
      status,
      modelTop: modelTop[i]!,
      agreements: all[i]!.length,
      autoFinalized: option.autoFinalized,
      falseClears: option.falseClears,
      sweep: whole.sweeps[i]!,
    };
  });

  const rule = validatePolicyRule({ thresholds, alwaysDoubleRead: [...alwaysDoubleRead], qaFraction });
  const n = sum(onWhole, 'autoFinalized');
  const f = sum(onWhole, 'falseClears');
  return {
    rule,
    maxFalseClear,
    method,
    confidence: method === 'ltt' ? confidence : null,
    guarantee,
    empirical,
    price: empirical.reduction - n / studies,
    falseClearDenominator: 'auto_finalized',
    studies,
    unread,
    agreements,
    readerAccuracy: readerRight / studies,
    modelAccuracy: modelRight / studies,
    autoFinalized: n,
    falseClears: f,
    reduction: n / studies,
    falseClearRate: n > 0 ? f / n : null,
    falseClearsPerStudy: f / studies,
    // QA draws are independent of the study: a fraction qaFraction of the clears (right and wrong alike) goes to B.
    afterQa: {
      qaFraction,
      reduction: (n / studies) * (1 - qaFraction),
      expectedQaSamples: n * qaFraction,
      falseClearsPerStudy: (f / studies) * (1 - qaFraction),
    },
    classes: classFits,
    curve: whole.curve,
  };
}

/**
 * best[b] = the most studies cleared with exactly b false clears over all classes (−1: unreachable), and for each
 * class and b the option it takes in that best combination.
 */
function knapsack(sweeps: readonly ThresholdOption[][]): { best: Int32Array; choice: Int32Array[] } {
  const W = sweeps.reduce((s, options) => s + options[options.length - 1]!.falseClears, 0);
  let best = new Int32Array(W + 1).fill(-1);
  best[0] = 0;
  const choice: Int32Array[] = [];
  for (const options of sweeps) {
    const next = new Int32Array(W + 1).fill(-1);
    const took = new Int32Array(W + 1).fill(-1);
    for (let b = 0; b <= W; b++) {
      if (best[b]! < 0) continue;
      for (let k = 0; k < options.length; k++) {
        const o = options[k]!;
        const bb = b + o.falseClears;
        if (bb > W) break;
        // Strictly greater: of equal totals the first found is kept, so the result does not depend on chance.
        if (best[b]! + o.autoFinalized > next[bb]!) {
          next[bb] = best[b]! + o.autoFinalized;
          took[bb] = k;
        }
      }
    }
    best = next;
    choice.push(took);
  }
  return { best, choice };
}

/** The trade-off's points from best[]: each total of false clears that clears more than any smaller total. */
function envelope(best: Int32Array, studies: number): TradeOffPoint[] {
  const points: TradeOffPoint[] = [];
  for (let b = 0, most = -1; b < best.length; b++) {
    // More false clears for no more clears is never worth it.
    if (best[b]! <= most) continue;
    most = best[b]!;
    points.push({ falseClears: b, autoFinalized: most, falseClearRate: most > 0 ? b / most : 0, reduction: most / studies });
  }
  return upperEnvelope(points);
}

/**
 * The points no other beats on both false-clear rate (false clears / auto-finalized) and clears, rate ascending:
 * the most each bound on the rate allows. (Rates are not monotone in the clears: one more false clear can come
 * with enough clears to lower the rate.)
 */
export function upperEnvelope<T extends { falseClears: number; autoFinalized: number }>(points: readonly T[]): T[] {
  const rate = (p: T) => (p.autoFinalized > 0 ? p.falseClears / p.autoFinalized : 0);
  const sorted = [...points].sort((a, b) => rate(a) - rate(b) || b.autoFinalized - a.autoFinalized);
  const out: T[] = [];
  for (const p of sorted) if (out.length === 0 || p.autoFinalized > out[out.length - 1]!.autoFinalized) out.push(p);
  return out;
}

/** Reads recorded by a department: `sha256,label` per study. */
export class RecordedReads implements FitReader {
  constructor(private readonly labels: ReadonlyMap<string, SecondreadClass>) {}

  get size(): number {
    return this.labels.size;
  }

  read(key: string): SecondreadClass | undefined {
    return this.labels.get(key.toLowerCase());
  }
}

/** Parses CSV text `sha256,label` (one study a line, an optional header `sha256,label`, blank lines ignored). */
export function parseRecordedReads(text: string): RecordedReads {
  const labels = new Map<string, SecondreadClass>();
  const lines = text.split(/\r?\n/);
  let seenContent = false;
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '') continue;
    const fields = line.split(',').map((f) => f.trim().replace(/^"(.*)"$/, '$1'));
    if (!seenContent && fields.length === 2 && fields[0]!.toLowerCase() === 'sha256' && fields[1]!.toLowerCase() === 'label') {
      seenContent = true;
      continue;
    }
    seenContent = true;
    const where = `reads line ${i + 1}`;
    if (fields.length !== 2) throw new ValidationError(`${where}: expected 'sha256,label', got ${fields.length} fields`);
    const [sha, label] = fields as [string, string];
    if (!/^[0-9a-f]{64}$/i.test(sha)) throw new ValidationError(`${where}: '${sha.slice(0, 70)}' is not a sha256 (64 hex digits)`);
    if (!isSecondreadClass(label)) throw new ValidationError(`${where}: unknown class '${label.slice(0, 40)}'`);
    const key = sha.toLowerCase();
    const before = labels.get(key);
    if (before !== undefined && before !== label) throw new ValidationError(`${where}: study ${key} was already read as '${before}', now '${label}'`);
    labels.set(key, label);
  }
  if (labels.size === 0) throw new ValidationError('the reads file has no reads');
  return new RecordedReads(labels);
}
