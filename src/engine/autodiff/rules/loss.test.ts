// Cross-entropy: finite-difference proofs of the SoftmaxCrossEntropyLoss rule (class weights, reductions,
// ignore_index, spatial scores) and of the label-smoothed composite, plus forward values against a direct
// implementation of PyTorch's cross_entropy(weight, label_smoothing) formula.
import { describe, expect, it } from 'vitest';

import { Graph } from '../../graph.js';
import * as ops from '../../ops/index.js';
import { assertGradients, type GradCheckSpec } from '../../testing/gradcheck.js';
import { OrtRunner } from '../../testing/ort.js';

const F64 = 1e-6;
const LABELS = [2, 0, 1, 2, 3];
const WEIGHTS = [0.5, 1, 2, 1.5];

const ce = (opts: { weights?: boolean; smoothing?: number; reduction?: 'mean' | 'sum' | 'none' }): GradCheckSpec => ({
  inputs: {
    x: { shape: [5, 4], low: -2, high: 2 },
    y: { shape: [5], dtype: 'int64', values: LABELS },
    ...(opts.weights ? { w: { shape: [4], values: WEIGHTS } } : {}),
  },
  build: (g, t) => ops.softmaxCrossEntropy(g, t.x!, t.y!, { weights: t.w, labelSmoothing: opts.smoothing, reduction: opts.reduction }),
});

// Mixed targets: row i is λᵢ·onehot(aᵢ) + (1 − λᵢ)·onehot(bᵢ), rows summing to 1 (as mixup and cutmix build them).
const MIXED = [
  [0.7, 0, 0.3, 0],
  [0, 1, 0, 0],
  [0.25, 0, 0, 0.75],
  [0, 0.5, 0.5, 0],
  [0, 0, 0.1, 0.9],
];

const ONEHOT = LABELS.map((y) => [0, 1, 2, 3].map((k) => (k === y ? 1 : 0)));

const soft = (opts: { weights?: boolean; smoothing?: number; reduction?: 'mean' | 'sum' | 'none' }): GradCheckSpec => ({
  inputs: {
    x: { shape: [5, 4], low: -2, high: 2 },
    t: { shape: [5, 4], values: MIXED.flat() },
    ...(opts.weights ? { w: { shape: [4], values: WEIGHTS } } : {}),
  },
  build: (g, t) => ops.softTargetCrossEntropy(g, t.x!, t.t!, { weights: t.w, labelSmoothing: opts.smoothing, reduction: opts.reduction }),
});

const cases: [string, GradCheckSpec, number][] = [
  [
    'SigmoidBinaryCrossEntropy (logits and soft targets both differentiated)',
    {
      inputs: { x: { shape: [3, 5], low: -6, high: 6, margin: 0.01 }, t: { shape: [3, 5], low: 0, high: 1 } },
      build: (g, t) => ops.sigmoidBinaryCrossEntropy(g, t.x!, t.t!),
    },
    F64,
  ],
  ['SoftmaxCrossEntropyLoss mean', ce({}), F64],
  ['SoftmaxCrossEntropyLoss sum', ce({ reduction: 'sum' }), F64],
  ['SoftmaxCrossEntropyLoss none', ce({ reduction: 'none' }), F64],
  ['SoftmaxCrossEntropyLoss class weights, mean', ce({ weights: true }), F64],
  ['SoftmaxCrossEntropyLoss class weights, none', ce({ weights: true, reduction: 'none' }), F64],
  [
    'SoftmaxCrossEntropyLoss ignore_index',
    {
      inputs: { x: { shape: [4, 3] }, y: { shape: [4], dtype: 'int64', values: [1, -100, 2, 0] } },
      build: (g, t) => g.node('SoftmaxCrossEntropyLoss', [t.x!, t.y!], { reduction: 'mean', ignore_index: -100 }, 2)[0]!,
    },
    F64,
  ],
  [
    'SoftmaxCrossEntropyLoss spatial scores [N, C, d]',
    {
      inputs: { x: { shape: [2, 3, 4] }, y: { shape: [2, 4], dtype: 'int64', values: [0, 1, 2, 1, 2, 2, 0, 1] } },
      build: (g, t) => ops.softmaxCrossEntropy(g, t.x!, t.y!),
    },
    F64,
  ],
  [
    'log_prob output used downstream too',
    {
      inputs: { x: { shape: [3, 4] }, y: { shape: [3], dtype: 'int64', values: [0, 3, 1] } },
      build: (g, t) => {
        const [loss, logp] = g.node('SoftmaxCrossEntropyLoss', [t.x!, t.y!], {}, 2);
        return [loss!, ops.mul(g, logp!, 0.3)];
      },
    },
    F64,
  ],
  ['label smoothing 0.1 (composite)', ce({ smoothing: 0.1 }), F64],
  ['label smoothing + class weights (composite)', ce({ smoothing: 0.2, weights: true }), F64],
  ['label smoothing, sum', ce({ smoothing: 0.1, reduction: 'sum' }), F64],
  ['soft targets (mixup), mean', soft({}), F64],
  ['soft targets + label smoothing + class weights', soft({ smoothing: 0.1, weights: true }), F64],
  ['soft targets + label smoothing, none', soft({ smoothing: 0.2, reduction: 'none' }), F64],
];

