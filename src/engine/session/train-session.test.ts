import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import type { Graph } from '../graph.js';
import { truncatedNormal, zeros } from '../init.js';
import { linear, relu, softmaxCrossEntropy } from '../ops/index.js';
import { adamw } from '../optim/adamw.js';
import { warmupCosine } from '../optim/schedule.js';
import { EvalSession } from './eval-session.js';
import { fedDropout } from './fed-dropout.js';
import type { Batch } from './model.js';
import { TrainSession } from './train-session.js';

const dir = await mkdtemp(join(tmpdir(), 'train-session-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

/** A 2-layer MLP with (session-fed) dropout: small, but exercises every kind of state except buffers. */
function mlp(g: Graph) {
  const x = g.input('x', 'float32', ['batch', 6]);
  const h = g.scope('fc1', () => linear(g, x, g.param('weight', [6, 16], truncatedNormal(0.4)), g.param('bias', [16], zeros())));
  const d = fedDropout(g, relu(g, h), 0.25);
  const logits = g.scope('fc2', () => linear(g, d, g.param('weight', [16, 3], truncatedNormal(0.4)), g.param('bias', [3], zeros())));
  if (g.mode === 'eval') return { logits };
  return { logits, loss: softmaxCrossEntropy(g, logits, g.input('y', 'int64', ['batch'])) };
}

/** Batch k of a deterministic 3-class problem: the class is the sign pattern of two features. */
function batch(k: number, n = 12): Batch {
  const x = new Float32Array(n * 6);
  const y = new BigInt64Array(n);
  for (let i = 0; i < n; i++) {
    const c = (i + k) % 3;
    y[i] = BigInt(c);
    for (let j = 0; j < 6; j++) x[i * 6 + j] = Math.sin(13 * i + 7 * j + k) * 0.5 + (j === c ? 1.5 : 0);
  }
  return { x: { data: x, shape: [n, 6] }, y: { data: y, shape: [n] } };
}

const options = () => ({
  optimizer: adamw({ weightDecay: 0.05 }),
  lr: warmupCosine({ peakLr: 0.05, warmupSteps: 2, totalSteps: 20 }),
  clipGradNorm: 5,
  seed: 3,
});

function paramBytes(s: TrainSession): Buffer {
  return Buffer.concat([...s.stateTensors().values()].map((t) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)));
}

describe('TrainSession', () => {
  it('trains: the loss falls, lr follows the schedule, state and step advance', async () => {
    const s = await TrainSession.create(mlp, options());
    const first = await s.step(batch(0));
    expect(first.step).toBe(0);
    expect(first.lr).toBeCloseTo(0.025, 10);
    expect(first.logitsShape).toEqual([12, 3]);
    expect(first.gradNorm).toBeGreaterThan(0);
    let last = first;
    for (let k = 1; k < 20; k++) last = await s.step(batch(k));
    expect(s.steps).toBe(20);
    expect(last.loss).toBeLessThan(first.loss * 0.5);
    await s.release();
  });

  it('takes batches of another size (a last partial batch) in the same session', async () => {
    const s = await TrainSession.create(mlp, options());
    await s.step(batch(0, 12));
    const small = await s.step(batch(1, 5));
    expect(small.logitsShape).toEqual([5, 3]);
    expect(Number.isFinite(small.loss)).toBe(true);
    await s.release();
  });

  it('swaps two preallocated buffers per state tensor instead of allocating new ones', async () => {
    const s = await TrainSession.create(mlp, options());
    const seen = new Set<ArrayBufferLike>();
    for (let k = 0; k < 4; k++) {
      seen.add(s.stateTensors(['param']).get('fc1.weight')!.data.buffer);
      await s.step(batch(k));
    }
    expect(seen.size).toBe(2);
    await s.release();
  });

  it('resumes from a checkpoint bit-identically (parameters, Adam moments, step, dropout RNG)', async () => {
    const a = await TrainSession.create(mlp, options());
    for (let k = 0; k < 3; k++) await a.step(batch(k));
    const path = join(dir, 'ck.safetensors');
    await a.saveCheckpoint(path, { note: 'mlp' });
    const lossesA: number[] = [];
    for (let k = 3; k < 6; k++) lossesA.push((await a.step(batch(k))).loss);

    const b = await TrainSession.create(mlp, { ...options(), seed: 99 }); // different init and RNG seed: all must come from the file
    await b.restore(path);
    expect(b.steps).toBe(3);
    const lossesB: number[] = [];
    for (let k = 3; k < 6; k++) lossesB.push((await b.step(batch(k))).loss);
    expect(lossesB).toEqual(lossesA);
    expect(paramBytes(b).equals(paramBytes(a))).toBe(true);

    // Without the RNG state the dropout masks differ, so this check can fail.
    const c = await TrainSession.create(mlp, options());
    const ck = a.checkpoint();
    await c.restore({ ...ck, rng: 'f'.repeat(32) });
    const other = await c.step(batch(6));
    const same = await a.step(batch(6));
    expect(other.loss).not.toBe(same.loss);
    await Promise.all([a.release(), b.release(), c.release()]);
  });

  it('refuses checkpoints of another model or optimizer with a clear error', async () => {
    const s = await TrainSession.create(mlp, options());
    const ck = s.checkpoint();
    ck.tensors.delete('fc2.bias');
    await expect(s.restore(ck)).rejects.toThrow(/missing param 'fc2.bias'/);
    await expect(s.restore({ ...s.checkpoint(), optimizer: { name: 'sgd', config: {} } })).rejects.toThrow(/optimizer 'sgd'/);
    await s.release();
  });

  it('checks batches: names, dtypes and shapes', async () => {
    const s = await TrainSession.create(mlp, options());
    const ok = batch(0);
    await expect(s.step({ x: ok.x! })).rejects.toThrow(/missing batch input 'y'/);
    await expect(s.step({ ...ok, y: { data: new Int32Array(12), shape: [12] } })).rejects.toThrow(/BigInt64Array/);
    await expect(s.step({ ...ok, x: { data: new Float32Array(12 * 5), shape: [12, 5] } })).rejects.toThrow(/expects \[batch, 6\]/);
    await expect(s.step({ ...ok, y: { data: new BigInt64Array(11), shape: [11] } })).rejects.toThrow(/'batch' is 12/);
    await s.release();
  });

  it('fails clearly when CUDA is requested but not installed', async () => {
    await expect(TrainSession.create(mlp, { ...options(), execution: { provider: 'cuda' } })).rejects.toThrow(/'cuda' is not available/);
  });
});

describe('EvalSession', () => {
  it('evaluates the live weights of a TrainSession and the same weights from a checkpoint identically, without dropout', async () => {
    const t = await TrainSession.create(mlp, options());
    const live = await EvalSession.create(mlp, { state: () => t.stateTensors(['param', 'buffer']) });
    const before = await live.run({ x: batch(0).x! });
    expect(await live.run({ x: batch(0).x! })).toEqual(before); // deterministic: no dropout in eval mode
    await t.step(batch(0));
    const after = await live.run({ x: batch(0).x! });
    expect(after.logits).not.toEqual(before.logits);
    const fixed = await EvalSession.create(mlp, { state: t.checkpoint().tensors });
    expect((await fixed.run({ x: batch(0).x! })).logits).toEqual(after.logits);
    await Promise.all([t.release(), live.release(), fixed.release()]);
  });
});
