// The canary's gate: a pure judgement of one step from the two arms' live figures (guards.ts reads them).
// Each guard judges only once both arms have its minimum sample (studies for agreement, QA reviews for
// false clears, requests for error rate and latency); before that it is `insufficient`. Any degraded
// guard rolls the candidate back at once; the step advances only when every guard has its sample and
// none is degraded; otherwise the step waits. docs/rollout.md, "The canary gates".
//
// The agreement guard is a significance test judged again and again (every gate tick, every step), so its `alpha`
// is spent as a sequential design would: split evenly over the steps that are judged (Bonferroni), and within a
// step the looks taken while the step still waits for another guard's sample need p < INTERIM_ALPHA
// (Haybittle–Peto), only the look that decides the step uses the step's share. Without this, a candidate as good
// as production is rolled back more often than `alpha` says (up to alpha per step, more with every interim look).
import type { CanaryProtocol } from './protocol.js';
import { oneSidedProportionTest } from './statistics.js';

/** What one arm (a model version) did during the current step. */
export interface ArmFigures {
  version: number;
  /** Studies this version read that reader A has read too, and how many of them A agreed with. */
  studies: number;
  agreements: number;
  /** QA-sampled studies of this version that B adjudicated, and how many B labelled differently from A (false clears caught). */
  qaReviews: number;
  qaFalseClears: number;
  /** Serving requests answered by this version, requests that failed or were dropped, and their p95 latency (ms). */
  requests: number;
  errors: number;
  p95Ms: number | null;
}

export const GUARDS = ['agreement', 'qa_false_clear', 'error_rate', 'latency_p95'] as const;
export type GuardName = (typeof GUARDS)[number];

export interface GuardResult {
  guard: GuardName;
  status: 'ok' | 'degraded' | 'insufficient';
  canary: number | null;
  production: number | null;
  /** One line for people: the figures and the rule applied. */
  message: string;
}

export type StepDecision = 'advance' | 'wait' | 'rollback';

export interface StepJudgement {
  decision: StepDecision;
  guards: GuardResult[];
  /** Why it waits: the samples still missing. */
  waitingFor: string[];
  /** Why it rolls back: the degraded guards' messages. */
  reasons: string[];
}

const ratio = (k: number, n: number): number | null => (n > 0 ? k / n : null);
const pct = (v: number | null): string => (v === null ? '—' : `${(v * 100).toFixed(2)}%`);
const ms = (v: number | null): string => (v === null ? '—' : Number.isFinite(v) ? `${v.toFixed(0)} ms` : '> histogram range');

/** The p-value an interim look at the agreement test must beat (Haybittle–Peto's boundary, z ≈ 3.1). */
export const INTERIM_ALPHA = 0.001;

/** Steps whose end is judged: every step below 1 (advancing from the last of them promotes). */
function judgedSteps(g: CanaryProtocol): number {
  return Math.max(1, g.steps.filter((w) => w < 1).length);
}

/** The agreement test's threshold at this look: the step's share of `alpha`, or the interim boundary while the step waits. */
export function agreementThreshold(g: CanaryProtocol, interim: boolean): number {
  const perStep = g.guards.agreementDrop.alpha / judgedSteps(g);
  return interim ? Math.min(INTERIM_ALPHA, perStep) : perStep;
}

function agreementGuard(g: CanaryProtocol, c: ArmFigures, p: ArmFigures, interim: boolean): GuardResult {
  const cr = ratio(c.agreements, c.studies);
  const pr = ratio(p.agreements, p.studies);
  if (c.studies < g.minStudies || p.studies < g.minStudies)
    return {
      guard: 'agreement',
      status: 'insufficient',
      canary: cr,
      production: pr,
      message: `agreement with reader A: ${c.studies} canary / ${p.studies} production studies of ${g.minStudies} needed`,
    };
  const drop = pr! - cr!;
  const pValue = oneSidedProportionTest(p.agreements, p.studies, c.agreements, c.studies);
  const { max, alpha } = g.guards.agreementDrop;
  const threshold = agreementThreshold(g, interim);
  const degraded = drop > max && pValue < threshold;
  const judged = judgedSteps(g);
  const rule = interim ? `interim look, the step waits for other samples` : `α ${alpha} over ${judged} judged step${judged === 1 ? '' : 's'}`;
  return {
    guard: 'agreement',
    status: degraded ? 'degraded' : 'ok',
    canary: cr,
    production: pr,
    message: `agreement with reader A ${pct(cr)} (canary) vs ${pct(pr)} (production): drop ${pct(drop)} ${degraded ? '>' : 'within'} ${pct(max)}${drop > max ? `, one-sided p = ${pValue.toPrecision(3)} ${degraded ? '<' : '≥'} ${threshold.toPrecision(3)} (${rule})` : ''}`,
  };
}

