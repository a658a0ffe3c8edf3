import { describe, expect, it } from 'vitest';

import { Rng } from '../core/rng.js';
import type { SecondreadClass } from '../data/classes.js';
import { evaluatePolicy, type PolicyRule } from './policy.js';
import { classSweep, fitPart, fitPolicy, type FitReader, parseRecordedReads, type PolicyFit, type ScoredCase } from './policy-fit.js';
import { binomialPValue, clopperPearsonUpper } from './risk-bound.js';
import { SimulatedReader } from './simulated-reader.js';
import { policyCoverage, syntheticScoredCases } from './synthetic-scores.js';

/** A reader that answers a label fixed per study (the tests' way of saying exactly what A read). */
class Scripted implements FitReader {
  constructor(private readonly labels: Map<string, string>) {}
  read(key: string): string | undefined {
    return this.labels.get(key);
  }
}

interface Study {
  truth: SecondreadClass;
  /** The model's top class and its probability (the rest of the mass goes to one other class). */
  top: SecondreadClass;
  p: number;
  /** A's label (default: truth). */
  a?: string;
}

function build(studies: readonly Study[]): { cases: ScoredCase[]; reader: Scripted } {
  const labels = new Map<string, string>();
  const cases = studies.map((s, i) => {
    const key = `study-${String(i).padStart(4, '0')}`;
    labels.set(key, s.a ?? s.truth);
    const other: SecondreadClass = s.top === 'lung-normal' ? 'lung-covid' : 'lung-normal';
    return {
      key,
      truth: s.truth,
      predictions: [
        { class: s.top, probability: s.p },
        { class: other, probability: 1 - s.p },
      ],
    };
  });
  return { cases, reader: new Scripted(labels) };
}

/** What the stored rule does to the split, through the production decision function (no QA: draw = 1). */
function replay(cases: readonly ScoredCase[], reader: FitReader, rule: PolicyRule): { autoFinalized: number; falseClears: number } {
  let autoFinalized = 0;
  let falseClears = 0;
  for (const c of cases) {
    const label = reader.read(c.key, c.truth);
    if (label === undefined) continue;
    const top = [...c.predictions].sort((a, b) => b.probability - a.probability)[0]!;
    if (evaluatePolicy({ label, model: { top }, policy: rule, draw: 1 }).decision !== 'auto_finalized') continue;
    autoFinalized++;
    if (label !== c.truth) falseClears++;
  }
  return { autoFinalized, falseClears };
}

function expectConsistent(fit: PolicyFit, cases: readonly ScoredCase[], reader: FitReader): void {
  expect(replay(cases, reader, fit.rule)).toEqual({ autoFinalized: fit.autoFinalized, falseClears: fit.falseClears });
  expect(fit.falseClears).toBeLessThanOrEqual(fit.maxFalseClear * fit.autoFinalized + 1e-9);
  expect(fit.reduction).toBeCloseTo(fit.autoFinalized / fit.studies, 12);
}

describe('classSweep', () => {
  it('keeps, for each number of false clears, the lowest threshold; equal probabilities go together', () => {
    const sweep = classSweep([
      { probability: 0.99, wrong: false },
      { probability: 0.9, wrong: false },
      { probability: 0.8, wrong: true },
      { probability: 0.8, wrong: false },
      { probability: 0.7, wrong: false },
      { probability: 0.6, wrong: true },
      { probability: 0.5, wrong: true },
    ]);
    expect(sweep).toEqual([
      { threshold: 0.9, autoFinalized: 2, falseClears: 0 },
      { threshold: 0.7, autoFinalized: 5, falseClears: 1 },
      { threshold: 0.6, autoFinalized: 6, falseClears: 2 },
      { threshold: 0.5, autoFinalized: 7, falseClears: 3 },
    ]);
    expect(classSweep([{ probability: 0.9, wrong: true }])).toEqual([
      { threshold: null, autoFinalized: 0, falseClears: 0 },
      { threshold: 0.9, autoFinalized: 1, falseClears: 1 },
    ]);
    expect(classSweep([])).toEqual([{ threshold: null, autoFinalized: 0, falseClears: 0 }]);
  });
});

