// Whole-model gradient parity with a PyTorch peer (bench/peers/<model>_torch.py `grad`): the engine's training
// graph with the parameter gradients as extra outputs, run by ONNX Runtime on the seeded weights (BatchNorm affine
// parameters and running statistics moved off their defaults) and a deterministic batch; the peer runs the same
// weights and batch in PyTorch autograd (float64) and returns its loss, logits, gradients and BatchNorm buffers.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import ort from 'onnxruntime-node';

import { decodeSafetensors, encodeSafetensors, gradients, Graph, type ModelBuilder, serialize, type StoredTensor } from '../../../src/engine/index.js';
import { PYTHON, relErr } from './peers.js';

export const PEERS = join(import.meta.dirname, '..', '..', '..', 'bench', 'peers');

export interface GradParity {
  loss: { ours: number; torch: number };
  /** Relative error of the logits. */
  logits: number;
  /** Relative error of each parameter's gradient, by parameter name. */
  grads: Record<string, number>;
  /** Parameters the peer has a gradient for that the engine graph lacks (should be none). */
  missing: string[];
  /** Gradients the peer returned (to check that none of the peer's parameters was left out). */
  peerGrads: number;
  /** Relative error of each BatchNorm running-stat update, by buffer name. */
  buffers: Record<string, number>;
}

export interface GradParityInput {
  build: ModelBuilder;
  /** The model config as the peer reads it (JSON). */
  config: unknown;
  /** Peer script file name in bench/peers. */
  peer: string;
  imageSize: number;
  numClasses: number;
  batch: number;
  seed: number;
}

export async function gradParity(o: GradParityInput): Promise<GradParity> {
  const g = new Graph('grad-check', { mode: 'train', seed: o.seed });
  const { loss, logits } = o.build(g);
  const params = g.params().map((p) => g.tensor(p.name));
  const grads = gradients(g, loss!, params);
  const updates = g.bufferUpdates();
  const session = await ort.InferenceSession.create(
    serialize(g, { stateAsInputs: true, outputs: [loss!, logits], extraOutputs: [...grads.values(), ...updates.map((u) => u.value)] }),
  );

  const weights = new Map<string, StoredTensor>();
  for (const p of g.state()) {
    let data = p.values() as Float32Array;
    if (/(^|\.)bn\d*\./.test(p.name)) data = data.map((v, i) => (p.name.endsWith('running_var') ? 1 + 0.1 * i : v + 0.05 * Math.sin(i + 1)));
    weights.set(p.name, { dtype: 'float32', shape: [...p.shape], data });
  }
  const n = o.batch;
  const s = o.imageSize;
  const images = new Float32Array(n * s * s).map((_, i) => Math.sin(i * 0.013) + 0.3 * Math.cos(i * 0.37));
  const labels = BigInt64Array.from({ length: n }, (_, i) => BigInt((i * 3) % o.numClasses));
  const feeds: Record<string, ort.Tensor> = {
    images: new ort.Tensor('float32', images, [n, 1, s, s]),
    labels: new ort.Tensor('int64', labels, [n]),
  };
  for (const [name, t] of weights) feeds[name] = new ort.Tensor('float32', t.data as Float32Array, t.shape);
  const ours = await session.run(feeds);
  await session.release();

  const dir = await mkdtemp(join(tmpdir(), 'torch-grad-'));
  try {
    const paths = {
      config: join(dir, 'config.json'),
      weights: join(dir, 'w.safetensors'),
      inputs: join(dir, 'in.safetensors'),
      out: join(dir, 'out.safetensors'),
    };
    await writeFile(paths.config, JSON.stringify(o.config));
    await writeFile(paths.weights, encodeSafetensors(weights));
    const inputs = new Map<string, StoredTensor>([
      ['x', { dtype: 'float32', shape: [n, 1, s, s], data: images }],
      ['y', { dtype: 'int64', shape: [n], data: labels }],
    ]);
    await writeFile(paths.inputs, encodeSafetensors(inputs));
    const args = ['grad', '--config', paths.config, '--weights', paths.weights, '--inputs', paths.inputs, '--out', paths.out, '--dtype', 'float64'];
    execFileSync(PYTHON, [join(PEERS, o.peer), ...args], { stdio: 'pipe' });
    const ref = decodeSafetensors(await readFile(paths.out)).tensors;

    const result: GradParity = {
      loss: { ours: Number(ours[loss!.name]!.data[0]), torch: Number(ref.get('loss')!.data[0]) },
      logits: relErr(ours[logits.name]!.data as Float32Array, ref.get('logits')!.data as Float64Array),
      grads: {},
      missing: [],
      peerGrads: [...ref.keys()].filter((k) => k.startsWith('grad/')).length,
      buffers: {},
    };
    for (const p of params) {
      const r = ref.get(`grad/${p.name}`);
      if (!r || r.shape.join() !== p.shape.join()) result.missing.push(p.name);
      else result.grads[p.name] = relErr(ours[grads.get(p.name)!.name]!.data as Float32Array, r.data as Float64Array);
    }
    for (const u of updates) {
      const r = ref.get(`buffer/${u.buffer}`);
      result.buffers[u.buffer] = r ? relErr(ours[u.value.name]!.data as Float32Array, r.data as Float64Array) : Number.POSITIVE_INFINITY;
    }
    return result;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The worst entry of a name → error record. */
export function worst(errors: Record<string, number>): [string, number] {
  return Object.entries(errors).sort((a, b) => b[1] - a[1])[0] ?? ['-', 0];
}
