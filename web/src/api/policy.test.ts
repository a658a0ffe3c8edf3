import { describe, expect, it } from 'vitest';

import { inForceFor, policyFitFigures, type PolicySummary } from './policy.js';

const ltt = {
  kind: 'policy-fit',
  fit: {
    method: 'ltt',
    confidence: 0.95,
    maxFalseClear: 0.005,
    studies: 5000,
    reduction: 0.64,
    falseClearRate: 0.0031,
    price: 0.12,
    empirical: { reduction: 0.76, falseClearRate: 0.0049 },
    guarantee: { confidence: 0.95, chosen: 3, upperBound: 0.0046, testStudies: 3500, testAutoFinalized: 2200, testFalseClears: 5 },
  },
};

describe('policyFitFigures', () => {
  it('reads a Learn-then-Test fit: bound, confidence, upper bound reached, test counts and price', () => {
    expect(policyFitFigures(ltt)).toEqual({
      method: 'ltt',
      bound: 0.005,
      confidence: 0.95,
      studies: 5000,
      reduction: 0.64,
      falseClearRate: 0.0031,
      certified: true,
      upperBound: 0.0046,
      testStudies: 3500,
      testAutoFinalized: 2200,
      testFalseClears: 5,
      empiricalReduction: 0.76,
      empiricalFalseClearRate: 0.0049,
      price: 0.12,
    });
  });

  it('says when nothing was certified', () => {
    const none = { fit: { ...ltt.fit, reduction: 0, falseClearRate: null, guarantee: { ...ltt.fit.guarantee, chosen: null, upperBound: null } } };
    expect(policyFitFigures(none)).toMatchObject({ method: 'ltt', certified: false, upperBound: null, reduction: 0 });
  });

  it('reads empirical fits, old reports without a method, and nothing from reports without a fit', () => {
    const old = { source: 'demo bootstrap', fit: { maxFalseClear: 0.02, studies: 95, reduction: 0.3, falseClearRate: 0.01 } };
    expect(policyFitFigures(old)).toMatchObject({
      method: 'empirical',
      confidence: null,
      certified: true,
      upperBound: null,
      price: null,
      empiricalReduction: null,
    });
    expect(policyFitFigures({ fit: { ...ltt.fit, method: 'empirical', guarantee: null } })).toMatchObject({ method: 'empirical', confidence: null });
    expect(policyFitFigures(null)).toBeNull();
    expect(policyFitFigures({ note: 'hand-made' })).toBeNull();
    expect(policyFitFigures({ fit: { reduction: 'x' } })).toBeNull();
  });
});

describe('inForceFor', () => {
  const p = (modelVersion: number, version: number): PolicySummary => ({
    id: `pol_${modelVersion}_${version}`,
    modelName: 'cxr',
    modelVersion,
    version,
    thresholds: {},
    alwaysDoubleRead: [],
    qaFraction: 0.05,
    createdBy: 'a',
    createdAt: '2026-01-01T00:00:00Z',
  });
  it('is the newest policy version of that model version, or null', () => {
    expect(inForceFor([p(1, 1), p(2, 1), p(1, 3), p(1, 2)], 'cxr', 1)?.id).toBe('pol_1_3');
    expect(inForceFor([p(1, 1)], 'cxr', 2)).toBeNull();
    expect(inForceFor([p(1, 1)], 'oct', 1)).toBeNull();
  });
});
