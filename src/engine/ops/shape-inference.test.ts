// Shape inference of every op family against the shapes ONNX Runtime actually produces: one graph per
// case set with a symbolic batch dim, every op output made a graph output, run once at batch 3.
import { describe, expect, it } from 'vitest';

import { type Dim, Graph, type TensorRef } from '../graph.js';
import * as init from '../init.js';
import { OrtRunner } from '../testing/ort.js';
import * as ops from './index.js';

const BATCH = 3;

/** Evaluates a dim at the run's batch size: 'batch' → 3, 'batch*16' → 48. */
function evalDim(d: Dim): number {
  if (typeof d === 'number') return d;
  return d.split('*').reduce((p, part) => p * (part === 'batch' ? BATCH : Number(part)), 1);
}

async function checkShapes(build: (g: Graph, x: TensorRef) => Record<string, TensorRef>, mode: 'train' | 'eval' = 'eval', opset?: number): Promise<void> {
  const g = new Graph('shapes', { mode, opset });
  const x = g.input('x', 'float32', ['batch', 4, 6, 6]);
  const outs = build(g, x);
  for (const [label, t] of Object.entries(outs)) g.output(t, `out.${label}`);
  const runner = await OrtRunner.create(g.toModelProto());
  const data = Float32Array.from({ length: BATCH * 144 }, (_, i) => Math.sin(i));
  const res = await runner.run({ x: { dtype: 'float32', dims: [BATCH, 4, 6, 6], data } });
  await runner.release();
  const mismatches: string[] = [];
  for (const [label, t] of Object.entries(outs)) {
    const actual = res[`out.${label}`]!;
    const inferred = t.shape.map(evalDim);
    if (inferred.join(',') !== actual.dims.join(',') || actual.dtype !== t.dtype) {
      mismatches.push(`${label}: inferred ${t.dtype}[${t.shape.join(', ')}], ORT ${actual.dtype}[${actual.dims.join(', ')}]`);
    }
  }
  expect(mismatches).toEqual([]);
}