describe('loss gradient rules', () => {
  it.each(cases)('%s', async (name, spec, tol) => {
    await assertGradients(spec, tol, name);
  });

  it.each([
    [undefined, 0],
    [WEIGHTS, 0],
    [undefined, 0.1],
    [WEIGHTS, 0.2],
  ])('forward value matches PyTorch semantics (weights %j, smoothing %d)', async (weights, eps) => {
    const g = new Graph('ce');
    const x = g.input('x', 'float64', [5, 4]);
    const y = g.input('y', 'int64', [5]);
    const w = weights ? g.constant(Float64Array.from(weights), [4]) : undefined;
    const loss = g.output(ops.softmaxCrossEntropy(g, x, y, { weights: w, labelSmoothing: eps }));
    const xs = Array.from({ length: 20 }, (_, i) => Math.sin(i * 1.7) * 2);
    const out = await (
      await OrtRunner.create(g.toModelProto())
    ).run({
      x: { dtype: 'float64', dims: [5, 4], data: Float64Array.from(xs) },
      y: { dtype: 'int64', dims: [5], data: BigInt64Array.from(LABELS.map(BigInt)) },
    });
    const rows = [0, 1, 2, 3, 4].map((i) => xs.slice(i * 4, i * 4 + 4));
    expect((out[loss.name]!.data as Float64Array)[0]).toBeCloseTo(softReference(rows, ONEHOT, weights, eps), 12);
  });
});

/**
 * Σᵢ Σ_c w_c·((1−ε)·t_ic + ε/C)·(−log p_ic) / Σᵢ Σ_c w_c·t_ic, evaluated directly in float64: for one-hot rows
 * PyTorch's cross_entropy(weight, label_smoothing), whose mean divides by Σᵢ w_yᵢ.
 */
function softReference(x: number[][], targets: number[][], w: number[] | undefined, eps: number): number {
  const c = x[0]!.length;
  const wc = w ?? new Array<number>(c).fill(1);
  let total = 0;
  let denom = 0;
  x.forEach((row, i) => {
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
    row.forEach((v, k) => {
      const t = targets[i]![k]!;
      total += wc[k]! * ((1 - eps) * t + eps / c) * (lse - v);
      denom += wc[k]! * t;
    });
  });
  return total / denom;
}

