import { describe, expect, it } from 'vitest';

import { Rng } from '../../core/rng.js';
import { DETECTION_CLASSES, NO_FINDING } from '../classes.js';
import { iou } from '../detection/types.js';
import { renderCxrDetect } from './cxr-detect.js';
import { createRaster, placePoint, transform } from './raster.js';
import { READER_PANEL, readImage } from './readers.js';

describe('placePoint', () => {
  it('puts a source point where transform moves its pixels (rotation, scale, shift, resampling)', () => {
    const src = createRaster(80, 60);
    const [px, py] = [22, 41];
    src.data[py * 80 + px] = 1;
    const p = { angle: 0.07, scale: 1.04, shiftX: 3.5, shiftY: -2.25, fill: 0, width: 160, height: 120 };
    const out = transform(src, p);
    // The bright spot's intensity-weighted centre in the output.
    let [sx, sy, sw] = [0, 0, 0];
    for (let y = 0; y < 120; y++)
      for (let x = 0; x < 160; x++) [sx, sy, sw] = [sx + x * out.data[y * 160 + x]!, sy + y * out.data[y * 160 + x]!, sw + out.data[y * 160 + x]!];
    const [ex, ey] = placePoint(80, 60, p, px, py);
    expect(Math.abs(sx / sw - ex)).toBeLessThan(0.3);
    expect(Math.abs(sy / sw - ey)).toBeLessThan(0.3);
  });
});

describe('renderCxrDetect', () => {
  const task = (seed: number, normalFraction = 0) => ({ seed, width: 96, height: 96, normalFraction });

  it('is deterministic, boxes inside the image, every one of the 14 classes drawn over 80 images', () => {
    const a = renderCxrDetect(task(3));
    const b = renderCxrDetect(task(3));
    expect(Buffer.from(a.data).equals(Buffer.from(b.data))).toBe(true);
    expect(a.findings).toEqual(b.findings);
    const seen = new Set<number>();
    for (let s = 0; s < 80; s++) {
      for (const f of renderCxrDetect(task(s)).findings) {
        seen.add(f.classId);
        expect(f.x0).toBeGreaterThanOrEqual(0);
        expect(f.y0).toBeGreaterThanOrEqual(0);
        expect(f.x1).toBeLessThanOrEqual(96);
        expect(f.y1).toBeLessThanOrEqual(96);
        expect(f.x1 - f.x0).toBeGreaterThanOrEqual(2);
      }
    }
    expect([...seen].sort((x, y) => x - y)).toEqual(DETECTION_CLASSES.map((_, i) => i));
  });

  it('boxes hold what the findings changed: the same patient without findings differs mostly inside the boxes', () => {
    let inside = 0;
    let total = 0;
    let checked = 0;
    for (let s = 100; checked < 12; s++) {
      const sick = renderCxrDetect({ ...task(s), width: 128, height: 128 });
      const names = sick.findings.map((f) => DETECTION_CLASSES[f.classId]);
      // Cardiomegaly and aortic enlargement change the anatomy itself, hence every pixel's neighbours.
      if (sick.findings.length === 0 || names.includes('Cardiomegaly') || names.includes('Aortic enlargement')) continue;
      const well = renderCxrDetect({ ...task(s, 1), width: 128, height: 128 });
      checked += 1;
      for (let y = 0; y < 128; y++)
        for (let x = 0; x < 128; x++) {
          const d = Math.abs(sick.data[y * 128 + x]! - well.data[y * 128 + x]!);
          if (d < 8) continue; // grain-level differences through the non-linear display curve
          total += d;
          // A pixel within 2 px of a box (blur spreads an edge) counts as inside.
          if (sick.findings.some((f) => x + 0.5 >= f.x0 - 2 && x + 0.5 <= f.x1 + 2 && y + 0.5 >= f.y0 - 2 && y + 0.5 <= f.y1 + 2)) inside += d;
        }
    }
    expect(total).toBeGreaterThan(0);
    expect(inside / total).toBeGreaterThan(0.9);
  });
});

describe('simulated readers', () => {
  it('three distinct readers per image; each boxes or says No finding; misses, jitter and disagreement are real but bounded', () => {
    let truths = 0;
    let found = 0;
    let missedByOne = 0;
    const ious: number[] = [];
    for (let s = 0; s < 60; s++) {
      const p = renderCxrDetect({ seed: s, width: 96, height: 96, normalFraction: 0.2 });
      const rows = readImage({ imageId: `i${s}`, width: 96, height: 96, findings: p.findings }, 1, new Rng(s));
      const readers = [...new Set(rows.map((r) => r.radId))];
      expect(readers).toHaveLength(3);
      for (const r of readers) expect(READER_PANEL).toContain(r);
      for (const r of readers) {
        const mine = rows.filter((x) => x.radId === r);
        const nf = mine.filter((x) => x.className === NO_FINDING);
        // 'No finding' only alone, and without coordinates.
        expect(nf.length === 0 || mine.length === 1).toBe(true);
        for (const x of nf) expect([x.classId, x.xMin, x.yMax]).toEqual([14, null, null]);
      }
      for (const f of p.findings) {
        truths += 1;
        const hits = readers.filter((r) =>
          rows.some((x) => x.radId === r && x.classId === f.classId && iou(f, { classId: 0, x0: x.xMin!, y0: x.yMin!, x1: x.xMax!, y1: x.yMax! }) > 0.3),
        );
        if (hits.length > 0) found += 1;
        if (hits.length < 3) missedByOne += 1;
        for (const x of rows.filter((y) => y.classId === f.classId && y.xMin !== null))
          ious.push(iou(f, { classId: 0, x0: x.xMin!, y0: x.yMin!, x1: x.xMax!, y1: x.yMax! }));
      }
    }
    expect(found / truths).toBeGreaterThan(0.85);
    expect(missedByOne / truths).toBeGreaterThan(0.1);
    const sorted = ious.sort((a, b) => a - b);
    expect(sorted[Math.floor(sorted.length / 2)]!).toBeGreaterThan(0.6); // median reader box overlaps the truth well
    expect(sorted[Math.floor(sorted.length / 2)]!).toBeLessThan(0.98); // … but not exactly: readers jitter
  });
});