describe('shape inference agrees with onnxruntime', () => {
  it('elementwise, activation and reduce ops', async () => {
    await checkShapes((g, x) => {
      const row = g.constant([1, 2, 3, 4, 5, 6], [6]);
      const pooled = ops.reduceMean(g, x, [2, 3]);
      return {
        add: ops.add(g, x, row),
        pow: ops.pow(g, x, 2),
        where: ops.where(g, ops.greater(g, x, 0), x, row),
        cast: ops.cast(g, ops.equal(g, x, row), 'float32'),
        erf: ops.erf(g, x),
        relu: ops.relu(g, x),
        gelu: ops.gelu(g, x),
        softmax: ops.softmax(g, x, 1),
        logsoftmax: ops.logSoftmax(g, x),
        dropout: ops.dropout(g, x, 0.2),
        sumAll: ops.reduceSum(g, x),
        sumKeep: ops.reduceSum(g, x, [1, -1], true),
        mean: pooled,
        max: ops.reduceMax(g, x, [0], true),
        argmax: ops.argMax(g, pooled, -1),
      };
    }, 'train');
  });

  it('matmul family', async () => {
    await checkShapes((g, x) => {
      const tokens = ops.reshape(g, x, ['batch', 4, 36]);
      const w = g.param('w', [36, 8], init.xavierUniform({ layout: 'in-out' }));
      const flat = ops.flatten(g, x);
      const q = ops.reshape(g, ops.linear(g, tokens, w), ['batch', 4, 2, 4]);
      return {
        linear3d: ops.linear(g, tokens, w),
        linear2d: ops.linear(g, flat, g.param('w2', [144, 5], init.zeros()), g.param('b2', [5], init.zeros())),
        attn: ops.matmul(g, q, ops.transpose(g, q, [0, 1, 3, 2])),
        vecmat: ops.matmul(g, g.constant(new Array<number>(36).fill(1), [36]), w),
        matvec: ops.matmul(g, tokens, g.constant(new Array<number>(36).fill(1), [36])),
        gemmT: ops.gemm(g, flat, g.param('w3', [7, 144], init.zeros()), undefined, { transB: true }),
        gemmTA: ops.gemm(g, g.param('a4', [144, 2], init.zeros()), g.param('b4', [144, 3], init.zeros()), g.param('c4', [3], init.zeros()), { transA: true }),
      };
    });
  });

  it('conv and pooling (groups, dilation, stride, asymmetric pads, output_padding)', async () => {
    await checkShapes((g, x) => {
      const w = (shape: number[], name: string): TensorRef => g.param(name, shape, init.kaimingNormal());
      return {
        conv: ops.conv2d(g, x, w([8, 4, 3, 3], 'c1'), g.param('c1b', [8], init.zeros()), { padding: 1 }),
        patch: ops.conv2d(g, x, w([5, 4, 2, 2], 'c2'), undefined, { stride: 2 }),
        grouped: ops.conv2d(g, x, w([6, 2, 3, 3], 'c3'), undefined, { groups: 2, dilation: 2, stride: [2, 1], padding: [1, 0, 2, 1] }),
        transposed: ops.convTranspose2d(g, x, w([4, 3, 3, 3], 'c4'), undefined, { stride: 2, padding: 1, outputPadding: 1 }),
        maxpool: ops.maxPool2d(g, x, { kernel: 3, stride: 2, padding: 1 }),
        avgpool: ops.avgPool2d(g, x, { kernel: 2 }),
        gap: ops.globalAvgPool(g, x),
      };
    });
  });

  it('normalization and loss', async () => {
    await checkShapes((g, x) => {
      const c = (name: string, v: number): TensorRef => g.param(name, [4], init.constant(v));
      const state = { scale: c('s', 1), bias: c('b', 0), runningMean: g.buffer('rm', [4], init.zeros()), runningVar: g.buffer('rv', [4], init.ones()) };
      const tokens = ops.reshape(g, x, ['batch', 4, 36]);
      const [lnY, lnMean, lnInv] = g.node(
        'LayerNormalization',
        [tokens, g.param('lns', [36], init.ones()), g.param('lnb', [36], init.zeros())],
        { epsilon: 1e-5 },
        3,
      );
      const logits = ops.reduceMean(g, x, [2, 3]);
      const labels = ops.argMax(g, logits, 1);
      return {
        bnTrain: ops.batchNorm(g, x, state),
        ln: lnY!,
        lnMean: lnMean!,
        lnInv: lnInv!,
        ce: ops.softmaxCrossEntropy(g, logits, labels),
        ceNone: ops.softmaxCrossEntropy(g, logits, labels, { reduction: 'none' }),
        ceSmooth: ops.softmaxCrossEntropy(g, logits, labels, { labelSmoothing: 0.1 }),
      };
    }, 'train');
    await checkShapes((g, x) => {
      const c = (name: string, v: number): TensorRef => g.param(name, [4], init.constant(v));
      return { bnEval: ops.batchNorm(g, x, { scale: c('s', 1), bias: c('b', 0), runningMean: c('m', 0), runningVar: c('v', 1) }) };
    }, 'eval');
  });

  it('shape ops (opset 17 and 18)', async () => {
    for (const opset of [17, 18]) {
      await checkShapes(
        (g, x) => {
          const parts = ops.split(g, x, [1, 3], 1);
          const idx = g.constant([0, 2, 2, 1], [2, 2], 'int64');
          return {
            reshape0: g.op('Reshape', [x, g.ints([0, -1, 6])]),
            flatten2: ops.flatten(g, x, 2),
            transpose: ops.transpose(g, x, [0, 2, 3, 1]),
            concat: ops.concat(g, [x, parts[0]!], 1),
            split1: parts[1]!,
            slice: ops.slice(g, x, { starts: [1, -5], ends: [3, 100], axes: [1, 3] }),
            sliceStep: ops.slice(g, x, { starts: [5, 0], ends: [-100, 6], axes: [2, 3], steps: [-2, 3] }),
            gatherScalar: ops.gather(g, x, 1, 1),
            gatherMatrix: ops.gather(g, x, idx, 2),
            gatherElements: g.op('GatherElements', [x, g.constant(new Array<number>(BATCH * 4 * 6 * 2).fill(1), [BATCH, 4, 6, 2], 'int64')], { axis: 3 }),
            expand: ops.expand(g, ops.reduceSum(g, x, [0], true), [2, 4, 6, 6]),
            unsqueeze: ops.unsqueeze(g, x, [0, -1]),
            squeeze: ops.squeeze(g, ops.reduceSum(g, x, [1], true), [1]),
            shape: ops.shapeOf(g, x),
            size: g.op('Size', [x]),
            constOfShape: g.op('ConstantOfShape', [ops.shapeOf(g, x)]),
            pad: g.op('Pad', [x, g.ints([0, 1, 0, 2, 0, 0, 3, 0])]),
            tile: g.op('Tile', [x, g.ints([1, 2, 1, 3])]),
            range: g.op('Range', [g.constant([0], [], 'int64'), g.constant([7], [], 'int64'), g.constant([2], [], 'int64')]),
            rangeOfBatch: g.op('Range', [g.constant([0], [], 'int64'), ops.gather(g, ops.shapeOf(g, x), 0), g.constant([1], [], 'int64')]),
            topkValues: ops.topK(g, x, 4).values,
            topkIndices: ops.topK(g, x, 2, 1).indices,
          };
        },
        'eval',
        opset,
      );
    }
  });
});
