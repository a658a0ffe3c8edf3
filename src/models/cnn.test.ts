import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';

import { adamw, EvalSession, exportInferenceModel, Graph, TrainSession, warmupCosine } from '../engine/index.js';
import { cnn, CNN_CONFIGS, cnnClassifier, cnnConfig } from './cnn.js';
import { classifier, isCnnConfig, MODEL_NAMES, modelConfig } from './index.js';
import { stripes } from './testing.js';

function paramCount(name: keyof typeof CNN_CONFIGS): number {
  const g = new Graph(name, { mode: 'eval' });
  cnnClassifier(cnnConfig(name))(g);
  return g.params().reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
}

describe('CNN configs', () => {
  it('have the documented sizes and names (cnn-small equals the PyTorch peer: 303 737 parameters)', () => {
    expect(paramCount('cnn-small')).toBe(303_737);
    expect(paramCount('cnn-tiny')).toBe(76_609);
    expect(MODEL_NAMES).toEqual(expect.arrayContaining(['vit-small', 'cnn-small', 'cnn-tiny']));
    expect(isCnnConfig(modelConfig('cnn-small'))).toBe(true);
    expect(isCnnConfig(modelConfig('vit-small'))).toBe(false);
  });

  it('validates overrides', () => {
    expect(cnnConfig('cnn-small', { numClasses: 2 }).numClasses).toBe(2);
    expect(() => cnnConfig('resnet-50')).toThrow(/unknown CNN config 'resnet-50'/);
    expect(() => cnnConfig('cnn-small', { imageSize: 60 })).toThrow(/imageSize 60 is not divisible by the product of the strides \(8\)/);
    expect(() => cnnConfig('cnn-small', { depths: [1, 1] })).toThrow(/widths, depths and strides must be non-empty and of equal length/);
    expect(() => cnnConfig('cnn-small', { widths: [32, 0, 64] })).toThrow(/positive integers/);
    expect(() => cnnConfig('cnn-small', { activation: 'tanh' as never })).toThrow(/activation must be one of relu, silu/);
  });
});

describe('CNN graph', () => {
  it('maps images to logits; train mode adds batch-norm updates and head dropout, eval mode neither', () => {
    const cfg = cnnConfig('cnn-small');
    const train = new Graph('t', { mode: 'train' });
    const { logits, loss } = classifier(cfg)(train);
    expect(logits.shape).toEqual(['batch', 9]);
    expect(loss?.shape).toEqual([]);
    // BatchNorms: stem 1, two per block, one per projection shortcut (3): 10, each with two running stats.
    expect(train.bufferUpdates()).toHaveLength(20);
    expect(train.inputs().filter((t) => t.name.startsWith('noise.'))).toHaveLength(1);

    const ev = new Graph('e', { mode: 'eval' });
    expect(classifier(cfg)(ev).loss).toBeUndefined();
    expect(ev.inputs().map((t) => t.name)).toEqual(['images']);
    expect(ev.nodes().filter((n) => n.opType === 'BatchNormalization')).toHaveLength(10);
    expect(ev.nodes().filter((n) => n.opType === 'GlobalAveragePool')).toHaveLength(1);
  });

  it('rejects images of the wrong size', () => {
    const g = new Graph('x');
    expect(() => cnn(g, g.input('im', 'float32', [1, 1, 48, 48]), cnnConfig('cnn-tiny'))).toThrow(/expects images \[B, 1, 32, 32\]/);
  });

  it('exports cnn-tiny to an ONNX model whose logits equal the eval graph, every BatchNorm folded (batch 1 and 4)', async () => {
    const cfg = cnnConfig('cnn-tiny', { activation: 'silu' });
    const build = cnnClassifier(cfg);
    const g = new Graph('w', { mode: 'eval', seed: 1 });
    build(g);
    // Running statistics off their defaults, so that folding them is visible.
    const weights = new Map(
      g.state().map((p) => [
        p.name,
        {
          dtype: p.dtype,
          shape: [...p.shape],
          data: (p.values() as Float32Array).map((v, i) => (p.name.endsWith('running_var') ? 0.5 + 0.1 * (i % 7) : v + 0.03 * Math.sin(i))),
        },
      ]),
    );
    const exp = exportInferenceModel(build, { weights, classNames: Array.from({ length: 9 }, (_, i) => `c${i}`) });
    expect(exp.foldedBatchNorms).toBe(10);
    const served = await ort.InferenceSession.create(exp.bytes);
    const ev = await EvalSession.create(build, { state: weights });
    for (const b of [1, 4]) {
      const images = new Float32Array(b * 32 * 32).map((_, i) => Math.cos(i * 0.11));
      const got = (await served.run({ images: new ort.Tensor('float32', images, [b, 1, 32, 32]) })).logits!.data as Float32Array;
      const want = (await ev.run({ images: { data: images, shape: [b, 1, 32, 32] } })).logits;
      expect(Math.max(...Array.from(got, (v, i) => Math.abs(v - want[i]!)))).toBeLessThan(1e-4);
    }
    await Promise.all([served.release(), ev.release()]);
  });
});

describe('cnn-tiny fit example', () => {
  // Fails if anything in forward, backward (conv, batch norm, pooling rules), the optimizer or the session's state
  // handling is broken: the loss must fall clearly and held-out accuracy must be far above chance.
  it('learns horizontal vs vertical stripes in 15 steps', async () => {
    const cfg = cnnConfig('cnn-tiny', { numClasses: 2 });
    const build = cnnClassifier(cfg);
    const steps = 15;
    const session = await TrainSession.create(build, {
      optimizer: adamw({ weightDecay: 0.05 }),
      lr: warmupCosine({ peakLr: 3e-3, warmupSteps: 3, totalSteps: steps }),
      clipGradNorm: 1,
      seed: 7,
    });
    const losses: number[] = [];
    for (let k = 0; k < steps; k++) losses.push((await session.step(stripes(16, 100 + k).batch)).loss);
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(losses[0]).toBeGreaterThan(0.5); // starts near ln 2
    expect(mean(losses.slice(-5))).toBeLessThan(0.2 * losses[0]!);

    const held = stripes(64, 999);
    const ev = await EvalSession.create(build, { state: () => session.stateTensors(['param', 'buffer']) });
    const { logits } = await ev.run({ images: held.batch.images! });
    const correct = held.labels.filter((c, i) => (logits[2 * i + 1]! > logits[2 * i]! ? 1 : 0) === c).length;
    expect(correct / held.labels.length).toBeGreaterThan(0.9);
    await Promise.all([session.release(), ev.release()]);
  });
});
