// A stored policy as GET /v1/policies/:id answers it, and the few figures of its fit report the UI shows: the
// bound, how it is guaranteed (src/workflow/policy-fit.ts, docs/policy.md), the upper bound reached and the
// price in second-review reduction. Reports come from `secondread policy fit` (kind policy-fit), the demo
// bootstrap (no kind) or a creator's own object: anything without a fit reads as "no fit figures". Fits made
// before the guarantee existed carry no method and were empirical.

export interface PolicySummary {
  id: string;
  modelName: string;
  modelVersion: number;
  version: number;
  thresholds: Record<string, number>;
  alwaysDoubleRead: string[];
  qaFraction: number;
  createdBy: string;
  createdAt: string;
}

export interface Policy extends PolicySummary {
  report: unknown;
}

export interface PolicyFitFigures {
  method: 'ltt' | 'empirical';
  bound: number;
  /** ltt: the stated confidence; empirical: null. */
  confidence: number | null;
  studies: number;
  /** The stored thresholds on the whole split. */
  reduction: number;
  falseClearRate: number | null;
  /** ltt: whether any candidate was certified (false: the policy clears nothing). */
  certified: boolean;
  /** ltt: the Clopper–Pearson upper bound on the test part, and the counts behind it. */
  upperBound: number | null;
  testStudies: number | null;
  testAutoFinalized: number | null;
  testFalseClears: number | null;
  /** The empirical fit on the same split, and the reduction given up for the guarantee. */
  empiricalReduction: number | null;
  empiricalFalseClearRate: number | null;
  price: number | null;
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const numOr = (v: unknown, d: number | null = null): number | null => (isNum(v) ? v : d);

/** The figures of a policy's fit report, or null when the report holds no fit. */
export function policyFitFigures(report: unknown): PolicyFitFigures | null {
  const fit = (report as { fit?: Record<string, unknown> } | null)?.fit;
  if (!fit || typeof fit !== 'object' || !isNum(fit.maxFalseClear) || !isNum(fit.reduction) || !isNum(fit.studies)) return null;
  const g = fit.guarantee as Record<string, unknown> | null | undefined;
  const empirical = fit.empirical as Record<string, unknown> | undefined;
  const ltt = fit.method === 'ltt' && !!g;
  return {
    method: ltt ? 'ltt' : 'empirical',
    bound: fit.maxFalseClear,
    confidence: ltt ? numOr(g.confidence) : null,
    studies: fit.studies,
    reduction: fit.reduction,
    falseClearRate: numOr(fit.falseClearRate),
    certified: ltt ? g.chosen !== null && g.chosen !== undefined : true,
    upperBound: ltt ? numOr(g.upperBound) : null,
    testStudies: ltt ? numOr(g.testStudies) : null,
    testAutoFinalized: ltt ? numOr(g.testAutoFinalized) : null,
    testFalseClears: ltt ? numOr(g.testFalseClears) : null,
    empiricalReduction: numOr(empirical?.reduction),
    empiricalFalseClearRate: numOr(empirical?.falseClearRate),
    price: ltt ? numOr(fit.price) : null,
  };
}

/** The policy in force for a model version: the newest of its versions (GET /v1/policies lists newest first, but sort anyway). */
export function inForceFor(list: readonly PolicySummary[], modelName: string, modelVersion: number): PolicySummary | null {
  const mine = list.filter((p) => p.modelName === modelName && p.modelVersion === modelVersion).sort((a, b) => b.version - a.version);
  return mine[0] ?? null;
}
