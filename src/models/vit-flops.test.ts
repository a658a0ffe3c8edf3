// The engine's FLOP count of a ViT (what `npm run bench -- train-step` divides by) against the formula of its layers.
import { describe, expect, it } from 'vitest';

import { forwardFlops } from '../engine/index.js';
import { vitClassifier, vitConfig } from './vit.js';

describe('forwardFlops', () => {
  it('of a ViT equals the sum of its layers: stem, patch embedding, attention, MLP, head', () => {
    const cfg = vitConfig('vit-small');
    const T = (cfg.imageSize / (4 * cfg.patchSize)) ** 2 + 1; // tokens + [CLS]
    const D = cfg.dim;
    let side = cfg.imageSize;
    let cin = 1;
    let stem = 0;
    for (const [i, s] of cfg.stemStrides.entries()) {
      side /= s;
      const cout = cfg.stemChannels[i] as number;
      stem += 2 * side * side * cout * cin * 9;
      cin = cout;
    }
    const patch = 2 * (T - 1) * D * (cin * cfg.patchSize ** 2);
    const block = 2 * T * D * 3 * D + 2 * 2 * T * T * D + 2 * T * D * D + 2 * 2 * T * D * cfg.mlpDim;
    const head = 2 * D * cfg.numClasses;
    expect(forwardFlops(vitClassifier(cfg)).total).toBe(stem + patch + cfg.depth * block + head);
    expect(forwardFlops(vitClassifier(cfg), 8).total).toBe(8 * (stem + patch + cfg.depth * block + head));
  });
});
