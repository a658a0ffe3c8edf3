// Whole-model proof: the engine's ViT (conv stem with BatchNorm + transformer) gives the same loss, logits,
// parameter gradients and BatchNorm running-stat updates as the same architecture in PyTorch autograd
// (bench/peers/vit_torch.py, float64), from the same weights and inputs. Tolerance: relative error ≤ 1e-4
// (per tensor, ‖ours − torch‖ / ‖torch‖; the engine runs in float32).
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';

import { decodeSafetensors, encodeSafetensors, gradients, Graph, serialize, type StoredTensor } from '../../../src/engine/index.js';
import { POOLS, vitClassifier, vitConfig } from '../../../src/models/vit.js';
import { PYTHON, pythonHas, relErr } from '../helpers/peers.js';

const hasTorch = pythonHas('torch', 'numpy');
const PEER = join(import.meta.dirname, '..', '..', '..', 'bench', 'peers', 'vit_torch.py');

const dir = await mkdtemp(join(tmpdir(), 'vit-vs-torch-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe.skipIf(!hasTorch)('ViT vs PyTorch autograd', () => {
  // The [CLS] head and the mean-pooled head (--pool mean), each against the peer's.
  it.each(POOLS)('same loss, logits, gradients and BatchNorm updates (relative error ≤ 1e-4), head reading %s', async (pool) => {
    // vit-tiny's structure (3 conv+BN+ReLU stem blocks, patch embedding, [CLS], 2 pre-LN blocks) without dropout.
    const cfg = vitConfig('vit-tiny', { dropout: 0, numClasses: 5, pool });
    const build = vitClassifier(cfg);
    const n = 6;

    // Training-mode graph with the parameter gradients as extra outputs.
    const g = new Graph('grad-check', { mode: 'train', seed: 11 });
    const { loss, logits } = build(g);
    const params = g.params().map((p) => g.tensor(p.name));
    const grads = gradients(g, loss!, params);
    const session = await ort.InferenceSession.create(
      serialize(g, { stateAsInputs: true, outputs: [loss!, logits], extraOutputs: [...grads.values(), ...g.bufferUpdates().map((u) => u.value)] }),
    );

    // Weights: the seeded init, with BatchNorm affine parameters and running stats moved off their defaults.
    const weights = new Map<string, StoredTensor>();
    for (const p of g.state()) {
      let data = p.values() as Float32Array;
      if (/\.bn\./.test(p.name)) data = data.map((v, i) => (p.name.endsWith('running_var') ? 1 + 0.1 * i : v + 0.05 * Math.sin(i + 1)));
      weights.set(p.name, { dtype: 'float32', shape: [...p.shape], data });
    }
    const images = new Float32Array(n * cfg.imageSize * cfg.imageSize).map((_, i) => Math.sin(i * 0.013) + 0.3 * Math.cos(i * 0.37));
    const labels = BigInt64Array.from({ length: n }, (_, i) => BigInt((i * 3) % cfg.numClasses));

    const feeds: Record<string, ort.Tensor> = {
      images: new ort.Tensor('float32', images, [n, 1, cfg.imageSize, cfg.imageSize]),
      labels: new ort.Tensor('int64', labels, [n]),
    };
    for (const [name, t] of weights) feeds[name] = new ort.Tensor('float32', t.data as Float32Array, t.shape);
    const ours = await session.run(feeds);
    await session.release();

    const paths = {
      config: join(dir, 'config.json'),
      weights: join(dir, 'weights.safetensors'),
      inputs: join(dir, 'inputs.safetensors'),
      out: join(dir, 'out.safetensors'),
    };
    await writeFile(paths.config, JSON.stringify(cfg));
    await writeFile(paths.weights, encodeSafetensors(weights));
    await writeFile(
      paths.inputs,
      encodeSafetensors(
        new Map<string, StoredTensor>([
          ['x', { dtype: 'float32', shape: [n, 1, cfg.imageSize, cfg.imageSize], data: images }],
          ['y', { dtype: 'int64', shape: [n], data: labels }],
        ]),
      ),
    );
    execFileSync(
      PYTHON,
      [PEER, 'grad', '--config', paths.config, '--weights', paths.weights, '--inputs', paths.inputs, '--out', paths.out, '--dtype', 'float64'],
      { stdio: 'pipe' },
    );
    const ref = decodeSafetensors(await readFile(paths.out)).tensors;

    const refLoss = Number(ref.get('loss')!.data[0]);
    const ourLoss = Number(ours[loss!.name]!.data[0]);
    expect(Math.abs(ourLoss - refLoss) / Math.abs(refLoss)).toBeLessThan(1e-4);
    expect(relErr(ours[logits.name]!.data as Float32Array, ref.get('logits')!.data as Float64Array)).toBeLessThan(1e-4);

    const errors: Record<string, number> = {};
    for (const p of params) {
      const r = ref.get(`grad/${p.name}`);
      expect(r, `PyTorch has no gradient for ${p.name}`).toBeDefined();
      expect(r!.shape).toEqual(p.shape);
      errors[p.name] = relErr(ours[grads.get(p.name)!.name]!.data as Float32Array, r!.data as Float64Array);
    }
    expect(Object.keys(errors)).toHaveLength(ref.size - 2 - g.buffers().length);
    const worst = Object.entries(errors).sort((a, b) => b[1] - a[1])[0]!;
    console.log(
      `ViT (${pool}) vs PyTorch: loss ${ourLoss} vs ${refLoss}; ${params.length} gradients, worst relative error ${worst[1].toExponential(2)} (${worst[0]})`,
    );
    for (const [name, e] of Object.entries(errors)) expect(e, name).toBeLessThan(1e-4);

    for (const u of g.bufferUpdates()) {
      expect(relErr(ours[u.value.name]!.data as Float32Array, ref.get(`buffer/${u.buffer}`)!.data as Float64Array), u.buffer).toBeLessThan(1e-4);
    }
  });
});