function qaGuard(g: CanaryProtocol, c: ArmFigures, p: ArmFigures): GuardResult {
  const need = Math.max(1, g.minQaReviews);
  const cr = ratio(c.qaFalseClears, c.qaReviews);
  const pr = ratio(p.qaFalseClears, p.qaReviews);
  if (c.qaReviews < need)
    return {
      guard: 'qa_false_clear',
      status: 'insufficient',
      canary: cr,
      production: pr,
      message: `QA false clears: ${c.qaReviews} canary QA reviews of ${need} needed`,
    };
  const { max } = g.guards.qaFalseClear;
  const degraded = cr! > max;
  return {
    guard: 'qa_false_clear',
    status: degraded ? 'degraded' : 'ok',
    canary: cr,
    production: pr,
    message: `QA false-clear rate ${pct(cr)} (${c.qaFalseClears}/${c.qaReviews}, canary) ${degraded ? '>' : '≤'} ${pct(max)}; production ${pct(pr)}`,
  };
}

function errorGuard(g: CanaryProtocol, c: ArmFigures, p: ArmFigures): GuardResult {
  const cr = ratio(c.errors, c.requests);
  const pr = ratio(p.errors, p.requests);
  if (c.requests < g.minRequests || p.requests < g.minRequests)
    return {
      guard: 'error_rate',
      status: 'insufficient',
      canary: cr,
      production: pr,
      message: `error rate: ${c.requests} canary / ${p.requests} production requests of ${g.minRequests} needed`,
    };
  const { maxIncrease } = g.guards.errorRate;
  const degraded = cr! - pr! > maxIncrease;
  return {
    guard: 'error_rate',
    status: degraded ? 'degraded' : 'ok',
    canary: cr,
    production: pr,
    message: `error rate ${pct(cr)} (canary) vs ${pct(pr)} (production): increase ${degraded ? '>' : 'within'} ${pct(maxIncrease)}`,
  };
}

function latencyGuard(g: CanaryProtocol, c: ArmFigures, p: ArmFigures): GuardResult {
  if (c.requests < g.minRequests || p.requests < g.minRequests || c.p95Ms === null || p.p95Ms === null)
    return {
      guard: 'latency_p95',
      status: 'insufficient',
      canary: c.p95Ms,
      production: p.p95Ms,
      message: `p95 latency: ${c.requests} canary / ${p.requests} production requests of ${g.minRequests} needed`,
    };
  const { maxMs, maxRatio } = g.guards.latencyP95;
  const limit = Math.min(maxMs, p.p95Ms * maxRatio);
  const degraded = c.p95Ms > limit;
  return {
    guard: 'latency_p95',
    status: degraded ? 'degraded' : 'ok',
    canary: c.p95Ms,
    production: p.p95Ms,
    message: `p95 latency ${ms(c.p95Ms)} (canary) ${degraded ? '>' : '≤'} min(${maxMs} ms, ${maxRatio} × production ${ms(p.p95Ms)})`,
  };
}

/** Judges the current step of a canary from the two arms' figures during it. */
export function judgeStep(g: CanaryProtocol, canary: ArmFigures, production: ArmFigures): StepJudgement {
  const others = [qaGuard(g, canary, production), errorGuard(g, canary, production), latencyGuard(g, canary, production)];
  // QA reviews gate advancing only when the protocol asks for them; the QA guard still rolls back when it has data.
  const blocks = (r: GuardResult): boolean => r.status === 'insufficient' && !(r.guard === 'qa_false_clear' && g.minQaReviews === 0);
  // A look is interim when another guard still lacks its sample: this look cannot end the step by advancing.
  const guards = [agreementGuard(g, canary, production, others.some(blocks)), ...others];
  const degraded = guards.filter((r) => r.status === 'degraded');
  const waiting = guards.filter(blocks);
  if (degraded.length > 0) return { decision: 'rollback', guards, waitingFor: [], reasons: degraded.map((r) => r.message) };
  if (waiting.length > 0) return { decision: 'wait', guards, waitingFor: waiting.map((r) => r.message), reasons: [] };
  return { decision: 'advance', guards, waitingFor: [], reasons: [] };
}
