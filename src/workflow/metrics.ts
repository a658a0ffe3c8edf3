// Business and safety figures of the workflow, computed from the database (never kept as counters, so
// every process and every report agrees). Definitions (DESIGN.md, "Names"; docs/workflow.md):
//   second-review reduction = auto-finalized / decided (decided: A has read, the policy has spoken)
//   false-clear rate (QA)    = QA-sampled studies B adjudicated with a label ≠ A's / QA studies adjudicated
//   false-clear rate (truth) = auto-finalized studies with known truth whose final label ≠ truth / those studies
//   agreement (per class of A's label) = studies where the model's top class = A's label / studies with both reads
//   turnaround = finalized_at − created_at of finalized studies; worklist depth: the queues now (no window)
//   time saved = Σ auto-finalized × minutes per read of the modality (the second read that did not happen)
//   cost saved = Σ auto-finalized × cost per read − Σ model reads × inference cost; per scan: / studies decided
import type { Kysely } from 'kysely';

import { ValidationError } from '../core/errors.js';
import { MODALITIES } from '../data/classes.js';
import type { Database } from '../storage/schema.js';
import type { Economics, Rate, WorkflowMetrics } from './views.js';

/** Placeholders until a department configures its own figures (shown in every report that uses them). */
export const DEFAULT_ECONOMICS: Economics = {
  minutesPerRead: { cxr: 3, oct: 4 },
  costPerRead: { cxr: 25, oct: 35 },
  inferenceCostPerStudy: 0.01,
  currency: 'USD',
};

export type { Economics, Rate, WorkflowMetrics } from './views.js';

export function rate(numerator: number, denominator: number): Rate {
  return { numerator, denominator, rate: denominator > 0 ? numerator / denominator : null };
}

/** Figures over the studies created at or after `since` (ISO-8601; all studies when absent). */
export async function workflowMetrics(db: Kysely<Database>, o: { since?: string; economics?: Economics } = {}): Promise<WorkflowMetrics> {
  const since = o.since ?? null;
  if (since !== null && Number.isNaN(Date.parse(since))) throw new ValidationError('since must be an ISO-8601 time');
  const sinceIso = since === null ? null : new Date(since).toISOString();
  const economics = o.economics ?? DEFAULT_ECONOMICS;
  const studies = () => (sinceIso === null ? db.selectFrom('studies') : db.selectFrom('studies').where('studies.created_at', '>=', sinceIso));

  const groups = await studies()
    .select((eb) => ['modality', 'status', 'decision', 'qa', eb.fn.countAll<number>().as('n')])
    .groupBy(['modality', 'status', 'decision', 'qa'])
    .execute();
  const count = (f: (g: (typeof groups)[number]) => boolean) => groups.filter(f).reduce((s, g) => s + Number(g.n), 0);
  const total = count(() => true);
  const decided = count((g) => g.decision !== null);
  const autoFinalized = count((g) => g.decision === 'auto_finalized');

  // A's read, joined with B's or the model's, of the studies in the window.
  const withReads = (other: 'B' | 'model') =>
    studies()
      .innerJoin('reads as a', (j) => j.onRef('a.study_id', '=', 'studies.id').on('a.reader', '=', 'A'))
      .innerJoin('reads as o', (j) => j.onRef('o.study_id', '=', 'studies.id').on('o.reader', '=', other));
  const one = async (q: { executeTakeFirst(): Promise<{ n: number } | undefined> }) => Number((await q.executeTakeFirst())?.n ?? 0);

  const qaDone = withReads('B').where('studies.qa', '=', 1).where('studies.status', '=', 'adjudicated');
  const qaTotal = await one(qaDone.select((eb) => eb.fn.countAll<number>().as('n')));
  const qaWrong = await one(qaDone.whereRef('a.label', '<>', 'o.label').select((eb) => eb.fn.countAll<number>().as('n')));

  const truthKnown = studies().where('status', '=', 'auto_finalized').where('truth_class', 'is not', null);
  const truthTotal = await one(truthKnown.select((eb) => eb.fn.countAll<number>().as('n')));
  const truthWrong = await one(truthKnown.whereRef('final_label', '<>', 'truth_class').select((eb) => eb.fn.countAll<number>().as('n')));

  const agreement = await withReads('model')
    .select((eb) => [
      'a.label as label',
      eb.fn.countAll<number>().as('n'),
      eb.fn.sum<number>(eb.case().when('a.label', '=', eb.ref('o.label')).then(eb.lit(1)).else(eb.lit(0)).end()).as('agreed'),
    ])
    .groupBy('a.label')
    .orderBy('a.label')
    .execute();

  const finalized = await studies().select(['created_at', 'finalized_at']).where('finalized_at', 'is not', null).execute();
  const seconds = finalized.map((r) => (Date.parse(r.finalized_at!) - Date.parse(r.created_at)) / 1000).sort((a, b) => a - b);

  // The queues as they are now, whatever the window.
  const queues = await db
    .selectFrom('studies')
    .select((eb) => ['status', 'qa', eb.fn.countAll<number>().as('n')])
    .where('status', 'in', ['awaiting_a', 'awaiting_b'])
    .groupBy(['status', 'qa'])
    .execute();
  const queued = (f: (g: (typeof queues)[number]) => boolean) => queues.filter(f).reduce((s, g) => s + Number(g.n), 0);

  const modelReads = await studies()
    .innerJoin('reads', (j) => j.onRef('reads.study_id', '=', 'studies.id').on('reads.reader', '=', 'model'))
    .select((eb) => ['studies.modality as modality', eb.fn.countAll<number>().as('n')])
    .groupBy('studies.modality')
    .execute();

  const byModality = {} as WorkflowMetrics['savings']['byModality'];
  for (const m of MODALITIES) {
    const auto = count((g) => g.modality === m && g.decision === 'auto_finalized');
    const reads = Number(modelReads.find((r) => r.modality === m)?.n ?? 0);
    byModality[m] = {
      autoFinalized: auto,
      modelReads: reads,
      minutesSaved: auto * economics.minutesPerRead[m],
      costSaved: auto * economics.costPerRead[m] - reads * economics.inferenceCostPerStudy,
    };
  }
  const costSaved = MODALITIES.reduce((s, m) => s + byModality[m].costSaved, 0);

  return {
    since: sinceIso,
    studies: total,
    decided,
    autoFinalized,
    secondRead: count((g) => g.decision === 'second_read'),
    qaSampled: count((g) => g.qa === 1),
    adjudicated: count((g) => g.status === 'adjudicated'),
    secondReviewReduction: rate(autoFinalized, decided),
    falseClear: { qa: rate(qaWrong, qaTotal), truth: rate(truthWrong, truthTotal) },
    agreementByClass: agreement.map((r) => ({ class: r.label, ...rate(Number(r.agreed ?? 0), Number(r.n)) })),
    turnaroundSeconds: {
      count: seconds.length,
      mean: seconds.length ? seconds.reduce((s, x) => s + x, 0) / seconds.length : null,
      median: quantile(seconds, 0.5),
      p90: quantile(seconds, 0.9),
    },
    worklistDepth: {
      A: queued((g) => g.status === 'awaiting_a'),
      B: queued((g) => g.status === 'awaiting_b'),
      qaInB: queued((g) => g.status === 'awaiting_b' && g.qa === 1),
    },
    savings: {
      economics,
      minutesSaved: MODALITIES.reduce((s, m) => s + byModality[m].minutesSaved, 0),
      costSaved,
      costSavedPerScan: decided > 0 ? costSaved / decided : null,
      byModality,
    },
  };
}

/** Linear-interpolated quantile of sorted values (null when empty). */
function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}
