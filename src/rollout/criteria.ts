// The offline criteria of a change protocol, judged from the two models' reads of the locked splits (pure: the
// scoring and the latency run are evaluate.ts's). Each criterion gives one result row — passed or not, a line
// for people, and its figures — so the report, the card and the CLI show the same thing.
import { isSecondreadClass, type SecondreadClass } from '../data/classes.js';
import { expectedCalibrationError } from '../training/metrics/index.js';
import { evaluatePolicy } from '../workflow/policy.js';
import { fitPolicy, type PolicyFit, type ScoredCase, topOf } from '../workflow/policy-fit.js';
import { clopperPearsonUpper } from '../workflow/risk-bound.js';
import { SimulatedReader } from '../workflow/simulated-reader.js';
import type { ChangeProtocol } from './protocol.js';
import { pairedBootstrap, type PairedComparison } from './statistics.js';

export const CRITERIA = ['accuracy', 'macro_f1', 'false_clear', 'ece', 'latency_p95'] as const;
export type CriterionName = (typeof CRITERIA)[number];

export interface CriterionResult {
  criterion: CriterionName;
  split: string | null;
  passed: boolean;
  summary: string;
}

/** A model version's reads of one split: its classes and, per image, the truth and every class's probability. */
export interface SplitReads {
  classes: readonly string[];
  cases: readonly ScoredCase[];
}

const f3 = (v: number): string => v.toFixed(3);
const pct = (v: number | null): string => (v === null ? '—' : `${(v * 100).toFixed(2)}%`);

/**
 * Candidate vs production on the images both can be scored on (truth among both models' classes), paired by
 * image key. Class indices are over the union of both class lists, so a prediction of a class the other model
 * lacks still counts as wrong for the truth.
 */
export function comparePaired(
  candidate: SplitReads,
  production: SplitReads,
  bootstrap: ChangeProtocol['evaluation']['bootstrap'],
): PairedComparison & { excluded: number } {
  const classes = [...new Set([...candidate.classes, ...production.classes])];
  const index = new Map(classes.map((c, i) => [c, i]));
  const both = new Set(candidate.classes.filter((c) => production.classes.includes(c)));
  const prodByKey = new Map(production.cases.map((c) => [c.key, c]));
  const truth: number[] = [];
  const cand: number[] = [];
  const prod: number[] = [];
  let excluded = 0;
  for (const c of candidate.cases) {
    const p = prodByKey.get(c.key);
    if (!p || !both.has(c.truth)) {
      excluded += 1;
      continue;
    }
    truth.push(index.get(c.truth)!);
    cand.push(index.get(topOf(c).class)!);
    prod.push(index.get(topOf(p).class)!);
  }
  const r = pairedBootstrap(
    { truth: Int32Array.from(truth), candidate: Int32Array.from(cand), production: Int32Array.from(prod), numClasses: classes.length },
    bootstrap,
  );
  return { ...r, excluded };
}

/** Non-inferiority of one metric on one split: the interval's lower end ≥ −margin. */
export function nonInferiority(criterion: 'accuracy' | 'macro_f1', split: string, cmp: PairedComparison | null, margin: number): CriterionResult {
  if (cmp === null) return { criterion, split, passed: true, summary: 'no production version to compare with: not applicable' };
  const key = criterion === 'accuracy' ? 'accuracy' : 'macroF1';
  const iv = cmp[key];
  const passed = iv.lower >= -margin;
  const conf = `${Math.round(cmp.confidence * 100)}%`;
  return {
    criterion,
    split,
    passed,
    summary:
      `candidate ${f3(cmp.candidate[key])} vs production ${f3(cmp.production[key])}: difference ${iv.difference >= 0 ? '+' : ''}${f3(iv.difference)}, ` +
      `${conf} CI [${f3(iv.lower)}, ${f3(iv.upper)}] (paired bootstrap, ${cmp.resamples} resamples, n = ${cmp.images}); ` +
      `lower end ${passed ? '≥' : '<'} −${margin}`,
  };
}

/** ECE of the candidate on a split (images of classes it knows), bins as training's calibration report. */
export function calibration(reads: SplitReads, split: string, max: number): { result: CriterionResult; ece: number; images: number } {
  const k = reads.classes.length;
  const index = new Map(reads.classes.map((c, i) => [c, i]));
  const rows = reads.cases.filter((c) => index.has(c.truth));
  const probs = new Float64Array(rows.length * k);
  const labels = new Int32Array(rows.length);
  rows.forEach((c, r) => {
    labels[r] = index.get(c.truth)!;
    for (const p of c.predictions) {
      const j = index.get(p.class);
      if (j !== undefined) probs[r * k + j] = p.probability;
    }
  });
  const ece = rows.length ? expectedCalibrationError(probs, labels, k).ece : Number.NaN;
  const passed = rows.length > 0 && ece <= max;
  return {
    ece,
    images: rows.length,
    result: {
      criterion: 'ece',
      split,
      passed,
      summary: rows.length ? `ECE ${f3(ece)} ${passed ? '≤' : '>'} ${max} (n = ${rows.length}, 15 bins)` : 'no images of the candidate’s classes',
    },
  };
}

