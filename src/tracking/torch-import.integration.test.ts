// Done-when: a classifier produced by another tool (PyTorch 1.13's torch.onnx.export of a small CNN with
// RGB input and per-channel normalization, bench/peers/torch_cnn_classifier.py) is imported into the
// registry on PostgreSQL, loaded through loadForInference, and predicts what PyTorch computes for the
// same preprocessed input: logits and probabilities within 1e-4.
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { PYTHON, pythonHas } from '../../test/integration/helpers/peers.js';
import { grayPng, rgbJpeg } from '../data/images/testing.js';
import { ModelRegistry } from './registry.js';
import { openTrackingFixture, type TrackingFixture } from './testing.js';

const hasTorch = pythonHas('torch', 'numpy');
const PEER = join(import.meta.dirname, '..', '..', 'bench', 'peers', 'torch_cnn_classifier.py');
const CLASSES = ['lung-normal', 'lung-covid', 'lung-opacity', 'oct-normal', 'oct-drusen'];

let f: TrackingFixture;
beforeAll(async () => {
  if (hasTorch) f = await openTrackingFixture('postgres');
});
afterAll(async () => {
  await f?.close();
});

describe.skipIf(!hasTorch)('importing a torch.onnx.export classifier', () => {
  it('validates it, and predicts like PyTorch on the same preprocessed input (≤ 1e-4)', async () => {
    const files = { onnx: join(f.dir, 'cnn.onnx'), meta: join(f.dir, 'meta.json'), weights: join(f.dir, 'cnn.pt'), input: join(f.dir, 'input.f32') };
    execFileSync(
      PYTHON,
      [
        PEER,
        'export',
        '--out',
        files.onnx,
        '--meta',
        files.meta,
        '--weights',
        files.weights,
        '--classes',
        CLASSES.join(','),
        '--size',
        '48',
        '--temperature',
        '1.3',
      ],
      { stdio: 'pipe' },
    );
    const meta = JSON.parse(await readFile(files.meta, 'utf8')) as unknown;

    const registry = new ModelRegistry(f.t.db, f.objects, f.tracker);
    const mv = await registry.importOnnx({ name: 'torch-cnn', file: files.onnx, meta, by: 'integration-test' });
    expect(mv).toMatchObject({ name: 'torch-cnn', version: 1, source: 'import' });
    expect(mv.metadata.preprocessing).toMatchObject({ size: 48, channels: 3, mean: [0.485, 0.456, 0.406] });
    const card = await registry.modelCard('torch-cnn', 1);
    expect(card.model.framework).toMatch(/^pytorch 1\.13/);
    expect(card.model.producer).toMatch(/pytorch/);

    const model = await registry.loadForInference('torch-cnn', { version: 1 }, { cacheDir: join(f.dir, 'cache') });
    try {
      // A wide grayscale PNG (letterboxed) and an RGB JPEG (converted to gray): the two common inputs.
      const images = [await grayPng(96, 64, (x, y) => 30 + x + 1.5 * y + (x > 50 && y < 30 ? 80 : 0)), await rgbJpeg(50, 70, (x, y) => 200 - 2 * x - y)];
      const inputs = await Promise.all(images.map((img) => model.preprocess(img)));
      expect(inputs[0]!.length).toBe(3 * 48 * 48);
      const all = new Float32Array(inputs.length * inputs[0]!.length);
      inputs.forEach((x, i) => all.set(x, i * x.length));
      await writeFile(files.input, Buffer.from(all.buffer));
      const torch = JSON.parse(
        execFileSync(PYTHON, [PEER, 'predict', '--meta', files.meta, '--weights', files.weights, '--input', files.input], { encoding: 'utf8' }),
      ) as { logits: number[][]; probabilities: number[][] };

      const ours = await model.logits(all, images.length);
      const predictions = await model.predictBatch(images);
      let maxLogit = 0;
      let maxProb = 0;
      for (let n = 0; n < images.length; n++) {
        for (let c = 0; c < CLASSES.length; c++) {
          maxLogit = Math.max(maxLogit, Math.abs(ours[n * CLASSES.length + c]! - torch.logits[n]![c]!));
          const p = predictions[n]!.classes.find((x) => x.class === CLASSES[c])!.probability;
          maxProb = Math.max(maxProb, Math.abs(p - torch.probabilities[n]![c]!));
        }
        const torchTop = torch.probabilities[n]!.indexOf(Math.max(...torch.probabilities[n]!));
        expect(predictions[n]!.top.class).toBe(CLASSES[torchTop]);
      }
      expect(maxLogit).toBeLessThan(1e-4);
      expect(maxProb).toBeLessThan(1e-4);
      // The predictions are not degenerate (a constant model would pass the comparison trivially).
      expect(Math.max(...torch.probabilities[0]!) - Math.min(...torch.probabilities[0]!)).toBeGreaterThan(1e-3);
      expect(Math.abs(torch.logits[0]![0]! - torch.logits[1]![0]!)).toBeGreaterThan(1e-3);
      console.log(`torch import: max |Δlogit| ${maxLogit.toExponential(2)}, max |Δp| ${maxProb.toExponential(2)}`);
    } finally {
      await model.close();
    }
  });

  it('rejects the same file with a meta.json that does not match it', async () => {
    const files = { onnx: join(f.dir, 'cnn2.onnx'), meta: join(f.dir, 'meta2.json'), weights: join(f.dir, 'cnn2.pt') };
    execFileSync(PYTHON, [PEER, 'export', '--out', files.onnx, '--meta', files.meta, '--weights', files.weights, '--classes', 'a,b,c', '--size', '32'], {
      stdio: 'pipe',
    });
    const meta = JSON.parse(await readFile(files.meta, 'utf8')) as Record<string, unknown>;
    const registry = new ModelRegistry(f.t.db, f.objects, f.tracker);
    await expect(registry.importOnnx({ name: 'torch-bad', file: files.onnx, meta: { ...meta, classes: ['a', 'b'] }, by: 't' })).rejects.toThrow(
      /output 'logits' has 3 classes but the metadata lists 2/,
    );
    await expect(
      registry.importOnnx({
        name: 'torch-bad',
        file: files.onnx,
        meta: { ...meta, input: { name: 'input', shape: ['batch', 1, 32, 32] }, preprocessing: { size: 32, channels: 1 } },
        by: 't',
      }),
    ).rejects.toThrow(/is \[batch, 3, 32, 32\] but the metadata says \[batch, 1, 32, 32\]/);
  });
});
