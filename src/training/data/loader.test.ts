import { describe, expect, it } from 'vitest';

import { DEFAULT_AUGMENT } from './augment.js';
import { type BatchRequest, prepareBatch } from './batch.js';
import { createBatchLoader } from './loader.js';

const S = 16;
const set = {
  images: Uint8Array.from({ length: 10 * S * S }, (_, i) => (i * 37) % 251),
  labels: Uint8Array.from({ length: 10 }, (_, i) => i % 3),
  size: S,
  count: 10,
};
const req = (position: number, augment = true): BatchRequest => ({
  rows: [3, 1, 4, 1],
  augment: augment ? DEFAULT_AUGMENT : null,
  norm: { mean: 0.4, std: 0.2 },
  seed: 9,
  epoch: 2,
  position,
});

describe('batch loader', () => {
  it('builds the same bytes on a worker thread as on the calling thread', async () => {
    const loader = createBatchLoader(set, { workers: 1 });
    try {
      const [a, b] = await Promise.all([loader.request(req(0)), loader.request(req(4))]);
      const local = prepareBatch(set, req(0));
      expect(Buffer.from(a.images.buffer).equals(Buffer.from(local.images.buffer))).toBe(true);
      expect(Array.from(a.labels)).toEqual([0n, 1n, 1n, 1n]);
      expect(Buffer.from(b.images.buffer).equals(Buffer.from(a.images.buffer))).toBe(false); // other positions, other draws
    } finally {
      await loader.close();
    }
  });

  it('augments the same row differently at different positions, and not at all for evaluation', () => {
    const b = prepareBatch(set, req(0));
    const px = S * S;
    // rows[1] and rows[3] are both image 1, at positions 1 and 3
    const image = (k: number) => Array.from(b.images.subarray(k * px, (k + 1) * px));
    expect(image(1)).not.toEqual(image(3));
    const plain = prepareBatch(set, req(0, false));
    expect(plain.images[px]).toBeCloseTo((set.images[px] ?? 0) / 255 / 0.2 - 2, 5);
  });
});
