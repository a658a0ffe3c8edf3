// Whole-model proof: the engine's residual CNN (src/models/cnn.ts: stem, basic blocks with BatchNorm and
// projection shortcuts, global average pooling, Linear) gives the same loss, logits, parameter gradients and
// BatchNorm running-stat updates as the same architecture in PyTorch autograd (bench/peers/cnn_torch.py, float64),
// from the same weights and inputs. Tolerance: relative error ≤ 1e-4 per tensor (the engine runs in float32).
import { describe, expect, it } from 'vitest';

import { ACTIVATIONS, cnnClassifier, cnnConfig } from '../../../src/models/cnn.js';
import { pythonHas } from '../helpers/peers.js';
import { gradParity, worst } from '../helpers/torch-grad.js';

const hasTorch = pythonHas('torch', 'numpy');

describe.skipIf(!hasTorch)('CNN vs PyTorch autograd', () => {
  it.each(ACTIVATIONS)('same loss, logits, gradients and BatchNorm updates (relative error ≤ 1e-4), %s', async (activation) => {
    // cnn-tiny's structure with a second block in the last stage (an identity shortcut beside the projections),
    // no dropout (the peer's would draw other masks).
    const cfg = cnnConfig('cnn-tiny', { dropout: 0, numClasses: 5, depths: [1, 1, 2], activation });
    const r = await gradParity({ build: cnnClassifier(cfg), config: cfg, peer: 'cnn_torch.py', imageSize: cfg.imageSize, numClasses: 5, batch: 6, seed: 7 });

    expect(Math.abs(r.loss.ours - r.loss.torch) / Math.abs(r.loss.torch)).toBeLessThan(1e-4);
    expect(r.logits).toBeLessThan(1e-4);
    expect(r.missing).toEqual([]);
    // stem (conv + BN) 3, stage blocks 6 or 9 each (with a projection), head 2.
    expect(Object.keys(r.grads)).toHaveLength(3 + 9 + 9 + 9 + 6 + 2);
    expect(Object.keys(r.grads)).toHaveLength(r.peerGrads);
    const [name, err] = worst(r.grads);
    console.log(
      `CNN (${activation}) vs PyTorch: loss ${r.loss.ours} vs ${r.loss.torch}; ${r.peerGrads} gradients, worst relative error ${err.toExponential(2)} (${name})`,
    );
    for (const [p, e] of Object.entries(r.grads)) expect(e, p).toBeLessThan(1e-4);
    // Two buffers per BatchNorm: stem 1, blocks 2 each, projections 3.
    expect(Object.keys(r.buffers)).toHaveLength(2 * (1 + 2 * 4 + 3));
    for (const [b, e] of Object.entries(r.buffers)) expect(e, b).toBeLessThan(1e-4);
  });
});