describe('soft-target cross-entropy forward', () => {
  const xs = Array.from({ length: 20 }, (_, i) => Math.sin(i * 1.7) * 2);
  async function run(build: (g: Graph, x: ReturnType<Graph['input']>) => ReturnType<Graph['input']>): Promise<number> {
    const g = new Graph('soft');
    const x = g.input('x', 'float64', [5, 4]);
    const loss = g.output(build(g, x));
    const out = await (await OrtRunner.create(g.toModelProto())).run({ x: { dtype: 'float64', dims: [5, 4], data: Float64Array.from(xs) } });
    return (out[loss.name]!.data as Float64Array)[0]!;
  }

  it.each([
    [undefined, 0],
    [undefined, 0.1],
    [WEIGHTS, 0.2],
  ])('mixed targets: the formula above (weights %j, smoothing %d)', async (weights, eps) => {
    const loss = await run((g, x) =>
      ops.softTargetCrossEntropy(g, x, g.constant(Float64Array.from(MIXED.flat()), [5, 4]), {
        weights: weights ? g.constant(Float64Array.from(weights), [4]) : undefined,
        labelSmoothing: eps,
      }),
    );
    const rows = [0, 1, 2, 3, 4].map((i) => xs.slice(i * 4, i * 4 + 4));
    expect(loss).toBeCloseTo(softReference(rows, MIXED, weights, eps), 12);
  });

  it.each([
    [0, 1.877237478239349],
    [0.1, 1.9080755508564973],
  ])('equals torch.nn.functional.cross_entropy(x, probs, label_smoothing=%d) (torch 1.13, float64)', async (eps, torchLoss) => {
    const loss = await run((g, x) => ops.softTargetCrossEntropy(g, x, g.constant(Float64Array.from(MIXED.flat()), [5, 4]), { labelSmoothing: eps }));
    expect(loss).toBeCloseTo(torchLoss, 12);
  });

  it.each([
    [undefined, 0],
    [WEIGHTS, 0.1],
  ])('one-hot targets give the integer-label loss (weights %j, smoothing %d)', async (weights, eps) => {
    const w = (g: Graph) => (weights ? g.constant(Float64Array.from(weights), [4]) : undefined);
    const viaSoft = await run((g, x) =>
      ops.softTargetCrossEntropy(g, x, g.constant(Float64Array.from(ONEHOT.flat()), [5, 4]), { weights: w(g), labelSmoothing: eps }),
    );
    const viaLabels = await run((g, x) =>
      ops.softmaxCrossEntropy(g, x, g.constant(BigInt64Array.from(LABELS.map(BigInt)), [5], 'int64'), { weights: w(g), labelSmoothing: eps }),
    );
    expect(viaSoft).toBeCloseTo(viaLabels, 12);
  });

  it('refuses targets of another shape', () => {
    const g = new Graph('soft');
    expect(() => ops.softTargetCrossEntropy(g, g.input('x', 'float64', [5, 4]), g.input('t', 'float64', [5, 3]))).toThrow(
      /soft targets must be float64 \[N, 4\]/,
    );
  });
});

describe('SigmoidBinaryCrossEntropy forward', () => {
  it('equals −t·log σ(x) − (1 − t)·log(1 − σ(x)), also where e^x would overflow', async () => {
    const xs = [-800, -5, -0.3, 0, 0.7, 4, 800];
    const ts = [0, 0.2, 1, 0.5, 0, 0.9, 1];
    const g = new Graph('bce', { mode: 'eval' });
    const x = g.input('x', 'float64', [xs.length]);
    const t = g.input('t', 'float64', [xs.length]);
    const y = g.output(ops.sigmoidBinaryCrossEntropy(g, x, t), 'y');
    const runner = await OrtRunner.create(g.toModelProto());
    const out = await runner.run({
      x: { dtype: 'float64', dims: [xs.length], data: Float64Array.from(xs) },
      t: { dtype: 'float64', dims: [xs.length], data: Float64Array.from(ts) },
    });
    const got = out[y.name]!.data as Float64Array;
    xs.forEach((xv, i) => {
      const tv = ts[i]!;
      // log σ(x) = −log(1 + e^−x), log(1 − σ(x)) = −log(1 + e^x), each evaluated on its stable side
      const logSig = xv >= 0 ? -Math.log1p(Math.exp(-xv)) : xv - Math.log1p(Math.exp(xv));
      const log1mSig = xv >= 0 ? -xv - Math.log1p(Math.exp(-xv)) : -Math.log1p(Math.exp(xv));
      expect(got[i]).toBeCloseTo(-tv * logSig - (1 - tv) * log1mSig, 10);
    });
    await runner.release();
  });
});
