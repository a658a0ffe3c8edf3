import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { encodeSafetensors } from './safetensors.js';

const dir = await mkdtemp(join(tmpdir(), 'ckpt-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('checkpoint files', () => {
  it('round-trip tensors, step, rng, optimizer and config and leave no temp files behind', async () => {
    const path = join(dir, 'a', 'step-3.safetensors');
    await saveCheckpoint(path, {
      tensors: new Map([['w', { dtype: 'float32', shape: [2], data: new Float32Array([0.1, -2]) }]]),
      step: 3,
      rng: 'ab'.repeat(16),
      optimizer: { name: 'adamw', config: { beta1: 0.9 } },
      config: { model: 'vit-tiny', classes: ['a', 'b'] },
    });
    const ck = await loadCheckpoint(path);
    expect(ck.step).toBe(3);
    expect(ck.rng).toBe('ab'.repeat(16));
    expect(ck.optimizer).toEqual({ name: 'adamw', config: { beta1: 0.9 } });
    expect(ck.config).toEqual({ model: 'vit-tiny', classes: ['a', 'b'] });
    expect(Array.from(ck.tensors.get('w')!.data as Float32Array)).toEqual([Math.fround(0.1), -2]);
    expect(await readdir(join(dir, 'a'))).toEqual(['step-3.safetensors']);
  });

  it('overwrites an existing checkpoint in place', async () => {
    const path = join(dir, 'b.safetensors');
    await saveCheckpoint(path, { tensors: new Map(), step: 1 });
    await saveCheckpoint(path, { tensors: new Map(), step: 2 });
    expect((await loadCheckpoint(path)).step).toBe(2);
  });

  it('refuses files that are not engine checkpoints, with a clear message', async () => {
    const plain = join(dir, 'plain.safetensors');
    await writeFile(plain, encodeSafetensors(new Map(), { step: '1' }));
    await expect(loadCheckpoint(plain)).rejects.toThrow(/not an engine checkpoint/);
    await expect(loadCheckpoint(join(dir, 'missing.safetensors'))).rejects.toThrow(/cannot read checkpoint .*ENOENT/);
  });
});
