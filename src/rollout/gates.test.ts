import { describe, expect, it } from 'vitest';

import { type ArmFigures, judgeStep } from './gates.js';
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
    expect(j.reasons[0]).toMatch(/agreement with reader A 75\.00% \(canary\) vs 90\.00% \(production\): drop 15\.00% > 5\.00%, one-sided p = .* < 0\.05/);
  });

  it('keeps a drop beyond the margin that chance explains (not significant)', () => {
    // 100 vs 100 studies, 84% vs 90%: a 6-point drop, p ≈ 0.10.
    const j = judgeStep(G, arm({ version: 2, studies: 100, agreements: 84 }), arm({ studies: 100, agreements: 90 }));
    expect(j.guards[0]!.status).toBe('ok');
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
