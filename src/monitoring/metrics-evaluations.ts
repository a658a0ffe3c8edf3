// The accuracy gauges (`model_overall_accuracy`, `model_accuracy_per_class`) from stored evaluations.
// An evaluation may finish in another process (a BullMQ worker) or before this one started, so the
// gauges are refreshed from the `evaluations` table when Prometheus scrapes, not only on completion.
// The `dataset` label is `<dataset version>/<split>`: the latest succeeded evaluation of each wins.
import type { Logger } from '../core/logger.js';
import type { Db } from '../storage/db.js';
import type { Evaluation, EvaluationReport } from './evaluations/types.js';
import type { EvaluationGauges, Metrics } from './metrics.js';

export function datasetLabel(datasetVersion: string, split: string): string {
  return `${datasetVersion}/${split}`;
}

/** The gauges one evaluation sets, or null when it has no figures (not succeeded). */
export function evaluationGauges(e: Pick<Evaluation, 'status' | 'datasetVersion' | 'split' | 'accuracy' | 'report'>): EvaluationGauges | null {
  if (e.status !== 'succeeded' || e.accuracy === null || !e.report) return null;
  return {
    dataset: datasetLabel(e.datasetVersion, e.split),
    accuracy: e.accuracy,
    // A class without examples in the split has no recall: no series rather than a made-up 0.
    perClass: e.report.perClass.flatMap((c) => (c.recall === null ? [] : [{ class: c.class, recall: c.recall }])),
  };
}

/** Sets the gauges from the latest succeeded evaluation of every dataset version and split. */
export async function syncEvaluationGauges(db: Db, metrics: Pick<Metrics, 'setEvaluationGauges'>): Promise<number> {
  const rows = await db
    .selectFrom('evaluations')
    .select(['dataset_version', 'split', 'accuracy', 'report_json', 'finished_at'])
    .where('status', '=', 'succeeded')
    .orderBy('finished_at')
    .orderBy('id')
    .execute();
  const latest = new Map<string, (typeof rows)[number]>();
  for (const r of rows) latest.set(datasetLabel(r.dataset_version, r.split), r);
  let set = 0;
  for (const r of latest.values()) {
    const g = evaluationGauges({
      status: 'succeeded',
      datasetVersion: r.dataset_version,
      split: r.split as Evaluation['split'],
      accuracy: r.accuracy,
      report: r.report_json ? (JSON.parse(r.report_json) as EvaluationReport) : null,
    });
    if (g) {
      metrics.setEvaluationGauges(g);
      set++;
    }
  }
  return set;
}

/** Refreshes the gauges before each scrape; a failing database costs the refresh, not the scrape. */
export function collectEvaluationGauges(db: Db, metrics: Metrics, logger: Logger): void {
  metrics.addCollector(async () => {
    try {
      await syncEvaluationGauges(db, metrics);
    } catch (err) {
      logger.warn({ err }, 'could not refresh the evaluation gauges');
    }
  });
}
