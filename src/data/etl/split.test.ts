import { describe, expect, it } from 'vitest';

import { SECONDREAD_CLASSES, type SecondreadClass } from '../classes.js';
import { findLeaks } from '../validate/leakage.js';
import { assignSplits, type SplitInput } from './split.js';

const ratios = { train: 0.7, val: 0.2, test: 0.1, finalEvalFraction: 0.5 };
const sha = (s: string) => s.padStart(64, '0');

function cxr(n: number, cls: SecondreadClass): SplitInput[] {
  return Array.from({ length: n }, (_, i) => ({ sha256: sha(`${cls}-${i}`), class: cls, patientKey: null }));
}

function apply(items: SplitInput[], seed = 7) {
  const a = assignSplits(items, ratios, seed);
  return items.map((i) => ({ ...i, ...a.get(i.sha256)! }));
}

describe('assignSplits', () => {
  it('stratifies every class 7:2:1 within tolerance', () => {
    const items = SECONDREAD_CLASSES.flatMap((c, k) => cxr(300 + 40 * k, c));
    const out = apply(items);
    for (const c of SECONDREAD_CLASSES) {
      const mine = out.filter((i) => i.class === c);
      const share = (s: string) => mine.filter((i) => i.split === s).length / mine.length;
      expect(share('train')).toBeCloseTo(0.7, 2);
      expect(share('val')).toBeCloseTo(0.2, 2);
      expect(share('test')).toBeCloseTo(0.1, 2);
    }
  });

  it('flags half of val ∪ test as final_eval, never train', () => {
    const out = apply(SECONDREAD_CLASSES.flatMap((c) => cxr(400, c)));
    expect(out.some((i) => i.finalEval && i.split === 'train')).toBe(false);
    for (const s of ['val', 'test']) {
      const inSplit = out.filter((i) => i.split === s);
      expect(inSplit.filter((i) => i.finalEval).length / inSplit.length).toBeCloseTo(0.5, 1);
    }
    const heldOut = out.filter((i) => i.split !== 'train');
    expect(Math.abs(heldOut.filter((i) => i.finalEval).length / heldOut.length - 0.5)).toBeLessThan(0.02);
  });

  it('keeps every patient in exactly one split, across classes and sources', () => {
    // 200 OCT patients with 1–6 scans each, some with scans in two classes.
    const items: SplitInput[] = [];
    const octClasses: SecondreadClass[] = ['oct-cnv', 'oct-dme', 'oct-drusen', 'oct-normal'];
    for (let p = 0; p < 200; p++) {
      for (let k = 0; k < 1 + (p % 6); k++) {
        items.push({ sha256: sha(`p${p}-${k}`), class: octClasses[(p + (k === 5 ? 1 : 0)) % 4]!, patientKey: `kermany:${1000 + p}` });
      }
    }
    const out = apply(items);
    expect(findLeaks(out)).toEqual([]);
    const splitsOf = new Map<string, Set<string>>();
    for (const i of out) splitsOf.set(i.patientKey!, (splitsOf.get(i.patientKey!) ?? new Set()).add(i.split));
    expect([...splitsOf.values()].every((s) => s.size === 1)).toBe(true);
    // …and the grouped split is still roughly 7:2:1 by image count.
    const train = out.filter((i) => i.split === 'train').length / out.length;
    expect(train).toBeGreaterThan(0.6);
    expect(train).toBeLessThan(0.8);
  });

  it('is deterministic for a seed, different across seeds, and independent of input order', () => {
    const items = SECONDREAD_CLASSES.flatMap((c) => cxr(50, c));
    const a = apply(items, 1).map((i) => i.split + i.finalEval);
    expect(apply(items, 1).map((i) => i.split + i.finalEval)).toEqual(a);
    const reversed = apply([...items].reverse(), 1)
      .reverse()
      .map((i) => i.split + i.finalEval);
    expect(reversed).toEqual(a);
    expect(apply(items, 2).map((i) => i.split + i.finalEval)).not.toEqual(a);
  });
});
