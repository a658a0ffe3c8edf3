// The ViT's regularizers for small data: stochastic depth (a per-sample drop-path mask on each residual branch,
// rising linearly over depth), soft targets (mixup / cutmix) and the layer-wise learning-rate factors. Each is a
// train-time change only: the eval graph and the exported model are byte-identical with or without them.
import { describe, expect, it } from 'vitest';

import { exportInferenceModel, Graph, serialize } from '../engine/index.js';
import { dropPathRate, layerDecayFactor, vitClassifier, vitConfig } from './vit.js';

const CLASSES = Array.from({ length: 9 }, (_, i) => `c${i}`);

function evalBytes(build: ReturnType<typeof vitClassifier>): Uint8Array {
  const g = new Graph('e', { mode: 'eval', seed: 1 });
  const { logits, embedding } = build(g);
  g.output(logits, 'logits');
  if (embedding) g.output(embedding, 'embedding');
  return serialize(g);
}

function exported(build: ReturnType<typeof vitClassifier>): Uint8Array {
  const g = new Graph('w', { mode: 'eval', seed: 1 });
  build(g);
  const weights = new Map(g.state().map((p) => [p.name, { dtype: p.dtype, shape: [...p.shape], data: p.values() }]));
  return exportInferenceModel(build, { weights, classNames: CLASSES }).bytes;
}

describe('stochastic depth', () => {
  it('rates rise linearly from 0 (first block) to dropPath (last), as torch.linspace(0, p, depth)', () => {
    const cfg = vitConfig('vit-small', { dropPath: 0.1 });
    expect(Array.from({ length: 6 }, (_, i) => dropPathRate(cfg, i))).toEqual([0, 0.02, 0.04, 0.06000000000000001, 0.08, 0.1]);
    expect(dropPathRate(vitConfig('vit-small'), 5)).toBe(0);
    expect(() => vitConfig('vit-tiny', { dropPath: 1 })).toThrow(/dropPath must be in \[0, 1\)/);
  });

  it('adds one per-sample mask to each residual branch of every block with a rate > 0 in the train graph', () => {
    const cfg = vitConfig('vit-small', { dropout: 0, dropPath: 0.1 });
    const g = new Graph('t', { mode: 'train' });
    vitClassifier(cfg)(g);
    const noise = g.inputs().filter((t) => t.name.startsWith('noise.'));
    // Blocks 1..5 (block 0's rate is 0), two branches each.
    expect(noise).toHaveLength(2 * (cfg.depth - 1));
    for (const t of noise) {
      expect(t.name).toMatch(/^noise\.drop_path\.\d+$/);
      expect(t.shape).toEqual(['batch', 1, 1]);
    }
  });

  it('leaves the eval graph and the exported model byte-identical', () => {
    const plain = vitConfig('vit-tiny');
    const withDropPath = vitConfig('vit-tiny', { dropPath: 0.3 });
    expect(evalBytes(vitClassifier(withDropPath))).toEqual(evalBytes(vitClassifier(plain)));
    expect(exported(vitClassifier(withDropPath))).toEqual(exported(vitClassifier(plain)));
  });
});

describe('soft targets (mixup / cutmix)', () => {
  it('the train graph reads targets [batch, classes] instead of labels; eval and export are unchanged', () => {
    const cfg = vitConfig('vit-tiny');
    const soft = vitClassifier(cfg, { softTargets: true, labelSmoothing: 0.1, classWeights: Array(9).fill(1) });
    const g = new Graph('t', { mode: 'train' });
    expect(soft(g).loss?.shape).toEqual([]);
    const names = g.inputs().map((t) => t.name);
    expect(names).toContain('targets');
    expect(names).not.toContain('labels');
    expect(g.tensor('targets').shape).toEqual(['batch', 9]);
    expect(evalBytes(soft)).toEqual(evalBytes(vitClassifier(cfg)));
    expect(exported(soft)).toEqual(exported(vitClassifier(cfg)));
  });
});

describe('layer-wise learning-rate decay', () => {
  it('gives the stem and embeddings decay^(depth + 1), block i decay^(depth − i), the norm and head 1', () => {
    const cfg = vitConfig('vit-tiny'); // depth 2
    const f = layerDecayFactor(cfg, 0.5);
    const g = new Graph('t', { mode: 'eval' });
    vitClassifier(cfg)(g);
    const byName = Object.fromEntries(g.params().map((p) => [p.name, f(p.name)]));
    expect(byName).toMatchObject({
      'stem.0.conv.weight': 0.125,
      'stem.2.bn.bias': 0.125,
      'patch.weight': 0.125,
      cls_token: 0.125,
      pos_embed: 0.125,
      'blocks.0.attn.qkv.weight': 0.25,
      'blocks.0.ln1.weight': 0.25,
      'blocks.1.mlp.fc2.bias': 0.5,
      'norm.weight': 1,
      'head.weight': 1,
      'head.bias': 1,
    });
    expect(new Set(Object.values(byName))).toEqual(new Set([0.125, 0.25, 0.5, 1]));
    expect(layerDecayFactor(cfg, 1)('stem.0.conv.weight')).toBe(1);
    expect(() => layerDecayFactor(cfg, 0)).toThrow(/layer decay must be in \(0, 1\]/);
  });
});
