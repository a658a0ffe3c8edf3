// The reference ONNX checker (python `onnx`, full_check = strict shape inference) accepts the models the
// engine writes: a ViT training graph (forward + every gradient) and a conv/pool training graph.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { PYTHON, pythonHas } from '../../../test/integration/helpers/peers.js';
import { gradients } from '../autodiff/gradients.js';
import { Graph } from '../graph.js';
import * as init from '../init.js';
import * as ops from '../ops/index.js';

const hasOnnx = pythonHas('onnx');
const dir = mkdtempSync(join(tmpdir(), 'engine-checker-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function check(g: Graph): string {
  const file = join(dir, `${g.name}.onnx`);
  writeFileSync(file, g.toModelProto());
  const r = spawnSync(
    PYTHON,
    ['-c', 'import onnx, sys; m = onnx.load(sys.argv[1]); onnx.checker.check_model(m, full_check=True); print(len(m.graph.node))', file],
    { encoding: 'utf8' },
  );
  expect(r.stderr).toBe('');
  return r.stdout.trim();
}

describe.skipIf(!hasOnnx)('python onnx checker', () => {
  it('accepts a transformer training graph (LayerNorm, attention, Gelu, smoothed cross-entropy + gradients)', () => {
    const g = new Graph('transformer', { mode: 'train' });
    const x = g.input('x', 'float32', ['batch', 5, 16]);
    const labels = g.input('labels', 'int64', ['batch']);
    const p = (name: string, shape: number[]) => g.param(name, shape, init.truncatedNormal(0.02));
    const h = ops.layerNorm(g, x, g.param('ln.w', [16], init.ones()), g.param('ln.b', [16], init.zeros()));
    const q = ops.reshape(g, ops.linear(g, h, p('q', [16, 16])), ['batch', 5, 2, 8]);
    const qt = ops.transpose(g, q, [0, 2, 1, 3]);
    const att = ops.softmax(g, ops.matmul(g, qt, ops.transpose(g, qt, [0, 1, 3, 2])));
    const y = ops.reshape(g, ops.transpose(g, ops.matmul(g, att, qt), [0, 2, 1, 3]), ['batch', 5, 16]);
    const z = ops.gelu(g, ops.linear(g, ops.add(g, x, y), p('fc', [16, 16]), p('fc.b', [16])));
    const logits = ops.linear(g, ops.reduceMean(g, z, [1]), p('head', [16, 3]));
    const loss = g.output(ops.softmaxCrossEntropy(g, logits, labels, { labelSmoothing: 0.1 }), 'loss');
    for (const [k, v] of gradients(
      g,
      loss,
      g.params().map((q2) => g.tensor(q2.name)),
    ))
      g.output(v, `grad.${k}`);
    expect(Number(check(g))).toBeGreaterThan(50);
  });

  it('accepts a conv/batch-norm/pool training graph', () => {
    const g = new Graph('convnet', { mode: 'train' });
    const x = g.input('x', 'float32', ['batch', 3, 16, 16]);
    const w = g.param('w', [8, 3, 3, 3], init.kaimingNormal());
    const bn = {
      scale: g.param('s', [8], init.ones()),
      bias: g.param('b', [8], init.zeros()),
      runningMean: g.buffer('rm', [8], init.zeros()),
      runningVar: g.buffer('rv', [8], init.ones()),
    };
    const y = ops.maxPool2d(g, ops.relu(g, ops.batchNorm(g, ops.conv2d(g, x, w, undefined, { stride: 2, padding: 1 }), bn)), { kernel: 2 });
    const w2 = g.param('w2', [8, 2, 3, 3], init.kaimingNormal());
    const loss = g.output(ops.reduceMean(g, ops.avgPool2d(g, ops.conv2d(g, y, w2, undefined, { groups: 4, padding: 1 }), { kernel: 2 })), 'loss');
    for (const [k, v] of gradients(
      g,
      loss,
      g.params().map((q) => g.tensor(q.name)),
    ))
      g.output(v, `grad.${k}`);
    expect(Number(check(g))).toBeGreaterThan(20);
  });
});
