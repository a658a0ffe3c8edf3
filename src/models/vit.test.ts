import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';

import { EvalSession, exportInferenceModel, Graph } from '../engine/index.js';
import { sequenceLength, vit, VIT_CONFIGS, vitClassifier, vitConfig } from './vit.js';

function paramCount(name: keyof typeof VIT_CONFIGS): number {
  const g = new Graph(name, { mode: 'eval' });
  vitClassifier(vitConfig(name))(g);
  return g.params().reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
}

describe('ViT configs', () => {
  it('have the documented sizes (vit-small equals the PyTorch peer: 1 988 329 parameters)', () => {
    expect(paramCount('vit-small')).toBe(1_988_329);
    const seed = paramCount('vit-seed');
    expect(seed).toBeGreaterThan(4.8e6);
    expect(seed).toBeLessThan(5.2e6);
    expect(sequenceLength(vitConfig('vit-small'))).toBe(65);
  });

  it('validates overrides', () => {
    expect(vitConfig('vit-tiny', { numClasses: 2 }).numClasses).toBe(2);
    expect(() => vitConfig('vit-huge')).toThrow(/unknown ViT config/);
    expect(() => vitConfig('vit-small', { heads: 5 })).toThrow(/not divisible by heads/);
    expect(() => vitConfig('vit-small', { imageSize: 60 })).toThrow(/imageSize 60/);
  });
});

describe('ViT graph', () => {
  it('maps images to logits; train mode adds batch-norm updates and dropout, eval mode neither', () => {
    const cfg = vitConfig('vit-tiny');
    const train = new Graph('t', { mode: 'train' });
    const { logits, loss } = vitClassifier(cfg)(train);
    expect(logits.shape).toEqual(['batch', 9]);
    expect(loss?.shape).toEqual([]);
    expect(train.bufferUpdates()).toHaveLength(6);
    expect(train.inputs().filter((t) => t.name.startsWith('noise.'))).toHaveLength(2 * cfg.depth);

    const ev = new Graph('e', { mode: 'eval' });
    expect(vitClassifier(cfg)(ev).loss).toBeUndefined();
    expect(ev.inputs().map((t) => t.name)).toEqual(['images']);
    expect(ev.nodes().map((n) => n.opType)).toContain('BatchNormalization');
  });

  it('pool mean: the head reads the mean of the patch tokens, so [CLS] no longer decides the logits', async () => {
    const logitsOf = async (pool: 'cls' | 'mean', clsShift: number) => {
      // No transformer blocks: the tokens reach the head unmixed, so what the head reads is visible exactly.
      const cfg = vitConfig('vit-tiny', { dropout: 0, depth: 0, pool });
      const build = vitClassifier(cfg);
      const g = new Graph('p', { mode: 'eval', seed: 3 });
      build(g);
      const state = new Map(
        g.state().map((p) => [
          p.name,
          {
            dtype: p.dtype,
            shape: [...p.shape],
            data: (p.values() as Float32Array).map((v, i) => (p.name === 'cls_token' ? v + clsShift * Math.sin(i + 1) : v)),
          },
        ]),
      );
      const ev = await EvalSession.create(build, { state });
      const images = new Float32Array(2 * 32 * 32).map((_, i) => Math.sin(i * 0.07));
      const out = (await ev.run({ images: { data: images, shape: [2, 1, 32, 32] } })).logits;
      await ev.release();
      return Array.from(out);
    };
    // (The shift varies along the token so that the final LayerNorm cannot cancel it.)
    const delta = (a: number[], b: number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
    const [cls0, cls1, mean0, mean1] = await Promise.all([logitsOf('cls', 0), logitsOf('cls', 5), logitsOf('mean', 0), logitsOf('mean', 5)]);
    expect(delta(cls0, cls1)).toBeGreaterThan(1e-2); // the [CLS] head follows the [CLS] token
    expect(delta(mean0, mean1)).toBe(0); // the mean head ignores it
    expect(delta(cls0, mean0)).toBeGreaterThan(1e-3);
    expect(() => vitConfig('vit-tiny', { pool: 'max' as never })).toThrow(/pool must be one of cls, mean/);
  });

  it('rejects images of the wrong size', () => {
    const g = new Graph('x');
    expect(() => vit(g, g.input('im', 'float32', [1, 1, 48, 48]), vitConfig('vit-tiny'))).toThrow(/expects images \[B, 1, 32, 32\]/);
  });

  it('exports vit-tiny to an ONNX model whose logits equal the eval graph (batch 1 and 4)', async () => {
    const cfg = vitConfig('vit-tiny');
    const build = vitClassifier(cfg);
    const g = new Graph('w', { mode: 'eval', seed: 1 });
    build(g);
    const weights = new Map(g.state().map((p) => [p.name, { dtype: p.dtype, shape: [...p.shape], data: p.values() }]));
    const exp = exportInferenceModel(build, { weights, classNames: Array.from({ length: 9 }, (_, i) => `c${i}`) });
    expect(exp.foldedBatchNorms).toBe(3);
    const served = await ort.InferenceSession.create(exp.bytes);
    const ev = await EvalSession.create(build, { state: weights });
    for (const b of [1, 4]) {
      const images = new Float32Array(b * 32 * 32).map((_, i) => Math.cos(i * 0.11));
      const got = (await served.run({ images: new ort.Tensor('float32', images, [b, 1, 32, 32]) })).logits!.data as Float32Array;
      const want = (await ev.run({ images: { data: images, shape: [b, 1, 32, 32] } })).logits;
      expect(Math.max(...Array.from(got, (v, i) => Math.abs(v - want[i]!)))).toBeLessThan(1e-5);
    }
    await Promise.all([served.release(), ev.release()]);
  });
});
