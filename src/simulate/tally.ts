// The simulator's own count of what happened, from the study views the API answered during the run
// (never from the database): the same figures GET /v1/workflow/metrics computes, defined the same way
// (src/workflow/metrics.ts), plus what only a simulation knows — each study's truth, so per-class
// accuracy of the model, reader A and the final label. Comparing the two (crossCheck) tests the
// server's metrics against an independent count.
import { MODALITIES, type Modality, type SecondreadClass } from '../data/classes.js';
import { type Economics, type Rate, rate, type WorkflowMetrics } from '../workflow/metrics.js';

/** One study that went through the whole pipeline: intake, read A, and read B when the policy asked. */
export interface StudyOutcome {
  /** Position in the replayed split. */
  index: number;
  /** The image's sha256 (the simulated readers' key). */
  key: string;
  truth: SecondreadClass;
  modality: Modality;
  studyId: string;
  imageKey: string;
  /** The model version that read the study and its top class; null when the model read failed (no model). */
  model: { name: string; version: number; top: string } | null;
  labelA: string;
  decision: 'auto_finalized' | 'second_read';
  reasons: string[];
  qa: boolean;
  policyId: string | null;
  labelB: string | null;
  finalLabel: string;
  /** The reader's view before read A withheld the model's read and the decision (blinding held). */
  blindedBeforeA: boolean;
  /** The image the reader fetched back through the API had the dataset image's sha256. */
  imageRoundTrip: boolean;
  startedMs: number;
  endedMs: number;
}

export interface ClassFigures {
  class: string;
  studies: number;
  autoFinalized: number;
  /** Auto-finalized with a final label ≠ truth. */
  falseClears: number;
  modelCorrect: Rate;
  readerACorrect: Rate;
  finalCorrect: Rate;
}

/** The server's figures (same names, same definitions), counted by the simulator, and what only it knows. */
export interface SimFigures extends Pick<
  WorkflowMetrics,
  'studies' | 'decided' | 'autoFinalized' | 'secondRead' | 'qaSampled' | 'adjudicated' | 'secondReviewReduction' | 'falseClear' | 'agreementByClass'
> {
  /** Studies whose model read failed (no model served, or it errored): they all go to B. */
  noModelRead: number;
  /** Per truth class (simulation only). */
  byTruth: ClassFigures[];
  /** How often each second-read reason applied. */
  reasons: Record<string, number>;
  /** Final labels ≠ truth: all, of them cleared by the policy, of them adjudicated by B. */
  finalWrong: { total: number; autoFinalized: number; adjudicated: number };
  blindingViolations: number;
  imageRoundTripFailures: number;
  /** `name@version` → studies it read. */
  models: Record<string, number>;
  policies: string[];
  savings: {
    minutesSaved: number;
    costSaved: number;
    costSavedPerScan: number | null;
    currency: string;
    byModality: Record<Modality, { autoFinalized: number; modelReads: number }>;
  };
}

export function tally(outcomes: readonly StudyOutcome[], economics: Economics): SimFigures {
  const count = (f: (o: StudyOutcome) => boolean) => outcomes.filter(f).length;
  const auto = outcomes.filter((o) => o.decision === 'auto_finalized');
  const qaDone = outcomes.filter((o) => o.qa && o.labelB !== null);
  const withModel = outcomes.filter((o) => o.model !== null);

  const agreement = new Map<string, [number, number]>();
  for (const o of withModel) {
    const [n, agreed] = agreement.get(o.labelA) ?? [0, 0];
    agreement.set(o.labelA, [n + 1, agreed + (o.model!.top === o.labelA ? 1 : 0)]);
  }

  const classes = [...new Set(outcomes.map((o) => o.truth))].sort();
  const byTruth = classes.map((c): ClassFigures => {
    const of = outcomes.filter((o) => o.truth === c);
    const ofAuto = of.filter((o) => o.decision === 'auto_finalized');
    const ofModel = of.filter((o) => o.model !== null);
    return {
      class: c,
      studies: of.length,
      autoFinalized: ofAuto.length,
      falseClears: ofAuto.filter((o) => o.finalLabel !== c).length,
      modelCorrect: rate(ofModel.filter((o) => o.model!.top === c).length, ofModel.length),
      readerACorrect: rate(of.filter((o) => o.labelA === c).length, of.length),
      finalCorrect: rate(of.filter((o) => o.finalLabel === c).length, of.length),
    };
  });

  const reasons: Record<string, number> = {};
  for (const o of outcomes) for (const r of o.reasons) reasons[r] = (reasons[r] ?? 0) + 1;
  const models: Record<string, number> = {};
  for (const o of withModel) models[`${o.model!.name}@${o.model!.version}`] = (models[`${o.model!.name}@${o.model!.version}`] ?? 0) + 1;

  const byModality = {} as SimFigures['savings']['byModality'];
  let minutesSaved = 0;
  let costSaved = 0;
  for (const m of MODALITIES) {
    const a = auto.filter((o) => o.modality === m).length;
    const reads = withModel.filter((o) => o.modality === m).length;
    byModality[m] = { autoFinalized: a, modelReads: reads };
    minutesSaved += a * economics.minutesPerRead[m];
    costSaved += a * economics.costPerRead[m] - reads * economics.inferenceCostPerStudy;
  }
  const wrong = outcomes.filter((o) => o.finalLabel !== o.truth);

  return {
    studies: outcomes.length,
    decided: outcomes.length,
    autoFinalized: auto.length,
    secondRead: count((o) => o.decision === 'second_read'),
    qaSampled: count((o) => o.qa),
    adjudicated: count((o) => o.labelB !== null),
    noModelRead: count((o) => o.model === null),
    secondReviewReduction: rate(auto.length, outcomes.length),
    falseClear: {
      qa: rate(qaDone.filter((o) => o.labelB !== o.labelA).length, qaDone.length),
      truth: rate(auto.filter((o) => o.finalLabel !== o.truth).length, auto.length),
    },
    agreementByClass: [...agreement].sort(([a], [b]) => a.localeCompare(b)).map(([c, [n, agreed]]) => ({ class: c, ...rate(agreed, n) })),
    byTruth,
    reasons,
    finalWrong: {
      total: wrong.length,
      autoFinalized: wrong.filter((o) => o.decision === 'auto_finalized').length,
      adjudicated: wrong.filter((o) => o.labelB !== null).length,
    },
    blindingViolations: count((o) => !o.blindedBeforeA),
    imageRoundTripFailures: count((o) => !o.imageRoundTrip),
    models,
    policies: [...new Set(outcomes.map((o) => o.policyId).filter((p): p is string => p !== null))].sort(),
    savings: { minutesSaved, costSaved, costSavedPerScan: outcomes.length > 0 ? costSaved / outcomes.length : null, currency: economics.currency, byModality },
  };
}