export interface FalseClearFigures {
  fit: Pick<PolicyFit, 'rule' | 'method' | 'confidence' | 'reduction' | 'falseClearRate' | 'autoFinalized' | 'falseClears' | 'studies'> & {
    guarantee: { testStudies: number; upperBound: number | null } | null;
  };
  test: { studies: number; autoFinalized: number; falseClears: number; rate: number | null; upperBound: number | null; reduction: number };
}

/**
 * The candidate's own policy: fitted (Learn then Test) on `fitSplit` with the protocol's simulated reader A, then
 * applied to `testSplit`, which played no part in the fit: false clears / auto-finalized there ≤ max. A policy
 * that clears nothing there has no false clears (and no reduction): it passes, and the report says so.
 */
export function falseClearCriterion(
  fitReads: SplitReads,
  testReads: SplitReads,
  c: ChangeProtocol['criteria']['falseClear'],
): { result: CriterionResult; figures: FalseClearFigures; fit: PolicyFit } {
  const reader = new SimulatedReader({ accuracy: c.readerA.accuracy, confusion: c.readerA.confusion, seed: c.readerA.seed });
  const fit = fitPolicy(fitReads.cases, {
    readerA: reader,
    maxFalseClear: c.max,
    qaFraction: c.qaFraction,
    alwaysDoubleRead: c.alwaysDoubleRead,
    method: 'ltt',
    confidence: c.confidence,
  });
  let studies = 0;
  let auto = 0;
  let wrong = 0;
  for (const s of testReads.cases) {
    if (!isSecondreadClass(s.truth)) continue;
    const label = reader.read(s.key, s.truth as SecondreadClass);
    studies += 1;
    // draw = 1: before QA sampling, as the fit's own figures (the QA sample only sends more studies to B).
    const outcome = evaluatePolicy({ label, model: { top: topOf(s) }, policy: fit.rule, draw: 1 });
    if (outcome.decision !== 'auto_finalized') continue;
    auto += 1;
    if (label !== s.truth) wrong += 1;
  }
  const rate = auto > 0 ? wrong / auto : null;
  const upper = auto > 0 ? clopperPearsonUpper(wrong, auto, c.confidence) : null;
  const passed = rate === null || rate <= c.max;
  const figures: FalseClearFigures = {
    fit: {
      rule: fit.rule,
      method: fit.method,
      confidence: fit.confidence,
      reduction: fit.reduction,
      falseClearRate: fit.falseClearRate,
      autoFinalized: fit.autoFinalized,
      falseClears: fit.falseClears,
      studies: fit.studies,
      guarantee: fit.guarantee ? { testStudies: fit.guarantee.testStudies, upperBound: fit.guarantee.upperBound } : null,
    },
    test: { studies, autoFinalized: auto, falseClears: wrong, rate, upperBound: upper, reduction: studies > 0 ? auto / studies : 0 },
  };
  const summary =
    rate === null
      ? `the re-fitted policy clears nothing on ${studies} studies (no false clears, no reduction)`
      : `false-clear rate ${pct(rate)} (${wrong}/${auto} auto-finalized of ${studies}; ${Math.round(c.confidence * 100)}% upper bound ${pct(upper)}) ${passed ? '≤' : '>'} ${pct(c.max)}; reduction ${pct(figures.test.reduction)}`;
  return {
    result: { criterion: 'false_clear', split: null, passed, summary: `policy fitted on ${c.fitSplit}, measured on ${c.testSplit}: ${summary}` },
    figures,
    fit,
  };
}

export function latencyCriterion(p95Ms: number, o: { requests: number; threads: number; p95MaxMs: number }): CriterionResult {
  const passed = p95Ms <= o.p95MaxMs;
  return {
    criterion: 'latency_p95',
    split: null,
    passed,
    summary: `p95 ${p95Ms.toFixed(1)} ms over ${o.requests} single-image requests (serving runtime, ${o.threads} thread${o.threads === 1 ? '' : 's'}) ${passed ? '≤' : '>'} ${o.p95MaxMs} ms`,
  };
}
