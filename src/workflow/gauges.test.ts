// The workflow gauges, rendered as Prometheus scrapes them, on a small scenario whose figures are known.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { silentLogger } from '../core/logger.js';
import { Metrics } from '../monitoring/metrics.js';
import { collectWorkflowGauges } from './gauges.js';
import type { WorkflowService } from './service.js';
import { modelRead, openWorkflowFixture, type WorkflowFixture } from './testing.js';

let fx: WorkflowFixture;
let wf: WorkflowService;
const draws: number[] = [];
const economics = { minutesPerRead: { cxr: 3, oct: 4 }, costPerRead: { cxr: 25, oct: 35 }, inferenceCostPerStudy: 0.5, currency: 'EUR' };
beforeAll(async () => {
  fx = await openWorkflowFixture('sqlite');
  wf = fx.service({ random: () => draws.shift() ?? 0.99, economics });
});
afterAll(async () => {
  await fx.close();
});

function series(text: string, name: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`).exec(line);
    if (m) out[m[1] ?? ''] = Number(m[2]);
  }
  return out;
}

describe('workflow gauges', () => {
  it('no evidence: no rate series, zero depths and savings', async () => {
    const m = new Metrics({ processMetrics: false });
    collectWorkflowGauges(wf, m, silentLogger);
    const text = await m.render();
    expect(series(text, 'secondread_second_review_reduction_ratio')).toEqual({});
    expect(series(text, 'secondread_false_clear_rate')).toEqual({});
    expect(series(text, 'secondread_agreement_rate')).toEqual({});
    expect(series(text, 'secondread_worklist_depth')).toEqual({ '{worklist="A"}': 0, '{worklist="B"}': 0, '{worklist="B_qa"}': 0 });
    expect(series(text, 'secondread_minutes_saved_total')).toEqual({ '': 0 });
    expect(series(text, 'secondread_cost_saved_total')).toEqual({ '{currency="EUR"}': 0 });
  });

  it('computed at scrape time from the database', async () => {
    const m = new Metrics({ processMetrics: false });
    collectWorkflowGauges(wf, m, silentLogger);
    await wf.policies.create({ modelName: 'cxr-oct', modelVersion: 1, rule: { thresholds: { 'lung-normal': 0.9 }, qaFraction: 0.1 }, by: 'test' });
    const dataset = (truthClass: string) => ({ version: 'ds-0123456789abcdef0123', sha256: 'c'.repeat(64), truthClass });
    // 1: auto-finalized, truth agrees; 2: auto-finalized, truth disagrees; 3: QA sample, B disagrees with A;
    // 4: disagreement, waiting for B; 5: waiting for A.
    const plan = [
      { truth: 'lung-normal', a: 'lung-normal' },
      { truth: 'lung-covid', a: 'lung-normal' },
      { a: 'lung-normal', draw: 0.05, b: 'lung-covid' },
      { a: 'lung-covid' },
      {},
    ];
    for (const p of plan) {
      fx.model.next(modelRead('lung-normal', 0.95));
      const s = await wf.intake(fx.users.admin, { modality: 'cxr', image: await fx.image(), dataset: p.truth ? dataset(p.truth) : undefined });
      if (p.draw !== undefined) draws.push(p.draw);
      if (p.a) await wf.commitRead(fx.users.reader, s.id, { label: p.a });
      if (p.b) await wf.commitRead(fx.users.adjudicator, s.id, { label: p.b });
    }
    const text = await m.render();
    expect(series(text, 'secondread_second_review_reduction_ratio')).toEqual({ '': 2 / 4 });
    expect(series(text, 'secondread_false_clear_rate')).toEqual({ '{source="qa"}': 1, '{source="truth"}': 0.5 });
    expect(series(text, 'secondread_worklist_depth')).toEqual({ '{worklist="A"}': 1, '{worklist="B"}': 1, '{worklist="B_qa"}': 0 });
    expect(series(text, 'secondread_minutes_saved_total')).toEqual({ '': 2 * 3 });
    expect(series(text, 'secondread_cost_saved_total')).toEqual({ '{currency="EUR"}': 2 * 25 - 5 * 0.5 });
    expect(series(text, 'secondread_agreement_rate')).toEqual({ '{class_name="lung-normal"}': 1, '{class_name="lung-covid"}': 0 });
  });

  it('a failing database costs the refresh, not the scrape', async () => {
    const m = new Metrics({ processMetrics: false });
    collectWorkflowGauges({ metrics: () => Promise.reject(new Error('db down')) }, m, silentLogger);
    expect(await m.render()).toContain('# TYPE secondread_worklist_depth gauge');
  });
});
