// The task-aligned assigner on hand cases (32 px input: 16 anchors of stride 8 at pixel centres 4, 12, 20, 28,
// 4 of stride 16 at 8, 24, one of stride 32 at 16).
import { describe, expect, it } from 'vitest';

import { detectorConfig } from './detector.js';
import { assignImage, ciou, stackTargets, TAL_DEFAULTS } from './detector-assign.js';
import type { DecodedPredictions } from './detector-decode.js';

const cfg = detectorConfig('det-nano', { imageSize: 32, numClasses: 3 });
const A = 21;

/** Predictions: every anchor predicts `box` with class scores `score` (per anchor index overrides). */
function predictions(box: number[], score: number, overrides: Record<number, { box?: number[]; score?: number }> = {}): DecodedPredictions {
  const scores = new Float32Array(A * 3).fill(score);
  const boxes = new Float32Array(A * 4);
  for (let a = 0; a < A; a++) {
    boxes.set(overrides[a]?.box ?? box, 4 * a);
    if (overrides[a]?.score !== undefined) scores.fill(overrides[a]!.score!, 3 * a, 3 * a + 3);
  }
  return { scores, boxes };
}

const fgAnchors = (t: { fg: Float32Array }): number[] => Array.from(t.fg.keys()).filter((a) => t.fg[a] === 1);

describe('task-aligned assigner', () => {
  it('no objects: every anchor is background with zero scores and its own cell as a harmless box', () => {
    const t = assignImage(predictions([0, 0, 8, 8], 0.5), { boxes: [], labels: [] }, cfg);
    expect(fgAnchors(t)).toEqual([]);
    expect(t.scores.every((v) => v === 0)).toBe(true);
    expect(Array.from(t.boxes.slice(0, 4))).toEqual([0, 0, 1, 1]);
    expect(Array.from(t.boxes.slice(4 * 20))).toEqual([0, 0, 1, 1]); // the stride-32 cell, in its grid units
    expect(Array.from(t.object)).toEqual(new Array(A).fill(-1));
  });

  it('one object: its candidate anchors (centres strictly inside) become foreground, targets scaled to the best overlap', () => {
    // Box [0, 0, 16, 16] contains the stride-8 centres (4|12, 4|12) = anchors 0, 1, 4, 5 and the stride-16 centre (8, 8) =
    // anchor 16; the stride-32 centre (16, 16) lies on the edge, not inside.
    const gt = [0, 0, 16, 16];
    const perfect = { box: gt, score: 0.9 };
    const pred = predictions([0, 0, 10, 10], 0.5, { 5: perfect });
    const t = assignImage(pred, { boxes: gt, labels: [2] }, cfg);
    expect(fgAnchors(t)).toEqual([0, 1, 4, 5, 16]);
    // Anchor 5 predicts the box exactly with score 0.9: the largest alignment and overlap 1 → target score 1.
    expect(t.scores[5 * 3 + 2]).toBeCloseTo(1, 6);
    // Another anchor: t(a)·maxOverlap/maxAlign with t = s^0.5·o^6
    const o = ciou(gt, 0, [0, 0, 10, 10], 0);
    const expected = (0.5 ** 0.5 * o ** 6) / (0.9 ** 0.5 * 1 ** 6 + 1e-9);
    expect(t.scores[0 * 3 + 2]).toBeCloseTo(expected, 6);
    expect(t.scores[0 * 3 + 0]).toBe(0);
    // Targets in grid units of the anchor's level: stride 8 → [0, 0, 2, 2], stride 16 → [0, 0, 1, 1]
    expect(Array.from(t.boxes.slice(0, 4))).toEqual([0, 0, 2, 2]);
    expect(Array.from(t.boxes.slice(16 * 4, 17 * 4))).toEqual([0, 0, 1, 1]);
    expect(t.object[5]).toBe(0);
  });

  it('top-k: of 21 candidates only the k best aligned are kept', () => {
    // Box [0, 0, 32, 32] holds all 16 stride-8 centres, the 4 of stride 16 and the stride-32 centre: 21 candidates.
    const gt = [0, 0, 32, 32];
    const overrides: Record<number, { score: number }> = {};
    for (let a = 0; a < A; a++) overrides[a] = { score: 0.05 + a / 100 }; // higher index, higher score, equal boxes
    const t = assignImage(predictions([2, 2, 30, 30], 0, overrides), { boxes: gt, labels: [0] }, cfg, { ...TAL_DEFAULTS, topk: 10 });
    expect(fgAnchors(t)).toEqual([11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
  });

  it('an anchor claimed by two objects goes to the one its prediction overlaps most', () => {
    // Both boxes contain anchor 5 (centre 12, 12); its prediction matches the second box.
    const a = [0, 0, 16, 16];
    const b = [8, 8, 24, 24];
    const pred = predictions([0, 0, 16, 16], 0.5, { 5: { box: b } });
    const t = assignImage(pred, { boxes: [...a, ...b], labels: [0, 1] }, cfg);
    expect(t.object[5]).toBe(1);
    expect(t.scores[5 * 3 + 1]).toBeGreaterThan(0);
    expect(t.scores[5 * 3 + 0]).toBe(0);
    expect(t.object[0]).toBe(0); // (4, 4) is only in the first box
  });

  it('rejects labels outside the classes and mismatched box counts; stacks images in batch order', () => {
    expect(() => assignImage(predictions([0, 0, 8, 8], 0.5), { boxes: [0, 0, 8, 8], labels: [3] }, cfg)).toThrow(/not a class index/);
    expect(() => assignImage(predictions([0, 0, 8, 8], 0.5), { boxes: [0, 0, 8], labels: [0] }, cfg)).toThrow(/boxes/);
    const empty = assignImage(predictions([0, 0, 8, 8], 0.5), { boxes: [], labels: [] }, cfg);
    const one = assignImage(predictions([0, 0, 8, 8], 0.5), { boxes: [0, 0, 16, 16], labels: [1] }, cfg);
    const s = stackTargets([empty, one], cfg);
    expect(s.fg.length).toBe(2 * A);
    expect(Array.from(s.fg.slice(A))).toEqual(Array.from(one.fg));
    expect(Array.from(s.target_scores.slice(A * 3))).toEqual(Array.from(one.scores));
  });
});
