import sharp from 'sharp';
import { describe, expect, it } from 'vitest';

import type { SecondreadClass } from '../data/classes.js';
import { type FitMethod, fitPolicy, type PolicyFit, type ScoredCase } from './policy-fit.js';
import { guaranteeLines, type PolicyFitReport, policyReportMarkdown, renderPolicyChart } from './policy-report.js';
import { SimulatedReader } from './simulated-reader.js';
import { syntheticScoredCases } from './synthetic-scores.js';

const CLASSES: SecondreadClass[] = ['lung-normal', 'lung-covid', 'lung-opacity'];

/** 300 studies: the model is right on ~80%, more confident when right; reader A 85% right, uniform errors. */
function report(o: { maxFalseClear?: number; alwaysDoubleRead?: string[]; method?: FitMethod; cases?: ScoredCase[] } = {}): PolicyFitReport {
  const cases: ScoredCase[] =
    o.cases ??
    Array.from({ length: 300 }, (_, i) => {
      const truth = CLASSES[i % 3]!;
      const right = (i * 7919) % 10 < 8;
      const top = right ? truth : CLASSES[(i + 1) % 3]!;
      const p = right ? 0.6 + ((i * 37) % 40) / 100 : 0.4 + ((i * 53) % 50) / 100;
      return {
        key: `k${i}`,
        truth,
        predictions: [{ class: top, probability: p }, ...CLASSES.filter((c) => c !== top).map((c) => ({ class: c, probability: (1 - p) / 2 }))],
      };
    });
  const fit = fitPolicy(cases, {
    readerA: new SimulatedReader({ accuracy: 0.85, confusion: 'uniform', seed: 2 }),
    maxFalseClear: o.maxFalseClear ?? 0.02,
    alwaysDoubleRead: o.alwaysDoubleRead,
    method: o.method ?? 'empirical',
  });
  return {
    kind: 'policy-fit',
    model: { name: 'cxr', version: 4, temperature: 1.3 },
    dataset: { version: 'ds-0123456789abcdef0123', split: 'val' },
    readerA: { kind: 'simulated', accuracy: 0.85, confusion: 'uniform', seed: 2, perClassAccuracy: {} },
    unknownToModel: [{ class: 'oct-dme', images: 3 }],
    fittedAt: '2026-03-01T10:00:00.000Z',
    fit,
  };
}

describe('policy report', () => {
  it('report.md states the figures before and after QA, the definitions, each class and the curve', () => {
    const r = report();
    const f = r.fit;
    expect(f.autoFinalized).toBeGreaterThan(0);
    expect(f.falseClears).toBeGreaterThan(0);
    const md = policyReportMarkdown(r, { policy: { id: 'pol_abc', version: 3 }, chartFile: 'tradeoff.png' });
    expect(md).toContain('# Policy fit: cxr v4 on ds-0123456789abcdef0123 (val)');
    expect(md).toContain('Stored as policy `pol_abc`, version 3 of cxr v4');
    expect(md).toContain(`| ${(100 * f.reduction).toFixed(2)}% (${f.autoFinalized} of 300) | ${(100 * f.reduction * 0.95).toFixed(2)}%`);
    expect(md).toContain(`| ${(100 * f.falseClearRate!).toFixed(2)}% (${f.falseClears} of ${f.autoFinalized}) |`);
    expect(md).toContain('Bound: false-clear rate ≤ 2.00% (false clears / auto-finalized studies).');
    expect(md).toContain('simulated: accuracy 85.0%, confusion `uniform`, seed 2');
    expect(md).toContain('oct-dme 3');
    expect(md).toContain('![reduction vs false-clear rate](tradeoff.png)');
    for (const c of f.classes)
      expect(md).toMatch(new RegExp(`\\| ${c.class} \\| ${c.threshold === null ? '—' : c.threshold.toFixed(6)} \\| ${c.status} \\| ${c.modelTop} \\|`));
    expect(md.match(/← chosen/g)).toHaveLength(1);
    expect(md).toContain('The **false-clear rate** divides by the auto-finalized studies');
    expect(policyReportMarkdown(r)).toContain('Not stored (dry run).');
    expect(md).toContain('- Method: empirical — the false-clear rate is within the bound on this split only');
    expect(md).not.toContain('## The guarantee');
  });

  it('a Learn-then-Test fit states the bound, the confidence, the test sequence, the upper bound reached and the price', () => {
    const r = report({ method: 'ltt', maxFalseClear: 0.01, cases: syntheticScoredCases({ seed: 3, n: 3000 }) });
    const f = r.fit;
    const g = f.guarantee!;
    expect(g.chosen).not.toBeNull();
    expect(g.upperBound!).toBeLessThanOrEqual(0.01);
    const md = policyReportMarkdown(r);
    expect(md).toContain(`- Method: Learn then Test at 95% confidence — candidates from ${g.searchStudies} studies (search part, 30%)`);
    expect(md).toContain(
      `- Guarantee: false-clear rate ≤ 1.00% with probability ≥ 95% (over the split's draw); on the test part ${g.testFalseClears} false clears of ${g.testAutoFinalized} auto-finalized, Clopper–Pearson 95% upper bound ${(100 * g.upperBound!).toFixed(2)}%.`,
    );
    expect(md).toContain(`- Price: ${(100 * f.price).toFixed(2)} points of second-review reduction — the empirical fit`);
    expect(md).toContain('## The guarantee');
    expect(md.match(/rejected ← the fit/g)).toHaveLength(1);
    expect(md.match(/← the empirical fit/g)).toHaveLength(1);
    expect(md).not.toContain('← chosen');
  });

  it('reads reports stored before the guarantee existed (no method, guarantee or empirical) as empirical fits', () => {
    const { method: _m, guarantee: _g, empirical: _e, price: _p, confidence: _c, ...old } = report().fit;
    expect(guaranteeLines(old as PolicyFit)).toEqual([
      expect.stringMatching(/^method: empirical — the false-clear rate is within the bound on this split only/),
    ]);
  });

  it('says so plainly when nothing could be certified, and how many clears it would take', () => {
    const r = report({ method: 'ltt', maxFalseClear: 0.005 });
    expect(r.fit.guarantee!.chosen).toBeNull();
    expect(r.fit.rule.thresholds).toEqual({});
    expect(r.fit.price).toBeCloseTo(r.fit.empirical.reduction, 12);
    const md = policyReportMarkdown(r);
    expect(md).toContain('- Guarantee: NOTHING CERTIFIED');
    expect(md).toContain('Showing it takes at least 598 clears on the test part without a single false clear');
  });

  it('renders the trade-off as a PNG: overall | per class, or overall alone when no class can clear', async () => {
    const png = await renderPolicyChart(report());
    expect(
      (await sharp(await renderPolicyChart(report({ method: 'ltt', maxFalseClear: 0.01, cases: syntheticScoredCases({ seed: 3, n: 3000 }) }))).metadata())
        .format,
    ).toBe('png');
    const meta = await sharp(png).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 1280, 400]);
    // Every class always double-read: nothing to draw per class.
    const alone = await sharp(await renderPolicyChart(report({ alwaysDoubleRead: CLASSES }))).metadata();
    expect([alone.width, alone.height]).toEqual([640, 400]);
  });
});