describe('fitPolicy', () => {
  it('finds the known optimum where adding the cheapest false clears first stops early', () => {
    // lung-normal: 20 right studies                          → options (0 false clears, 20 clears)
    // lung-covid:  a wrong one first, 4 right, a wrong one, 95 right → (0, 0), (1, 5), (2, 101)
    // oct-cnv:     a wrong one first, 29 right                → (0, 0), (1, 30)
    // 10 disagreements (never cleared; studies all the same). 161 studies.
    // Bound 2%: everything = 151 clears with 3 false clears (1.99%). Adding steps by their marginal false clears
    // per clear would take oct-cnv first (1 per 30: 50 clears, 2%), then find lung-covid's next step (1 per 5:
    // 55 clears, 3.6%) over the bound and stop at 50 — lung-covid's cheap second step hides behind a dear first one.
    const studies: Study[] = [
      ...Array.from({ length: 20 }, (_, i): Study => ({ truth: 'lung-normal', top: 'lung-normal', p: 0.99 - i * 0.01 })),
      { truth: 'lung-opacity', top: 'lung-covid', p: 0.98, a: 'lung-covid' },
      ...Array.from({ length: 4 }, (_, i): Study => ({ truth: 'lung-covid', top: 'lung-covid', p: 0.97 - i * 0.01 })),
      { truth: 'lung-normal', top: 'lung-covid', p: 0.93, a: 'lung-covid' },
      ...Array.from({ length: 95 }, (_, i): Study => ({ truth: 'lung-covid', top: 'lung-covid', p: 0.92 - i * 0.004 })),
      { truth: 'oct-dme', top: 'oct-cnv', p: 0.99, a: 'oct-cnv' },
      ...Array.from({ length: 29 }, (_, i): Study => ({ truth: 'oct-cnv', top: 'oct-cnv', p: 0.98 - i * 0.01 })),
      ...Array.from({ length: 10 }, (): Study => ({ truth: 'lung-covid', top: 'lung-covid', p: 0.99, a: 'lung-opacity' })),
    ];
    const { cases, reader } = build(studies);
    const fit = fitPolicy(cases, { method: 'empirical', readerA: reader, maxFalseClear: 0.02 });
    expect(fit).toMatchObject({ studies: 161, unread: 0, agreements: 151, autoFinalized: 151, falseClears: 3, falseClearDenominator: 'auto_finalized' });
    expect(Object.keys(fit.rule.thresholds).sort()).toEqual(['lung-covid', 'lung-normal', 'oct-cnv']);
    expect(fit.rule.thresholds['lung-normal']).toBeCloseTo(0.8, 12);
    expect(fit.rule.thresholds['lung-covid']).toBeCloseTo(0.92 - 94 * 0.004, 12);
    expect(fit.rule.thresholds['oct-cnv']).toBeCloseTo(0.7, 12);
    expect(fit.reduction).toBeCloseTo(151 / 161, 12);
    expect(fit.falseClearRate).toBeCloseTo(3 / 151, 12);
    expect(fit.falseClearsPerStudy).toBeCloseTo(3 / 161, 12);
    expect(fit.classes.find((c) => c.class === 'lung-covid')).toMatchObject({
      status: 'fitted',
      modelTop: 111,
      agreements: 101,
      autoFinalized: 101,
      falseClears: 2,
    });
    expect(fit.classes.find((c) => c.class === 'lung-covid')!.sweep.map((o) => [o.autoFinalized, o.falseClears])).toEqual([
      [0, 0],
      [5, 1],
      [101, 2],
    ]);
    expectConsistent(fit, cases, reader);

    // 1.9%: three false clears need 158 clears; two allow 105: lung-normal + all of lung-covid = 121 (1.65%).
    const tighter = fitPolicy(cases, { method: 'empirical', readerA: reader, maxFalseClear: 0.019 });
    expect(tighter).toMatchObject({ autoFinalized: 121, falseClears: 2 });
    expect(tighter.classes.map((c) => [c.class, c.status])).toEqual([
      ['lung-normal', 'fitted'],
      ['lung-covid', 'fitted'],
      ['oct-cnv', 'never_clears'],
    ]);
    expect(tighter.rule.thresholds['oct-cnv']).toBeUndefined();
    expectConsistent(tighter, cases, reader);

    // 1.5%: only what clears with no false clear at all.
    const strict = fitPolicy(cases, { method: 'empirical', readerA: reader, maxFalseClear: 0.015 });
    expect(strict).toMatchObject({ autoFinalized: 20, falseClears: 0 });
    expect(Object.keys(strict.rule.thresholds)).toEqual(['lung-normal']);
    expectConsistent(strict, cases, reader);

    // The trade-off curve is exactly these three bounds' answers.
    expect(fit.curve.map((p) => [p.falseClears, p.autoFinalized])).toEqual([
      [0, 20],
      [2, 121],
      [3, 151],
    ]);
  });

  it('matches an exhaustive search over every combination of candidate thresholds (random splits)', () => {
    const classes: SecondreadClass[] = ['lung-normal', 'lung-covid', 'oct-cnv'];
    for (let trial = 0; trial < 40; trial++) {
      const rng = new Rng(1000 + trial);
      const rand = () => rng.next();
      const studies: Study[] = Array.from({ length: 8 + Math.floor(rand() * 14) }, () => {
        const truth = classes[Math.floor(rand() * 3)]!;
        const top = rand() < 0.8 ? truth : classes[Math.floor(rand() * 3)]!;
        const a = rand() < 0.75 ? truth : classes[Math.floor(rand() * 3)]!;
        return { truth, top, a, p: Math.round((0.5 + rand() * 0.5) * 20) / 20 }; // coarse: many ties
      });
      const { cases, reader } = build(studies);
      const bound = [0, 0.05, 0.1, 0.2, 0.34][trial % 5]!;
      const fit = fitPolicy(cases, { method: 'empirical', readerA: reader, maxFalseClear: bound, classes });
      expectConsistent(fit, cases, reader);

      const candidates = classes.map((c) => [2, ...new Set(cases.filter((x) => x.predictions[0]!.class === c).map((x) => x.predictions[0]!.probability))]);
      let bestN = 0;
      for (const t0 of candidates[0]!)
        for (const t1 of candidates[1]!)
          for (const t2 of candidates[2]!) {
            const thresholds: Record<string, number> = {};
            [t0, t1, t2].forEach((t, i) => t <= 1 && (thresholds[classes[i]!] = t));
            const r = replay(cases, reader, { thresholds, alwaysDoubleRead: [], qaFraction: 0 });
            if (r.falseClears <= bound * r.autoFinalized + 1e-9) bestN = Math.max(bestN, r.autoFinalized);
          }
      expect(fit.autoFinalized, `trial ${trial}`).toBe(bestN);
    }
  });

  it("its curve says what each bound gives: refitting at a point's rate reaches that point", () => {
    const reader = new SimulatedReader({ accuracy: 0.6, confusion: 'uniform', seed: 5 });
    const rng = new Rng(7);
    const rand = () => rng.next();
    const classes: SecondreadClass[] = ['oct-normal', 'oct-cnv', 'oct-dme', 'oct-drusen'];
    const cases: ScoredCase[] = Array.from({ length: 600 }, (_, i) => {
      const truth = classes[i % 4]!;
      const right = rand() < 0.7;
      const top = right ? truth : classes[(i + 1 + Math.floor(rand() * 3)) % 4]!;
      const p = right ? 0.4 + 0.6 * rand() : 0.3 + 0.5 * rand();
      const rest = classes.filter((c) => c !== top).map((c) => ({ class: c, probability: (1 - p) / 3 }));
      return { key: `k${i}`, truth, predictions: [{ class: top, probability: p }, ...rest] };
    });
    const fit = fitPolicy(cases, { method: 'empirical', readerA: reader, maxFalseClear: 0.01 });
    expectConsistent(fit, cases, reader);
    expect(fit.curve[0]).toMatchObject({ falseClears: 0, falseClearRate: 0 });
    for (let i = 1; i < fit.curve.length; i++) {
      expect(fit.curve[i]!.falseClearRate).toBeGreaterThan(fit.curve[i - 1]!.falseClearRate);
      expect(fit.curve[i]!.autoFinalized).toBeGreaterThan(fit.curve[i - 1]!.autoFinalized);
    }
    expect(fit.curve.length).toBeGreaterThan(5);
    for (const point of fit.curve.filter((_, i) => i % Math.ceil(fit.curve.length / 8) === 0 || i === fit.curve.length - 1)) {
      const refit = fitPolicy(cases, { method: 'empirical', readerA: reader, maxFalseClear: point.falseClearRate });
      expect(refit.autoFinalized).toBe(point.autoFinalized);
      expectConsistent(refit, cases, reader);
    }
    // The chosen point is the curve's last within the bound.
    expect(fit.autoFinalized).toBe(fit.curve.filter((p) => p.falseClearRate <= 0.01).pop()!.autoFinalized);
    // Same inputs in another order, same fit (the simulated reader is keyed by study, not by position).
    expect(fitPolicy([...cases].reverse(), { method: 'empirical', readerA: reader, maxFalseClear: 0.01 })).toEqual(fit);
  });

  it('always-double-read classes, classes without agreements, and unread studies', () => {
    const { cases, reader } = build([
      { truth: 'lung-covid', top: 'lung-covid', p: 0.9 },
      { truth: 'lung-covid', top: 'lung-covid', p: 0.8 },
      { truth: 'oct-cnv', top: 'oct-cnv', p: 0.9 },
      { truth: 'oct-dme', top: 'oct-cnv', p: 0.95, a: 'oct-dme' },
    ]);
    const unread: ScoredCase = { key: 'not-read', truth: 'lung-normal', predictions: [{ class: 'lung-normal', probability: 1 }] };
    const fit = fitPolicy([...cases, unread], {
      method: 'empirical',
      readerA: reader,
      maxFalseClear: 0,
      alwaysDoubleRead: ['oct-cnv'],
      classes: ['lung-covid', 'oct-cnv', 'oct-drusen'],
      qaFraction: 0.1,
    });
    expect(fit).toMatchObject({ studies: 4, unread: 1, agreements: 3, autoFinalized: 2, falseClears: 0, readerAccuracy: 1, modelAccuracy: 0.75 });
    expect(fit.rule).toEqual({ thresholds: { 'lung-covid': 0.8 }, alwaysDoubleRead: ['oct-cnv'], qaFraction: 0.1 });
    expect(fit.classes.map((c) => [c.class, c.status, c.threshold])).toEqual([
      ['lung-covid', 'fitted', 0.8],
      ['oct-cnv', 'always_double_read', null],
      ['oct-drusen', 'no_agreement', null],
    ]);
    expect(fit.afterQa).toEqual({ qaFraction: 0.1, reduction: 0.5 * 0.9, expectedQaSamples: 2 * 0.1, falseClearsPerStudy: 0 });
    expectConsistent(fit, cases, reader);
  });

  it('with nothing safe to clear, stores no threshold (and reports a zero reduction)', () => {
    const { cases, reader } = build([
      { truth: 'lung-opacity', top: 'lung-covid', p: 0.99, a: 'lung-covid' },
      { truth: 'lung-covid', top: 'lung-covid', p: 0.6 },
    ]);
    const fit = fitPolicy(cases, { method: 'empirical', readerA: reader, maxFalseClear: 0.005 });
    expect(fit).toMatchObject({ autoFinalized: 0, falseClears: 0, reduction: 0, falseClearRate: null });
    expect(fit.rule.thresholds).toEqual({});
    expect(fit.classes.find((c) => c.class === 'lung-covid')!.status).toBe('never_clears');
  });

  it('refuses bad input with clear messages', () => {
    const { cases, reader } = build([{ truth: 'lung-covid', top: 'lung-covid', p: 0.9 }]);
    expect(() => fitPolicy(cases, { method: 'empirical', readerA: reader, maxFalseClear: 1.5 })).toThrow(/maxFalseClear must be a number in \[0, 1\]/);
    expect(() => fitPolicy(cases, { method: 'empirical', readerA: reader, maxFalseClear: Number.NaN })).toThrow(/maxFalseClear/);
    expect(() => fitPolicy(cases, { method: 'empirical', readerA: reader, maxFalseClear: 0.1, qaFraction: -1 })).toThrow(/qaFraction/);
    expect(() => fitPolicy(cases, { method: 'empirical', readerA: reader, maxFalseClear: 0.1, alwaysDoubleRead: ['lung-cancer'] })).toThrow(
      /always-double-read class 'lung-cancer' is unknown/,
    );
    expect(() => fitPolicy([], { method: 'empirical', readerA: reader, maxFalseClear: 0.1 })).toThrow(/no studies/);
    expect(() => fitPolicy(cases, { method: 'empirical', readerA: new Scripted(new Map()), maxFalseClear: 0.1 })).toThrow(/no read for any of the 1 studies/);
    expect(() =>
      fitPolicy([{ ...cases[0]!, predictions: [{ class: 'lung-covid', probability: 1.2 }] }], { method: 'empirical', readerA: reader, maxFalseClear: 0.1 }),
    ).toThrow(/outside \[0, 1\]/);
    expect(() => fitPolicy([{ ...cases[0]!, predictions: [] }], { method: 'empirical', readerA: reader, maxFalseClear: 0.1 })).toThrow(/no predictions/);
  });
});

