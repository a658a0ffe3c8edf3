import { describe, expect, it } from 'vitest';

import { matchCount, readerAgreement } from './agreement.js';
import type { ReaderBox } from './types.js';

const rb = (reader: string, classId: number, x0: number, y0: number, x1: number, y1: number): ReaderBox => ({ reader, classId, x0, y0, x1, y1 });
const R = ['R1', 'R2', 'R3'];

describe('readerAgreement', () => {
  it('pairwise F1 and Fleiss kappa, hand-computed', () => {
    const images = [
      // R1 and R2 agree, R3 saw nothing.
      { readers: R, boxes: [rb('R1', 0, 0, 0, 10, 10), rb('R2', 0, 1, 0, 11, 10)] },
      // All three drew it; R3 somewhere else.
      { readers: R, boxes: [rb('R1', 0, 0, 0, 10, 10), rb('R2', 0, 0, 1, 10, 11), rb('R3', 0, 50, 50, 60, 60)] },
      // Nobody drew anything.
      { readers: R, boxes: [] },
    ];
    const [aortic, atelectasis] = readerAgreement(images, 0.4);
    // Pairs drawing it: img1 (R1,R2) 1 match of 2 boxes, (R1,R3) 0/1, (R2,R3) 0/1; img2 (R1,R2) 1/2, (R1,R3) 0/2, (R2,R3) 0/2.
    expect(aortic!.pairF1).toBeCloseTo(4 / 10, 12);
    // Fleiss: P_i = 1/3, 1, 1 → P̄ = 7/9; p = 5/9 → Pe = 41/81; κ = (63 − 41) / 40.
    expect(aortic!.kappa).toBeCloseTo(22 / 40, 12);
    expect([aortic!.boxes, aortic!.images]).toEqual([5, 2]);
    expect(atelectasis).toMatchObject({ boxes: 0, images: 0, pairF1: null, kappa: null });
  });

  it('matches one-to-one, best IoU first', () => {
    const a = [rb('a', 0, 0, 0, 10, 10), rb('a', 0, 2, 0, 12, 10)];
    const b = [rb('b', 0, 1, 0, 11, 10)];
    expect(matchCount(a, b, 0.4)).toBe(1);
    expect(matchCount(a, [...b, rb('b', 0, 0, 0, 10, 10)], 0.4)).toBe(2);
    expect(matchCount(a, [rb('b', 0, 30, 30, 40, 40)], 0.4)).toBe(0);
  });
});
