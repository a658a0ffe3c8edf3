// The optimizer graphs, run in ONNX Runtime, against torch.optim (1.13) trajectories: w0 = [0.5, -1, 2], the
// gradient of step t fixed to [0.1·t, −0.2, 0.3·(−1)ᵗ], lr 0.1, weight decay 0.1, float64. The expected values
// were printed by torch.optim.AdamW / SGD (and clip_grad_norm_) with those inputs.
import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';

import { Graph } from '../graph.js';
import { fromValues } from '../init.js';
import { serialize } from '../onnx/serialize.js';
import { adamw } from './adamw.js';
import { clipScale, globalGradNorm } from './clip.js';
import type { Optimizer } from './optimizer.js';
import { sgd } from './sgd.js';

const W0 = [0.5, -1, 2];
const grad = (t: number): number[] => [0.1 * t, -0.2, 0.3 * (-1) ** t];

async function trajectory(opt: Optimizer, steps: number, clip?: number): Promise<{ w: number[][]; norms: number[] }> {
  const g = new Graph('opt', { mode: 'train' });
  const w = g.param('w', [3], fromValues(W0), { dtype: 'float64' });
  const gw = g.input('grad', 'float64', [3]);
  let scale;
  if (clip !== undefined) {
    const norm = globalGradNorm(g, [gw]);
    g.output(norm, 'norm');
    scale = clipScale(g, norm, clip);
  }
  const upd = opt.build(g, [{ param: w, grad: gw }], { gradScale: scale });
  g.output(upd.params.get('w')!, 'w.updated');
  for (const s of upd.state) g.output(s.updated, `${s.input.name}.updated`);
  const session = await ort.InferenceSession.create(serialize(g, { stateAsInputs: true }));
  const state = new Map<string, Float64Array>([['w', Float64Array.from(W0)]]);
  for (const s of upd.state) state.set(s.input.name, new Float64Array(3));
  const out = { w: [] as number[][], norms: [] as number[] };
  for (let step = 0; step < steps; step++) {
    const feeds: Record<string, ort.Tensor> = { grad: new ort.Tensor('float64', Float64Array.from(grad(step + 1)), [3]) };
    for (const [k, v] of state) feeds[k] = new ort.Tensor('float64', v, [3]);
    for (const [k, v] of Object.entries(opt.scalars(step, 0.1))) feeds[k] = new ort.Tensor('float64', Float64Array.of(v), []);
    const r = await session.run(feeds);
    for (const k of state.keys()) state.set(k, r[`${k}.updated`]!.data as Float64Array);
    out.w.push(Array.from(state.get('w')!));
    if (clip !== undefined) out.norms.push(Number(r.norm!.data[0]));
  }
  await session.release();
  return out;
}

function expectClose(got: number[][], want: number[][]): void {
  got.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(want[i]![j]!, 12)));
}

const all = () => true;

