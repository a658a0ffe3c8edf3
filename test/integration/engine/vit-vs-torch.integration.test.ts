// Whole-model proof: the engine's ViT (conv stem with BatchNorm + transformer) gives the same loss, logits,
// parameter gradients and BatchNorm running-stat updates as the same architecture in PyTorch autograd
// (bench/peers/vit_torch.py, float64), from the same weights and inputs. Tolerance: relative error ≤ 1e-4
// (per tensor, ‖ours − torch‖ / ‖torch‖; the engine runs in float32).
import { describe, expect, it } from 'vitest';

import { POOLS, vitClassifier, vitConfig } from '../../../src/models/vit.js';
import { pythonHas } from '../helpers/peers.js';
import { gradParity, worst } from '../helpers/torch-grad.js';

const hasTorch = pythonHas('torch', 'numpy');

describe.skipIf(!hasTorch)('ViT vs PyTorch autograd', () => {
  // The [CLS] head and the mean-pooled head (--pool mean), each against the peer's.
  it.each(POOLS)('same loss, logits, gradients and BatchNorm updates (relative error ≤ 1e-4), head reading %s', async (pool) => {
    // vit-tiny's structure (3 conv+BN+ReLU stem blocks, patch embedding, [CLS], 2 pre-LN blocks) without dropout.
    const cfg = vitConfig('vit-tiny', { dropout: 0, numClasses: 5, pool });
    const r = await gradParity({ build: vitClassifier(cfg), config: cfg, peer: 'vit_torch.py', imageSize: cfg.imageSize, numClasses: 5, batch: 6, seed: 11 });

    expect(Math.abs(r.loss.ours - r.loss.torch) / Math.abs(r.loss.torch)).toBeLessThan(1e-4);
    expect(r.logits).toBeLessThan(1e-4);
    expect(r.missing).toEqual([]);
    expect(Object.keys(r.grads)).toHaveLength(r.peerGrads);
    const [name, err] = worst(r.grads);
    console.log(
      `ViT (${pool}) vs PyTorch: loss ${r.loss.ours} vs ${r.loss.torch}; ${r.peerGrads} gradients, worst relative error ${err.toExponential(2)} (${name})`,
    );
    for (const [p, e] of Object.entries(r.grads)) expect(e, p).toBeLessThan(1e-4);
    expect(Object.keys(r.buffers)).toHaveLength(6);
    for (const [b, e] of Object.entries(r.buffers)) expect(e, b).toBeLessThan(1e-4);
  });
});
