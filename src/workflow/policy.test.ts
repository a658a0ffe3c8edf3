import { describe, expect, it } from 'vitest';

import { evaluatePolicy, type PolicyRule, validatePolicyRule } from './policy.js';

const policy: PolicyRule = { thresholds: { 'lung-normal': 0.9, 'lung-covid': 0.8 }, alwaysDoubleRead: ['lung-tuberculosis'], qaFraction: 0.05 };
const top = (c: string, p: number) => ({ top: { class: c, probability: p } });

describe('evaluatePolicy', () => {
  it('auto-finalizes when A and the model agree, confidence reaches the threshold, class not high-risk, not QA-drawn', () => {
    expect(evaluatePolicy({ label: 'lung-normal', model: top('lung-normal', 0.95), policy, draw: 0.5 })).toEqual({
      decision: 'auto_finalized',
      qa: false,
      reasons: [],
    });
    // Exactly at the threshold counts (≥), and a draw exactly at the fraction is not sampled (<).
    expect(evaluatePolicy({ label: 'lung-covid', model: top('lung-covid', 0.8), policy, draw: 0.05 }).decision).toBe('auto_finalized');
  });

  it('sends disagreements, low confidence, missing thresholds and high-risk classes to B with every reason', () => {
    expect(evaluatePolicy({ label: 'lung-covid', model: top('lung-normal', 0.95), policy, draw: 0.5 })).toEqual({
      decision: 'second_read',
      qa: false,
      reasons: ['disagreement'],
    });
    expect(evaluatePolicy({ label: 'lung-normal', model: top('lung-normal', 0.89), policy, draw: 0.5 })).toEqual({
      decision: 'second_read',
      qa: false,
      reasons: ['low_confidence'],
    });
    expect(evaluatePolicy({ label: 'lung-opacity', model: top('lung-opacity', 0.99), policy, draw: 0.5 })).toEqual({
      decision: 'second_read',
      qa: false,
      reasons: ['no_threshold'],
    });
    expect(
      evaluatePolicy({
        label: 'lung-tuberculosis',
        model: top('lung-tuberculosis', 0.99),
        policy: { ...policy, thresholds: { 'lung-tuberculosis': 0.5 } },
        draw: 0.5,
      }),
    ).toEqual({ decision: 'second_read', qa: false, reasons: ['always_double_read'] });
    // A high-risk label from A alone also forces the second read.
    expect(evaluatePolicy({ label: 'lung-tuberculosis', model: top('lung-covid', 0.5), policy, draw: 0.9 })).toEqual({
      decision: 'second_read',
      qa: false,
      reasons: ['disagreement', 'low_confidence', 'always_double_read'],
    });
  });

  it('QA-samples only would-be auto-finalized studies', () => {
    expect(evaluatePolicy({ label: 'lung-normal', model: top('lung-normal', 0.95), policy, draw: 0.0499 })).toEqual({
      decision: 'second_read',
      qa: true,
      reasons: ['qa_sample'],
    });
    expect(evaluatePolicy({ label: 'lung-covid', model: top('lung-normal', 0.95), policy, draw: 0 })).toMatchObject({ qa: false, reasons: ['disagreement'] });
    expect(evaluatePolicy({ label: 'lung-normal', model: top('lung-normal', 0.95), policy: { ...policy, qaFraction: 0 }, draw: 0 }).decision).toBe(
      'auto_finalized',
    );
  });

  it('without a model read or a policy, always a second read', () => {
    expect(evaluatePolicy({ label: 'lung-normal', model: null, policy, draw: 0.5 })).toEqual({
      decision: 'second_read',
      qa: false,
      reasons: ['no_model_read'],
    });
    expect(evaluatePolicy({ label: 'lung-normal', model: top('lung-normal', 1), policy: null, draw: 0.5 })).toEqual({
      decision: 'second_read',
      qa: false,
      reasons: ['no_policy'],
    });
  });

  it('NaN confidence never clears', () => {
    expect(evaluatePolicy({ label: 'lung-normal', model: top('lung-normal', Number.NaN), policy, draw: 0.5 }).reasons).toEqual(['low_confidence']);
  });
});

describe('validatePolicyRule', () => {
  it('accepts a valid rule, defaults QA to 5 %, dedupes and sorts the high-risk list', () => {
    expect(validatePolicyRule({ thresholds: { 'oct-cnv': 0.7 }, alwaysDoubleRead: ['oct-dme', 'oct-cnv', 'oct-dme'] })).toEqual({
      thresholds: { 'oct-cnv': 0.7 },
      alwaysDoubleRead: ['oct-cnv', 'oct-dme'],
      qaFraction: 0.05,
    });
  });

  it.each([
    [{ thresholds: { 'lung-nope': 0.5 } }, /unknown class/],
    [{ thresholds: { 'lung-normal': 1.5 } }, /\[0, 1\]/],
    [{ thresholds: { 'lung-normal': Number.NaN } }, /\[0, 1\]/],
    [{ thresholds: [] as unknown as Record<string, number> }, /object/],
    [{ thresholds: {}, alwaysDoubleRead: ['x'] }, /unknown/],
    [{ thresholds: {}, qaFraction: -0.1 }, /qaFraction/],
  ])('refuses %j', (rule, message) => {
    expect(() => validatePolicyRule(rule)).toThrow(message);
  });
});
