// Fitting a policy's per-class thresholds on a validation split (docs/policy.md). Input: the model's
// probabilities for every study of the split, its truth, and reader A's label (a SimulatedReader, or reads
// recorded in a department). Output: the thresholds that auto-finalize the most studies while the
// false-clear rate stays within a bound, and the whole trade-off. Pure: no I/O, no randomness.
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
// (b / best[b], best[b]) give the trade-off curve, and the fit is its best point within the bound.
import { ValidationError } from '../core/errors.js';
import { isSecondreadClass, SECONDREAD_CLASSES, type SecondreadClass } from '../data/classes.js';
import type { ClassProbability } from './blinding.js';
import { DEFAULT_QA_FRACTION, type PolicyRule, validatePolicyRule } from './policy.js';

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

export interface FitOptions {
  readerA: FitReader;
  /** Bound on the false-clear rate (false clears / auto-finalized), in [0, 1]. */
  maxFalseClear: number;
  /** Stored in the rule; the fit's figures are before QA sampling (default 0.05). */
  qaFraction?: number;
  alwaysDoubleRead?: readonly string[];
  /** Classes to give thresholds to (default: every secondread class the predictions name). */
  classes?: readonly string[];
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
 * - `never_clears`: has agreements, but every threshold that clears one breaks the bound (no threshold stored);
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
  autoFinalized: number;
  falseClears: number;
  /** The class's sweep: for each number of false clears, the lowest threshold with it (thresholds descending). */
  sweep: ThresholdOption[];
}

/** A point of the trade-off: the most the policy can clear when the bound is `falseClearRate`. */
export interface TradeOffPoint {
  falseClearRate: number;
  reduction: number;
  autoFinalized: number;
  falseClears: number;
}

export interface PolicyFit {
  rule: PolicyRule;
  maxFalseClear: number;
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
  /** The upper envelope of the trade-off, false-clear rate ascending: what each bound would give. */
  curve: TradeOffPoint[];
}

/** A bound b ≤ rate · n checked with a little room for binary fractions (0.005 · 200 may be a hair under 1). */
const within = (falseClears: number, cleared: number, rate: number) => falseClears - rate * cleared <= 1e-9;

function assertFraction(what: string, v: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1)
    throw new ValidationError(`${what} must be a number in [0, 1], got ${String(v).slice(0, 20)}`);
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

export function fitPolicy(cases: readonly ScoredCase[], o: FitOptions): PolicyFit {
  const maxFalseClear = assertFraction('maxFalseClear', o.maxFalseClear);
  const qaFraction = assertFraction('qaFraction', o.qaFraction ?? DEFAULT_QA_FRACTION);
  const alwaysDoubleRead = new Set(o.alwaysDoubleRead ?? []);
  for (const c of alwaysDoubleRead) if (!isSecondreadClass(c)) throw new ValidationError(`always-double-read class '${String(c).slice(0, 60)}' is unknown`);
  if (o.classes) for (const c of o.classes) if (!isSecondreadClass(c)) throw new ValidationError(`class '${String(c).slice(0, 60)}' is unknown`);
  const classes: string[] = o.classes ? [...new Set(o.classes)] : SECONDREAD_CLASSES.filter((c) => cases.some((x) => x.predictions.some((p) => p.class === c)));

  const perClass = new Map(classes.map((c) => [c, { modelTop: 0, agreeing: [] as { probability: number; wrong: boolean }[] }]));
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
    if (label === c.truth) readerRight++;
    if (top.class === c.truth) modelRight++;
    const cls = perClass.get(top.class);
    if (cls) cls.modelTop++;
    if (label !== top.class) continue;
    agreements++;
    if (cls && !alwaysDoubleRead.has(top.class)) cls.agreeing.push({ probability: top.probability, wrong: label !== c.truth });
  }
  if (studies === 0)
    throw new ValidationError(cases.length === 0 ? 'no studies to fit a policy on' : `reader A has no read for any of the ${cases.length} studies`);

  const sweeps = classes.map((c) => classSweep(perClass.get(c)!.agreeing));
  const { best, choice } = knapsack(sweeps);
  const curve = envelope(best, studies);
  // The curve's last point within the bound is the most the policy can clear; point 0 (no false clear) always is.
  const chosen = curve.filter((p) => within(p.falseClears, p.autoFinalized, maxFalseClear)).pop()!;

  // Walk the choices back from the chosen total of false clears, last class first.
  const picked: ThresholdOption[] = new Array<ThresholdOption>(classes.length);
  for (let i = classes.length - 1, b = chosen.falseClears; i >= 0; i--) {
    picked[i] = sweeps[i]![choice[i]![b]!]!;
    b -= picked[i]!.falseClears;
  }
  const thresholds: Record<string, number> = {};
  const classFits: ClassFit[] = classes.map((c, i) => {
    const stats = perClass.get(c)!;
    const option = picked[i]!;
    if (option.threshold !== null) thresholds[c] = option.threshold;
    const status: ClassFitStatus = alwaysDoubleRead.has(c)
      ? 'always_double_read'
      : stats.agreeing.length === 0
        ? 'no_agreement'
        : option.threshold === null
          ? 'never_clears'
          : 'fitted';
    return {
      class: c,
      threshold: option.threshold,
      status,
      modelTop: stats.modelTop,
      agreements: stats.agreeing.length,
      autoFinalized: option.autoFinalized,
      falseClears: option.falseClears,
      sweep: sweeps[i]!,
    };
  });

  const rule = validatePolicyRule({ thresholds, alwaysDoubleRead: [...alwaysDoubleRead], qaFraction });
  const n = chosen.autoFinalized;
  const f = chosen.falseClears;
  return {
    rule,
    maxFalseClear,
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
    curve,
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
