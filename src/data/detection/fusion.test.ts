import { describe, expect, it } from 'vitest';

import { ValidationError } from '../../core/errors.js';
import { fuseReaders, FUSION_DEFAULTS } from './fusion.js';
import type { ReaderBox } from './types.js';

const rb = (reader: string, classId: number, x0: number, y0: number, x1: number, y1: number): ReaderBox => ({ reader, classId, x0, y0, x1, y1 });

describe('fuseReaders', () => {
  // Three readers; two agree on a nodule (IoU 0.68), the third boxed it far off; one reader alone saw an effusion.
  const boxes = [rb('R1', 8, 10, 10, 20, 20), rb('R2', 8, 12, 12, 22, 22), rb('R3', 8, 60, 60, 70, 70), rb('R2', 10, 100, 100, 140, 130)];

  it('wbf: mean corners of the cluster, score = share of readers; min_readers 1 keeps singletons', () => {
    const out = fuseReaders(boxes, 3, FUSION_DEFAULTS.wbf);
    expect(out).toEqual([
      { classId: 8, x0: 11, y0: 11, x1: 21, y1: 21, readers: ['R1', 'R2'], score: 2 / 3 },
      { classId: 8, x0: 60, y0: 60, x1: 70, y1: 70, readers: ['R3'], score: 1 / 3 },
      { classId: 10, x0: 100, y0: 100, x1: 140, y1: 130, readers: ['R2'], score: 1 / 3 },
    ]);
  });

  it('consensus of 2 of 3: only boxes two readers drew survive, as the corner-wise median', () => {
    const three = [...boxes, rb('R3', 8, 11, 13, 24, 20)]; // IoU 0.58 with the R1–R2 cluster
    expect(fuseReaders(three, 3, FUSION_DEFAULTS.consensus)).toEqual([{ classId: 8, x0: 11, y0: 12, x1: 22, y1: 20, readers: ['R1', 'R2', 'R3'], score: 1 }]);
  });

  it('does not fuse across classes, and a stricter IoU splits a loose pair', () => {
    const pair = [rb('R1', 1, 0, 0, 10, 10), rb('R2', 2, 0, 0, 10, 10)];
    expect(fuseReaders(pair, 3, FUSION_DEFAULTS.consensus)).toEqual([]);
    // IoU of these two is 64/136 = 0.47: one cluster at 0.4, two at 0.5.
    const loose = [rb('R1', 3, 0, 0, 10, 10), rb('R2', 3, 2, 2, 12, 12)];
    expect(fuseReaders(loose, 2, { method: 'wbf', iou: 0.4, minReaders: 1 })).toHaveLength(1);
    expect(fuseReaders(loose, 2, { method: 'wbf', iou: 0.5, minReaders: 1 })).toHaveLength(2);
  });

  it('a reader drawing two boxes in one cluster counts once toward min_readers; T is capped at N in the score', () => {
    const twice = [rb('R1', 4, 0, 0, 10, 10), rb('R1', 4, 1, 1, 11, 11)];
    expect(fuseReaders(twice, 3, FUSION_DEFAULTS.consensus)).toEqual([]);
    const [w] = fuseReaders([...twice, rb('R2', 4, 0, 0, 10, 10), rb('R3', 4, 0, 1, 10, 11)], 3, FUSION_DEFAULTS.wbf);
    expect(w!.score).toBe(1);
  });

  it('rejects a reader count below the readers seen and bad options', () => {
    expect(() => fuseReaders(boxes, 2, FUSION_DEFAULTS.wbf)).toThrow(ValidationError);
    expect(() => fuseReaders(boxes, 3, { method: 'wbf', iou: 1.5, minReaders: 1 })).toThrow(ValidationError);
    expect(() => fuseReaders(boxes, 3, { method: 'wbf', iou: 0.4, minReaders: 0 })).toThrow(ValidationError);
  });
});