/** The running figures after each study, in the order studies finished (for the over-time charts). */
export interface TallyPoint {
  seconds: number;
  studies: number;
  reduction: number | null;
  falseClearTruth: number | null;
  minutesSaved: number;
  costSaved: number;
}

export function tallyOverTime(outcomes: readonly StudyOutcome[], economics: Economics): TallyPoint[] {
  const sorted = [...outcomes].sort((a, b) => a.endedMs - b.endedMs || a.index - b.index);
  const points: TallyPoint[] = [];
  let auto = 0;
  let cleared = 0;
  let falseClears = 0;
  let minutes = 0;
  let cost = 0;
  sorted.forEach((o, i) => {
    if (o.decision === 'auto_finalized') {
      auto++;
      cleared++;
      if (o.finalLabel !== o.truth) falseClears++;
      minutes += economics.minutesPerRead[o.modality];
      cost += economics.costPerRead[o.modality];
    }
    if (o.model !== null) cost -= economics.inferenceCostPerStudy;
    points.push({
      seconds: o.endedMs / 1000,
      studies: i + 1,
      reduction: auto / (i + 1),
      falseClearTruth: cleared > 0 ? falseClears / cleared : null,
      minutesSaved: minutes,
      costSaved: cost,
    });
  });
  return points;
}

export interface CrossCheckRow {
  figure: string;
  simulator: number | null;
  server: number | null;
  match: boolean;
}

/**
 * The simulator's tally next to the server's metrics over the same window, figure by figure. Counts
 * must be equal; money and minutes within rounding (1e-6).
 */
export function crossCheck(sim: SimFigures, server: WorkflowMetrics): CrossCheckRow[] {
  const rows: CrossCheckRow[] = [];
  const add = (figure: string, a: number | null, b: number | null, tolerance = 0) =>
    rows.push({ figure, simulator: a, server: b, match: a === b || (a !== null && b !== null && Math.abs(a - b) <= tolerance) });
  add('studies', sim.studies, server.studies);
  add('decided', sim.decided, server.decided);
  add('auto-finalized', sim.autoFinalized, server.autoFinalized);
  add('second read', sim.secondRead, server.secondRead);
  add('QA sampled', sim.qaSampled, server.qaSampled);
  add('adjudicated', sim.adjudicated, server.adjudicated);
  add('false clears (truth)', sim.falseClear.truth.numerator, server.falseClear.truth.numerator);
  add('auto-finalized with truth', sim.falseClear.truth.denominator, server.falseClear.truth.denominator);
  add('QA: B ≠ A', sim.falseClear.qa.numerator, server.falseClear.qa.numerator);
  add('QA adjudicated', sim.falseClear.qa.denominator, server.falseClear.qa.denominator);
  const classes = [...new Set([...sim.agreementByClass, ...server.agreementByClass].map((r) => r.class))].sort();
  for (const c of classes) {
    const s = sim.agreementByClass.find((r) => r.class === c);
    const v = server.agreementByClass.find((r) => r.class === c);
    add(`agreement ${c}: model = A`, s?.numerator ?? 0, v?.numerator ?? 0);
    add(`agreement ${c}: both read`, s?.denominator ?? 0, v?.denominator ?? 0);
  }
  add('minutes saved', sim.savings.minutesSaved, server.savings.minutesSaved, 1e-6);
  add('cost saved', sim.savings.costSaved, server.savings.costSaved, 1e-6);
  return rows;
}
