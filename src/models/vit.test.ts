import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { EvalSession, Graph, exportInferenceModel } from '../engine/index.js';
import { VIT_CONFIGS, sequenceLength, vit, vitClassifier, vitConfig } from './vit.js';

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
