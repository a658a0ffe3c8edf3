import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';

import type { StoredTensor } from '../checkpoint/safetensors.js';
import { Graph } from '../graph.js';
import { kaimingNormal, ones, zeros } from '../init.js';
import { decodeModel } from '../onnx/deserialize.js';
import { batchNorm, conv2d, dropout, flatten, relu } from '../ops/index.js';
import { EvalSession } from '../session/eval-session.js';
import { fedDropout } from '../session/fed-dropout.js';
import { EXPORT_METADATA, exportInferenceModel } from './inference.js';

/** Conv → BN → ReLU → dropout → Conv(+bias) over the whole map → logits [batch, 3]. */
function convNet(g: Graph) {
  const x = g.input('image', 'float32', ['batch', 2, 8, 8]);
  const bn = g.scope('bn', () => ({
    scale: g.param('weight', [4], ones()),
    bias: g.param('bias', [4], zeros()),
    runningMean: g.buffer('running_mean', [4], zeros()),
    runningVar: g.buffer('running_var', [4], ones()),
  }));
  const h = relu(g, batchNorm(g, conv2d(g, x, g.param('conv1.weight', [4, 2, 3, 3], kaimingNormal()), undefined, { padding: 1 }), bn));
  const d = dropout(g, fedDropout(g, h, 0.3), 0.2);
  const y = conv2d(g, d, g.param('conv2.weight', [3, 4, 8, 8], kaimingNormal()), g.param('conv2.bias', [3], zeros()));
  const logits = flatten(g, y, 1);
  return g.mode === 'eval' ? { logits } : { logits, loss: logits };
}

/** Non-trivial weights: every BN statistic and affine parameter away from its identity value. */
function trainedWeights(): Map<string, StoredTensor> {
  const g = new Graph('w', { mode: 'eval', seed: 5 });
  convNet(g);
  const out = new Map<string, StoredTensor>();
  for (const p of g.state()) {
    const data = Float32Array.from(p.values() as Float32Array, (v, i) =>
      p.name.startsWith('bn.') ? (p.name.endsWith('var') ? 0.5 + i * 0.3 : 0.2 * i - 0.3) : v,
    );
    out.set(p.name, { dtype: 'float32', shape: [...p.shape], data });
  }
  return out;
}

const image = new Float32Array(5 * 2 * 8 * 8).map((_, i) => Math.sin(i * 0.37) + 0.2);

describe('exportInferenceModel', () => {
  it('folds BatchNorm into the Conv, drops dropout, and gives the eval logits (max abs diff < 1e-5)', async () => {
    const weights = trainedWeights();
    const exported = exportInferenceModel(convNet, {
      weights,
      classNames: ['a', 'b', 'c'],
      preprocessing: { size: 8, channels: 2, mean: 0, std: 1 },
      model: { name: 'conv-net' },
    });
    expect(exported.foldedBatchNorms).toBe(1);
    const decoded = decodeModel(exported.bytes);
    const ops = decoded.nodes.map((n) => n.opType);
    expect(ops).not.toContain('BatchNormalization');
    expect(ops).not.toContain('Dropout');
    expect(ops.filter((o) => o === 'Conv')).toHaveLength(2);
    expect(decoded.inputs.map((i) => i.name)).toEqual(['image']);
    expect(decoded.outputs.map((o) => o.name)).toEqual(['logits']);
    expect(JSON.parse(decoded.metadata[EXPORT_METADATA.classes]!)).toEqual(['a', 'b', 'c']);
    expect(JSON.parse(decoded.metadata[EXPORT_METADATA.input]!)).toEqual([{ name: 'image', dtype: 'float32', shape: ['batch', 2, 8, 8] }]);
    expect(JSON.parse(decoded.metadata[EXPORT_METADATA.preprocessing]!)).toEqual({ size: 8, channels: 2, mean: 0, std: 1 });

    const served = await ort.InferenceSession.create(exported.bytes);
    const got = (await served.run({ image: new ort.Tensor('float32', image, [5, 2, 8, 8]) })).logits!.data as Float32Array;
    const ev = await EvalSession.create(convNet, { state: weights });
    const want = (await ev.run({ image: { data: image, shape: [5, 2, 8, 8] } })).logits;
    expect(got.length).toBe(15);
    const maxDiff = Math.max(...Array.from(got, (v, i) => Math.abs(v - want[i]!)));
    expect(maxDiff).toBeLessThan(1e-5);
    expect(Math.max(...Array.from(want, Math.abs))).toBeGreaterThan(0.1);
    await Promise.all([served.release(), ev.release()]);
  });

  it('keeps the BatchNorm when folding is off, with the same logits', async () => {
    const weights = trainedWeights();
    const a = exportInferenceModel(convNet, { weights, foldBatchNorm: false });
    expect(decodeModel(a.bytes).nodes.map((n) => n.opType)).toContain('BatchNormalization');
    const b = exportInferenceModel(convNet, { weights });
    const run = async (bytes: Uint8Array) => {
      const s = await ort.InferenceSession.create(bytes);
      const r = (await s.run({ image: new ort.Tensor('float32', image, [5, 2, 8, 8]) })).logits!.data as Float32Array;
      await s.release();
      return r;
    };
    const [ra, rb] = [await run(a.bytes), await run(b.bytes)];
    expect(Math.max(...Array.from(ra, (v, i) => Math.abs(v - rb[i]!)))).toBeLessThan(1e-5);
  });

  it('refuses incomplete or mismatched weights and wrong class counts', () => {
    const weights = trainedWeights();
    weights.delete('conv2.bias');
    expect(() => exportInferenceModel(convNet, { weights })).toThrow(/missing: conv2.bias/);
    expect(() => exportInferenceModel(convNet, { weights: trainedWeights(), classNames: ['a'] })).toThrow(/1 class names for 3 logits/);
  });
});