describe('fitPolicy with the Learn-then-Test guarantee (the default)', () => {
  const cases = syntheticScoredCases({ seed: 8, n: 5000 });
  const reader = new SimulatedReader({ accuracy: 0.9, confusion: 'miss', seed: 8 });
  const bound = 0.005;

  it('tests candidates in a fixed sequence with exact binomial p-values and keeps the last one rejected', () => {
    const fit = fitPolicy(cases, { readerA: reader, maxFalseClear: bound });
    const g = fit.guarantee!;
    expect(fit).toMatchObject({ method: 'ltt', confidence: 0.95 });
    expect(g).toMatchObject({ method: 'learn-then-test', confidence: 0.95, searchFraction: 0.3, splitSeed: 1 });
    expect(g.searchStudies + g.testStudies).toBe(5000);
    expect(g.searchStudies / 5000).toBeCloseTo(0.3, 1);
    expect(g.chosen).not.toBeNull();
    // Every step but possibly the last is rejected; the fit is the last rejected one.
    g.sequence.forEach((s, i) => {
      expect(s.candidate).toBe(g.start + i);
      expect(s.pValue).toBeCloseTo(binomialPValue(s.testFalseClears, s.testAutoFinalized, bound), 12);
      expect(s.upperBound).toBeCloseTo(clopperPearsonUpper(s.testFalseClears, s.testAutoFinalized, 0.95), 12);
      expect(s.rejected).toBe(s.pValue <= 0.05);
      expect(s.rejected).toBe(s.upperBound <= bound + 1e-12);
      if (i < g.sequence.length - 1) expect(s.rejected).toBe(true);
    });
    expect(g.chosen).toBe(g.sequence[g.sequence.length - 1]!.rejected ? g.sequence.length - 1 : g.sequence.length - 2);
    const pick = g.sequence[g.chosen!]!;
    expect(fit.rule.thresholds).toEqual(pick.thresholds);
    expect(g.upperBound).toBe(pick.upperBound);
    expect(g.upperBound!).toBeLessThanOrEqual(bound);
    // The stored rule, replayed through the decision function: on the whole split and on the test part alone.
    expectConsistent(fit, cases, reader);
    const test = cases.filter((c) => fitPart(c.key, 1, 0.3) === 'test');
    expect(test).toHaveLength(g.testStudies);
    expect(replay(test, reader, fit.rule)).toEqual({ autoFinalized: g.testAutoFinalized, falseClears: g.testFalseClears });
    // The price: the empirical fit on the same split clears more, and is what --method empirical stores.
    const empirical = fitPolicy(cases, { method: 'empirical', readerA: reader, maxFalseClear: bound });
    expect(fit.empirical).toMatchObject({ thresholds: empirical.rule.thresholds, autoFinalized: empirical.autoFinalized, reduction: empirical.reduction });
    expect(fit.price).toBeCloseTo(empirical.reduction - fit.reduction, 12);
    expect(fit.price).toBeGreaterThan(0);
    expect(empirical).toMatchObject({ method: 'empirical', confidence: null, guarantee: null, price: 0 });
  });

  it("orders the candidates on the search part alone: the test part's truth changes the verdicts, never the sequence", () => {
    const fit = fitPolicy(cases, { readerA: reader, maxFalseClear: bound });
    // Every test-part study where A and the model agree becomes a false clear of that label.
    const spoiled = cases.map((c) => {
      if (fitPart(c.key, 1, 0.3) === 'search') return c;
      const wrong = c.truth === 'lung-normal' ? 'lung-covid' : 'lung-normal';
      return { ...c, truth: wrong } as ScoredCase;
    });
    const other = fitPolicy(spoiled, { readerA: { read: (key: string) => reader.read(key, cases.find((c) => c.key === key)!.truth) }, maxFalseClear: bound });
    const g = fit.guarantee!;
    const h = other.guarantee!;
    expect(h.start).toBe(g.start);
    expect(h.candidates).toBe(g.candidates);
    expect(h.sequence[0]!.thresholds).toEqual(g.sequence[0]!.thresholds);
    expect(h.sequence[0]!.searchAutoFinalized).toBe(g.sequence[0]!.searchAutoFinalized);
    // …and the spoiled test part certifies nothing: the policy clears nothing.
    expect(h.chosen).toBeNull();
    expect(other.rule.thresholds).toEqual({});
    expect(other.classes.every((c) => c.status !== 'fitted')).toBe(true);
  });

  it('is deterministic, and another split seed is another split', () => {
    const a = fitPolicy(cases, { readerA: reader, maxFalseClear: bound, splitSeed: 5 });
    expect(fitPolicy([...cases].reverse(), { readerA: reader, maxFalseClear: bound, splitSeed: 5 })).toEqual(a);
    expect(a.guarantee!.searchStudies).not.toBe(fitPolicy(cases, { readerA: reader, maxFalseClear: bound }).guarantee!.searchStudies);
  });

  it('checks its options', () => {
    const o = { readerA: reader, maxFalseClear: bound };
    expect(() => fitPolicy(cases, { ...o, confidence: 1 })).toThrow(/confidence must be a number strictly between 0 and 1/);
    expect(() => fitPolicy(cases, { ...o, searchFraction: 0 })).toThrow(/searchFraction/);
    expect(() => fitPolicy(cases, { ...o, splitSeed: 1.5 })).toThrow(/splitSeed must be an integer/);
    expect(() => fitPolicy(cases, { ...o, method: 'bayes' as never })).toThrow(/fit method must be one of ltt, empirical/);
  });

  // The quick version of `npm run bench -- policy-bound`: 20 reruns, each a new validation split of 5000
  // studies, a new reader A and a new search/test split; each policy's true false-clear rate measured on a
  // 60 000-study population read by the same reader. 95% confidence promises at most 5% of fits above the bound.
  it('holds out of sample: over 20 reruns the true rate exceeds the bound in ≤ 2 fits (the empirical fit: in most)', () => {
    const runs = policyCoverage({ reruns: 20, valStudies: 5000, populationStudies: 60_000, maxFalseClear: bound, seed: 11 });
    const ltt = runs.filter((r) => r.method === 'ltt');
    const empirical = runs.filter((r) => r.method === 'empirical');
    expect(ltt).toHaveLength(20);
    expect(ltt.filter((r) => r.exceeds).length).toBeLessThanOrEqual(2);
    expect(empirical.filter((r) => r.exceeds).length).toBeGreaterThanOrEqual(10);
    // Not by clearing nothing: the guaranteed fits keep most of the reduction.
    const meanReduction = ltt.reduce((s, r) => s + r.trueReduction, 0) / ltt.length;
    expect(meanReduction).toBeGreaterThan(0.45);
    expect(ltt.filter((r) => r.trueReduction === 0).length).toBeLessThanOrEqual(3);
  });
});

