import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { silentLogger } from '../core/logger.js';
import { openTestDatabase, type TestDatabase } from '../storage/testing.js';
import { Metrics } from './metrics.js';
import { collectEvaluationGauges, evaluationGauges, syncEvaluationGauges } from './metrics-evaluations.js';

let t: TestDatabase;
beforeEach(async () => {
  t = await openTestDatabase('sqlite');
});
afterEach(async () => {
  await t.close();
});

const perClass = (recalls: [string, number | null][]) =>
  recalls.map(([c, recall]) => ({ class: c, precision: 0.5, recall, f1: 0.5, auc: 0.9, support: recall === null ? 0 : 10, predicted: 10 }));

let n = 0;
async function evaluation(o: {
  dataset: string;
  split: string;
  status: string;
  accuracy: number | null;
  recalls: [string, number | null][];
  finishedAt: string;
}): Promise<void> {
  const id = `ev_${++n}`;
  await t.db
    .insertInto('jobs')
    .values({
      id: `job_${n}`,
      kind: 'evaluation',
      payload_json: '{}',
      status: o.status,
      progress: 1,
      result_json: null,
      error_json: null,
      attempts: 1,
      created_by: 'emil',
      created_at: o.finishedAt,
      started_at: null,
      finished_at: o.finishedAt,
      locked_by: null,
      heartbeat_at: null,
    })
    .execute();
  await t.db
    .insertInto('evaluations')
    .values({
      id,
      job_id: `job_${n}`,
      model_name: 'cxr',
      model_version: 1,
      dataset_version: o.dataset,
      split: o.split,
      status: o.status,
      images: 30,
      accuracy: o.accuracy,
      macro_f1: 0.5,
      report_json: o.status === 'succeeded' ? JSON.stringify({ classes: o.recalls.map((r) => r[0]), perClass: perClass(o.recalls) }) : null,
      created_by: 'emil',
      created_at: o.finishedAt,
      finished_at: o.finishedAt,
    })
    .execute();
}

describe('evaluation gauges', () => {
  it('maps a succeeded evaluation to the seed gauges (per-class accuracy = recall), skipping classes without examples', () => {
    expect(
      evaluationGauges({
        status: 'succeeded',
        datasetVersion: 'ds-1',
        split: 'test',
        accuracy: 0.8,
        report: {
          perClass: perClass([
            ['a', 0.9],
            ['b', null],
          ]),
        } as never,
      }),
    ).toEqual({ dataset: 'ds-1/test', accuracy: 0.8, perClass: [{ class: 'a', recall: 0.9 }] });
    expect(evaluationGauges({ status: 'running', datasetVersion: 'ds-1', split: 'test', accuracy: null, report: null })).toBeNull();
  });

  it('the latest succeeded evaluation of each dataset version and split sets the gauges on scrape', async () => {
    await evaluation({
      dataset: 'ds-1',
      split: 'test',
      status: 'succeeded',
      accuracy: 0.7,
      recalls: [
        ['lung-normal', 0.6],
        ['oct-cnv', 0.8],
      ],
      finishedAt: '2024-05-01T10:00:00.000Z',
    });
    await evaluation({
      dataset: 'ds-1',
      split: 'test',
      status: 'succeeded',
      accuracy: 0.9,
      recalls: [['lung-normal', 0.95]],
      finishedAt: '2024-05-02T10:00:00.000Z',
    });
    await evaluation({ dataset: 'ds-1', split: 'test', status: 'failed', accuracy: null, recalls: [], finishedAt: '2024-05-03T10:00:00.000Z' });
    await evaluation({
      dataset: 'ds-1',
      split: 'val',
      status: 'succeeded',
      accuracy: 0.5,
      recalls: [['oct-cnv', 0.4]],
      finishedAt: '2024-05-01T11:00:00.000Z',
    });
    const m = new Metrics({ processMetrics: false });
    collectEvaluationGauges(t.db, m, silentLogger);
    const text = await m.render();
    expect(text).toContain('model_overall_accuracy{dataset="ds-1/test"} 0.9');
    expect(text).toContain('model_accuracy_per_class{dataset="ds-1/test",class_name="lung-normal"} 0.95');
    expect(text).not.toContain('model_accuracy_per_class{dataset="ds-1/test",class_name="oct-cnv"}');
    expect(text).toContain('model_overall_accuracy{dataset="ds-1/val"} 0.5');
    expect(await syncEvaluationGauges(t.db, m)).toBe(2);
  });

  it('a failing database costs the refresh, not the scrape', async () => {
    const m = new Metrics({ processMetrics: false });
    collectEvaluationGauges(t.db, m, silentLogger);
    await t.db.destroy();
    expect(await m.render()).toContain('# TYPE model_overall_accuracy gauge');
  });
});