describe('optimizers match torch.optim', () => {
  it('AdamW (decoupled decay, bias correction)', async () => {
    const { w } = await trajectory(adamw({ weightDecay: 0.1, decay: all }), 3);
    expectClose(w, [
      [0.395000009999999, -0.8900000049999998, 2.079999996666667],
      [0.294531813421253, -0.7811000099500002, 2.053936838980702],
      [0.19578637731063, -0.6732890148505, 2.0669768052649418],
    ]);
  });

  it('SGD with momentum and coupled weight decay', async () => {
    const { w } = await trajectory(sgd({ momentum: 0.9, weightDecay: 0.1, decay: all }), 3);
    expectClose(w, [
      [0.485, -0.97, 2.01],
      [0.44665, -0.9133, 1.9688999999999999],
      [0.37766849999999996, -0.833137, 1.9422209999999998],
    ]);
  });

  it('SGD with Nesterov momentum', async () => {
    const { w } = await trajectory(sgd({ momentum: 0.9, nesterov: true, weightDecay: 0.1, decay: all }), 3);
    expectClose(w, [
      [0.4715, -0.943, 2.019],
      [0.41239149999999997, -0.862783, 1.931739],
      [0.31660191149999994, -0.762681823, 1.9186720590000002],
    ]);
  });

  it('global-norm clipping folded into AdamW (clip_grad_norm_ 0.25)', async () => {
    const { w, norms } = await trajectory(adamw({ weightDecay: 0.1, decay: all }), 3, 0.25);
    expectClose(w, [
      [0.3950000149666673, -0.8900000074833342, 2.0799999950111103],
      [0.2935439904106849, -0.7814699804891498, 2.0587873918227477],
      [0.19298174246135535, -0.6748499270687554, 2.070435052890037],
    ]);
    expect(norms[0]).toBeCloseTo(Math.hypot(0.1, 0.2, 0.3), 12);
  });

  it('skips weight decay for params the filter rejects (default: rank < 2)', async () => {
    const decayed = await trajectory(adamw({ weightDecay: 0.5, decay: all }), 1);
    const kept = await trajectory(adamw({ weightDecay: 0.5 }), 1);
    const plain = await trajectory(adamw({ weightDecay: 0 }), 1);
    expect(kept.w).toEqual(plain.w);
    expect(decayed.w[0]![2]).toBeLessThan(plain.w[0]![2]!);
  });

  it('parameter groups: a factor-½ parameter follows torch.optim.AdamW param_groups at lr·½, the other the full lr', async () => {
    // Two copies of w: 'head.w' at factor 1, 'stem.w' at ½ (as layer-wise LR decay assigns them), same gradients.
    const opt = adamw({ weightDecay: 0.1, decay: all, lrScale: (name) => (name.startsWith('stem') ? 0.5 : 1) });
    const g = new Graph('groups', { mode: 'train' });
    const gw = g.input('grad', 'float64', [3]);
    const params = ['head.w', 'stem.w'].map((n) => g.param(n, [3], fromValues(W0), { dtype: 'float64' }));
    const upd = opt.build(
      g,
      params.map((param) => ({ param, grad: gw })),
    );
    expect(upd.scalarInputs).toEqual([
      'adamw.inv_bias_correction2_sqrt',
      'adamw.decay_factor',
      'adamw.step_size',
      'adamw.decay_factor.lr_x0.5',
      'adamw.step_size.lr_x0.5',
    ]);
    for (const p of params) g.output(upd.params.get(p.name)!, `${p.name}.updated`);
    for (const s of upd.state) g.output(s.updated, `${s.input.name}.updated`);
    const session = await ort.InferenceSession.create(serialize(g, { stateAsInputs: true }));
    const state = new Map<string, Float64Array>(params.map((p) => [p.name, Float64Array.from(W0)]));
    for (const s of upd.state) state.set(s.input.name, new Float64Array(3));
    const got: Record<string, number[][]> = { 'head.w': [], 'stem.w': [] };
    for (let step = 0; step < 3; step++) {
      const feeds: Record<string, ort.Tensor> = { grad: new ort.Tensor('float64', Float64Array.from(grad(step + 1)), [3]) };
      for (const [k, v] of state) feeds[k] = new ort.Tensor('float64', v, [3]);
      for (const [k, v] of Object.entries(opt.scalars(step, 0.1))) feeds[k] = new ort.Tensor('float64', Float64Array.of(v), []);
      const r = await session.run(feeds);
      for (const k of state.keys()) state.set(k, r[`${k}.updated`]!.data as Float64Array);
      for (const p of params) got[p.name]!.push(Array.from(state.get(p.name)!));
    }
    await session.release();
    // torch.optim.AdamW([{'params': [a]}, {'params': [b], 'lr': 0.05}], lr=0.1, weight_decay=0.1), float64.
    expectClose(got['head.w']!, [
      [0.395000009999999, -0.8900000049999998, 2.079999996666667],
      [0.294531813421253, -0.7811000099500002, 2.053936838980702],
      [0.19578637731063, -0.6732890148505, 2.0669768052649418],
    ]);
    expectClose(got['stem.w']!, [
      [0.44750000499999953, -0.9450000024999998, 2.0399999983333332],
      [0.39700340673562656, -0.8902750049875001, 2.027168419482017],
      [0.3471183307137432, -0.8358236324625625, 2.0338222447216308],
    ]);
    expect(() => adamw({ lrScale: () => 0 }).build(new Graph('bad', { mode: 'train' }), [{ param: params[0]!, grad: gw }])).toThrow(
      /factor of head.w must be in \(0, 1\]/,
    );
  });

  it('rejects invalid hyper-parameters', () => {
    expect(() => adamw({ beta1: 1 })).toThrow(/beta1/);
    expect(() => sgd({ nesterov: true, momentum: 0 })).toThrow(/nesterov/);
  });
});
