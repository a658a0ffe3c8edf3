// The workflow's business and safety gauges in /metrics, computed from the database when Prometheus
// scrapes (WorkflowService.metrics over all studies), so every process and every report agrees and a
// study finalized by another API process still counts. A rate without evidence (denominator 0) has no
// series rather than a made-up 0; classes that no longer have a figure are removed. Here with the workflow,
// which owns the figures, registering into monitoring's registry (a layer below).
import { Gauge } from 'prom-client';

import type { Logger } from '../core/logger.js';
import type { Metrics } from '../monitoring/metrics.js';
import type { WorkflowMetrics } from './metrics.js';

export interface WorkflowGauges {
  reduction: Gauge;
  falseClear: Gauge<'source'>;
  worklistDepth: Gauge<'worklist'>;
  minutesSaved: Gauge;
  costSaved: Gauge<'currency'>;
  agreement: Gauge<'class_name'>;
}

/** Registers the gauges in the app's registry (once per registry). */
export function workflowGauges(metrics: Pick<Metrics, 'registry'>): WorkflowGauges {
  const registers = [metrics.registry];
  return {
    reduction: new Gauge({
      name: 'secondread_second_review_reduction_ratio',
      help: 'Auto-finalized studies / studies decided (A read, policy applied): the share of second reads saved',
      registers,
    }),
    falseClear: new Gauge({
      name: 'secondread_false_clear_rate',
      help: 'Auto-finalizations that were wrong: source="qa" QA samples where B disagreed with A / QA samples adjudicated; source="truth" final label ≠ truth / auto-finalized with known truth (simulation)',
      labelNames: ['source'],
      registers,
    }),
    worklistDepth: new Gauge({
      name: 'secondread_worklist_depth',
      help: 'Studies waiting now: worklist="A" for read A, "B" for read B (QA samples included), "B_qa" the QA samples among them',
      labelNames: ['worklist'],
      registers,
    }),
    minutesSaved: new Gauge({
      name: 'secondread_minutes_saved_total',
      help: 'Physician minutes of second reads not needed (auto-finalized × minutes per read of the modality)',
      registers,
    }),
    costSaved: new Gauge({
      name: 'secondread_cost_saved_total',
      help: 'Second reads not needed × their cost − model reads × inference cost (configured economics; may fall)',
      labelNames: ['currency'],
      registers,
    }),
    agreement: new Gauge({
      name: 'secondread_agreement_rate',
      help: 'Per class of reader A’s label: studies where the model’s top class is A’s label / studies with both reads',
      labelNames: ['class_name'],
      registers,
    }),
  };
}

/** Sets the gauges from one set of figures. */
export function setWorkflowGauges(g: WorkflowGauges, m: WorkflowMetrics): void {
  setOrRemove(g.reduction, {}, m.secondReviewReduction.rate);
  setOrRemove(g.falseClear, { source: 'qa' }, m.falseClear.qa.rate);
  setOrRemove(g.falseClear, { source: 'truth' }, m.falseClear.truth.rate);
  g.worklistDepth.set({ worklist: 'A' }, m.worklistDepth.A);
  g.worklistDepth.set({ worklist: 'B' }, m.worklistDepth.B);
  g.worklistDepth.set({ worklist: 'B_qa' }, m.worklistDepth.qaInB);
  g.minutesSaved.set(m.savings.minutesSaved);
  // One currency at a time: a changed configuration must not leave the old one's series behind.
  g.costSaved.reset();
  g.costSaved.set({ currency: m.savings.economics.currency }, m.savings.costSaved);
  g.agreement.reset();
  for (const c of m.agreementByClass) if (c.rate !== null) g.agreement.set({ class_name: c.class }, c.rate);
}

function setOrRemove<L extends string>(g: Gauge<L>, labels: Partial<Record<L, string>>, value: number | null): void {
  if (value === null) g.remove(labels);
  else g.set(labels, value);
}

/** Refreshes the gauges before each scrape; a failing database costs the refresh, not the scrape. */
export function collectWorkflowGauges(
  workflow: { metrics(): Promise<WorkflowMetrics> },
  metrics: Pick<Metrics, 'registry' | 'addCollector'>,
  logger: Logger,
): WorkflowGauges {
  const g = workflowGauges(metrics);
  metrics.addCollector(async () => {
    try {
      setWorkflowGauges(g, await workflow.metrics());
    } catch (err) {
      logger.warn({ err }, 'could not refresh the workflow gauges');
    }
  });
  return g;
}
