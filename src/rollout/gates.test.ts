import { describe, expect, it } from 'vitest';

import { agreementThreshold, type ArmFigures, INTERIM_ALPHA, judgeStep } from './gates.js';
import type { CanaryProtocol } from './protocol.js';

const G: CanaryProtocol = {
  steps: [0.05, 0.25, 1],
  minStudies: 100,
  minQaReviews: 5,
  minRequests: 100,
  guards: {
    agreementDrop: { max: 0.05, alpha: 0.05 },
    qaFalseClear: { max: 0.1 },
    errorRate: { maxIncrease: 0.01 },
    latencyP95: { maxMs: 500, maxRatio: 1.5 },
  },
};

/** An arm that meets every minimum and looks like production. */
const arm = (o: Partial<ArmFigures> = {}): ArmFigures => ({
  version: 1,
  studies: 400,
  agreements: 360,
  qaReviews: 20,
  qaFalseClears: 1,
  requests: 400,
  errors: 0,
  p95Ms: 50,
  ...o,
});

describe('canary step gate', () => {
  it('advances when every guard has its sample and none is degraded', () => {
    const j = judgeStep(G, arm({ version: 2 }), arm({ studies: 4000, agreements: 3600 }));
    expect(j.decision).toBe('advance');
    expect(j.guards.map((g) => g.status)).toEqual(['ok', 'ok', 'ok', 'ok']);
  });

  it.each([
    ['studies', { studies: 99, agreements: 90 }, /agreement with reader A: 99 canary/],
    ['QA reviews', { qaReviews: 4, qaFalseClears: 0 }, /QA false clears: 4 canary QA reviews of 5/],
    ['requests', { requests: 50 }, /error rate: 50 canary/],
  ])('waits while the canary lacks %s (no step)', (_what, o, message) => {
    const j = judgeStep(G, arm({ version: 2, ...o }), arm());
    expect(j.decision).toBe('wait');
    expect(j.waitingFor.join('\n')).toMatch(message);
  });

  it('waits while production lacks its sample too', () => {
    expect(judgeStep(G, arm({ version: 2 }), arm({ studies: 10, agreements: 9 })).decision).toBe('wait');
  });

  it('does not wait for QA reviews when the protocol asks for none', () => {
    expect(judgeStep({ ...G, minQaReviews: 0 }, arm({ version: 2, qaReviews: 0, qaFalseClears: 0 }), arm()).decision).toBe('advance');
  });

  it('rolls back on an agreement drop beyond the margin that the test confirms', () => {
    const j = judgeStep(G, arm({ version: 2, agreements: 300 }), arm({ agreements: 360 }));
    expect(j.decision).toBe('rollback');
    expect(j.reasons[0]).toMatch(
      /agreement with reader A 75\.00% \(canary\) vs 90\.00% \(production\): drop 15\.00% > 5\.00%, one-sided p = .* < 0\.0250 \(α 0\.05 over 2 judged steps\)/,
    );
  });

  it('keeps a drop beyond the margin that chance explains (not significant)', () => {
    // 100 vs 100 studies, 84% vs 90%: a 6-point drop, p ≈ 0.10.
    const j = judgeStep(G, arm({ version: 2, studies: 100, agreements: 84 }), arm({ studies: 100, agreements: 90 }));
    expect(j.guards[0]!.status).toBe('ok');
  });

  it('spends alpha over the judged steps: a drop with p between alpha/2 and alpha advances with two judged steps, not with one', () => {
    // 83.5% vs 90% of 200 studies each: a 6.5-point drop, one-sided p ≈ 0.028.
    const c = arm({ version: 2, studies: 200, agreements: 167 });
    const p = arm({ studies: 200, agreements: 180 });
    expect(agreementThreshold(G, false)).toBeCloseTo(0.025, 12);
    expect(judgeStep(G, c, p).decision).toBe('advance');
    const oneJudged = { ...G, steps: [0.25, 1] };
    expect(agreementThreshold(oneJudged, false)).toBeCloseTo(0.05, 12);
    const j = judgeStep(oneJudged, c, p);
    expect(j.decision).toBe('rollback');
    expect(j.reasons[0]).toMatch(/one-sided p = 0\.0276 < 0\.0500 \(α 0\.05 over 1 judged step\)/);
  });

  it('holds interim looks to the Haybittle–Peto boundary while the step waits for another sample', () => {
    // 83.75% vs 90% of 400: p ≈ 0.0044 — below the step's 0.025, above the interim 0.001.
    const c = { version: 2, studies: 400, agreements: 335 };
    const p = arm({ agreements: 360 });
    expect(agreementThreshold(G, true)).toBe(INTERIM_ALPHA);
    const waiting = judgeStep(G, arm({ ...c, qaReviews: 2, qaFalseClears: 0 }), p);
    expect(waiting.decision).toBe('wait');
    expect(waiting.guards[0]!.message).toMatch(/p = 0\.00443 ≥ 0\.00100 \(interim look, the step waits for other samples\)/);
    expect(judgeStep(G, arm(c), p).decision).toBe('rollback'); // the QA sample is in: the deciding look
    // A drop far beyond chance (p ≈ 1e-8) rolls back at an interim look.
    expect(judgeStep(G, arm({ version: 2, agreements: 300, qaReviews: 2, qaFalseClears: 0 }), p).decision).toBe('rollback');
  });

  it('treats a look as deciding when only the QA sample is missing and the protocol asks for none', () => {
    const j = judgeStep({ ...G, minQaReviews: 0 }, arm({ version: 2, studies: 400, agreements: 335, qaReviews: 0, qaFalseClears: 0 }), arm());
    expect(j.decision).toBe('rollback');
  });

  it('rolls back on QA false clears above the bound', () => {
    const j = judgeStep(G, arm({ version: 2, qaReviews: 10, qaFalseClears: 2 }), arm());
    expect(j.decision).toBe('rollback');
    expect(j.reasons).toEqual([expect.stringMatching(/QA false-clear rate 20\.00% \(2\/10, canary\) > 10\.00%/)]);
  });

  it('rolls back on an error-rate increase', () => {
    const j = judgeStep(G, arm({ version: 2, errors: 10 }), arm({ errors: 1 }));
    expect(j.decision).toBe('rollback');
    expect(j.reasons[0]).toMatch(/error rate 2\.50% \(canary\) vs 0\.25% \(production\)/);
  });

  it('rolls back on p95 latency above the ratio or the absolute bound', () => {
    expect(judgeStep(G, arm({ version: 2, p95Ms: 100 }), arm({ p95Ms: 50 })).decision).toBe('rollback');
    expect(judgeStep(G, arm({ version: 2, p95Ms: 750 }), arm({ p95Ms: 600 })).decision).toBe('rollback');
    expect(judgeStep(G, arm({ version: 2, p95Ms: 75 }), arm({ p95Ms: 50 })).decision).toBe('advance');
  });

  it('rolls back on degradation even before the other samples are complete', () => {
    const j = judgeStep(G, arm({ version: 2, qaReviews: 10, qaFalseClears: 5, requests: 10 }), arm());
    expect(j.decision).toBe('rollback');
  });
});
