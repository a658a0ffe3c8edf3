// The business and safety figures, on a scenario whose every number is known by construction.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { SecondreadClass } from '../data/classes.js';
import type { WorkflowMetrics } from './metrics.js';
import type { WorkflowService } from './service.js';
import { modelRead, openWorkflowFixture, type WorkflowFixture } from './testing.js';

let fx: WorkflowFixture;
let wf: WorkflowService;
let nowMs = Date.parse('2026-03-01T08:00:00.000Z');
const draws: number[] = [];
let m: WorkflowMetrics;

beforeAll(async () => {
  fx = await openWorkflowFixture('sqlite');
  wf = fx.service({
    clock: { now: () => new Date(nowMs) },
    random: () => draws.shift() ?? 0.5,
    economics: { minutesPerRead: { cxr: 3, oct: 4 }, costPerRead: { cxr: 25, oct: 35 }, inferenceCostPerStudy: 0.01, currency: 'EUR' },
  });
  await wf.policies.create({ modelName: 'cxr-oct', modelVersion: 1, rule: { thresholds: { 'lung-normal': 0.9, 'lung-covid': 0.8 } }, by: 'test' });
  const studies: { model: [SecondreadClass, number]; a?: SecondreadClass; qa?: boolean; b?: SecondreadClass; truth?: SecondreadClass }[] = [
    { model: ['lung-normal', 0.97], a: 'lung-normal', truth: 'lung-normal' }, // auto, right
    { model: ['lung-normal', 0.97], a: 'lung-normal', truth: 'lung-covid' }, // auto, a false clear by truth
    { model: ['lung-normal', 0.97], a: 'lung-normal', qa: true, b: 'lung-covid' }, // QA: B disagrees
    { model: ['lung-covid', 0.95], a: 'lung-normal', b: 'lung-covid' }, // disagreement
    { model: ['lung-normal', 0.97], a: 'lung-normal', qa: true, b: 'lung-normal' }, // QA: B agrees
    { model: ['lung-normal', 0.97] }, // waiting for A
    { model: ['oct-cnv', 0.9], a: 'oct-cnv' }, // no threshold → waiting for B
  ];
  const ids: string[] = [];
  for (const s of studies) {
    fx.model.next(modelRead(s.model[0], s.model[1]));
    const modality = s.model[0].startsWith('oct') ? 'oct' : 'cxr';
    const dataset = s.truth ? { version: 'ds-0123456789abcdef0123', sha256: 'b'.repeat(64), truthClass: s.truth } : undefined;
    ids.push((await wf.intake(fx.users.admin, { modality, image: await fx.image(), dataset })).id);
  }
  nowMs += 60_000;
  for (const [i, s] of studies.entries()) {
    if (!s.a) continue;
    draws.push(s.qa ? 0.01 : 0.5);
    await wf.commitRead(fx.users.reader, ids[i]!, { label: s.a });
  }
  nowMs += 240_000;
  for (const [i, s] of studies.entries()) if (s.b) await wf.commitRead(fx.users.adjudicator, ids[i]!, { label: s.b });
  m = await wf.metrics();
});
afterAll(async () => {
  await fx.close();
});

describe('workflow metrics', () => {
  it('counts and second-review reduction', () => {
    expect(m).toMatchObject({ studies: 7, decided: 6, autoFinalized: 2, secondRead: 4, qaSampled: 2, adjudicated: 3 });
    expect(m.secondReviewReduction).toEqual({ numerator: 2, denominator: 6, rate: 2 / 6 });
  });

  it('false-clear rate from QA samples and from ground truth', () => {
    expect(m.falseClear.qa).toEqual({ numerator: 1, denominator: 2, rate: 0.5 });
    expect(m.falseClear.truth).toEqual({ numerator: 1, denominator: 2, rate: 0.5 });
  });

  it("agreement per class of A's label", () => {
    expect(m.agreementByClass).toEqual([
      { class: 'lung-normal', numerator: 4, denominator: 5, rate: 0.8 },
      { class: 'oct-cnv', numerator: 1, denominator: 1, rate: 1 },
    ]);
  });

  it('turnaround intake → final and worklist depth', () => {
    expect(m.turnaroundSeconds).toEqual({ count: 5, mean: 204, median: 300, p90: 300 });
    expect(m.worklistDepth).toEqual({ A: 1, B: 1, qaInB: 0 });
  });

  it('time and cost saved from the configured economics', () => {
    expect(m.savings.minutesSaved).toBe(6);
    expect(m.savings.byModality.cxr).toEqual({ autoFinalized: 2, modelReads: 6, minutesSaved: 6, costSaved: 2 * 25 - 6 * 0.01 });
    expect(m.savings.byModality.oct).toEqual({ autoFinalized: 0, modelReads: 1, minutesSaved: 0, costSaved: -0.01 });
    expect(m.savings.costSaved).toBeCloseTo(49.93, 10);
    expect(m.savings.costSavedPerScan).toBeCloseTo(49.93 / 6, 10);
  });

  it('a window after every intake counts no study but still shows the queues; rates without evidence are null', async () => {
    const later = await wf.metrics({ since: '2026-03-02T00:00:00Z' });
    expect(later).toMatchObject({ since: '2026-03-02T00:00:00.000Z', studies: 0, decided: 0, worklistDepth: { A: 1, B: 1 } });
    expect(later.secondReviewReduction.rate).toBeNull();
    expect(later.turnaroundSeconds).toEqual({ count: 0, mean: null, median: null, p90: null });
    await expect(wf.metrics({ since: 'yesterday' })).rejects.toMatchObject({ code: 'invalid_input' });
  });
});