describe('parseRecordedReads', () => {
  const sha = (c: string) => c.repeat(64);
  it('reads sha256,label lines (header, blank lines, quotes and upper-case hex allowed)', () => {
    const reads = parseRecordedReads(`sha256,label\n${sha('a')},lung-covid\n\n"${sha('B')}", "oct-dme"\r\n${sha('a')},lung-covid\n`);
    expect(reads.size).toBe(2);
    expect(reads.read(sha('a'))).toBe('lung-covid');
    expect(reads.read(sha('b'))).toBe('oct-dme');
    expect(reads.read(sha('c'))).toBeUndefined();
  });
  it('names the line of a bad read', () => {
    expect(() => parseRecordedReads(`${sha('a')},lung-cancer`)).toThrow(/line 1: unknown class 'lung-cancer'/);
    expect(() => parseRecordedReads(`sha256,label\nabc,lung-covid`)).toThrow(/line 2: 'abc' is not a sha256/);
    expect(() => parseRecordedReads(`${sha('a')},lung-covid,x`)).toThrow(/line 1: expected 'sha256,label', got 3 fields/);
    expect(() => parseRecordedReads(`${sha('a')},lung-covid\n${sha('a')},lung-normal`)).toThrow(
      /line 2: study a+ was already read as 'lung-covid', now 'lung-normal'/,
    );
    expect(() => parseRecordedReads('sha256,label\n')).toThrow(/no reads/);
  });
});
