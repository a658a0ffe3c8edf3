// Serialization: the bytes decode back (onnx-proto) to the same nodes, attributes and initializers, load in
// a fresh onnxruntime InferenceSession, and honour stateAsInputs / stateValues / metadata.
import { describe, expect, it } from 'vitest';

import { attr, Graph } from '../graph.js';
import * as init from '../init.js';
import * as ops from '../ops/index.js';
import { OrtRunner } from '../testing/ort.js';
import { decodeModel } from './deserialize.js';

function model(): Graph {
  const g = new Graph('tiny', { seed: 3 });
  const x = g.input('x', 'float32', ['batch', 4]);
  const w = g.param('fc.weight', [4, 3], init.xavierUniform({ layout: 'in-out' }));
  const b = g.param('fc.bias', [3], init.constant(0.25));
  g.buffer('steps', [1], init.zeros(), { dtype: 'int64' });
  const y = ops.softmax(g, g.op('LeakyRelu', [ops.linear(g, x, w, b)], { alpha: 0.2 }));
  g.output(y, 'probs');
  return g;
}

describe('ONNX serialization', () => {
  it('round-trips nodes, attributes, initializers, symbolic dims and opset', () => {
    const g = model();
    const m = decodeModel(g.toModelProto({ metadata: { task: 'test' } }));
    expect(m.opset).toBe(17);
    expect(m.irVersion).toBe(8);
    expect(m.metadata).toEqual({ task: 'test' });
    expect(m.nodes.map((n) => n.opType)).toEqual(['Gemm', 'LeakyRelu', 'Softmax', 'Identity']);
    expect(m.nodes[1]!.attrs.alpha).toEqual({ type: 'float', value: expect.closeTo(0.2, 6) });
    expect(m.nodes[2]!.attrs.axis).toEqual({ type: 'int', value: -1 });
    expect(m.inputs).toEqual([{ name: 'x', dtype: 'float32', shape: ['batch', 4] }]);
    expect(m.outputs).toEqual([{ name: 'probs', dtype: 'float32', shape: ['batch', 3] }]);
    const wInit = m.initializers.get('fc.weight')!;
    expect(wInit.shape).toEqual([4, 3]);
    expect(Array.from(wInit.data as Float32Array)).toEqual(Array.from(g.params()[0]!.values() as Float32Array));
    expect(Array.from(m.initializers.get('fc.bias')!.data as Float32Array)).toEqual([0.25, 0.25, 0.25]);
    expect(m.initializers.get('steps')!.dtype).toBe('int64');
  });

  it('serializes string, ints, floats and tensor attributes', () => {
    const g = new Graph('attrs');
    const x = g.input('x', 'float32', [2, 2]);
    g.output(g.op('Identity', [x]));
    const c = g.op('ConstantOfShape', [g.ints([2])], { value: { type: 'tensor', value: { dtype: 'float32', shape: [1], data: Float32Array.of(7) } } });
    g.output(c);
    g.output(g.op('Clip', [x], { note: 'kept', ks: attr.ints([1, 2]), fs: attr.floats([0.5]) }));
    const m = decodeModel(g.toModelProto());
    const clip = m.nodes.find((n) => n.opType === 'Clip')!;
    expect(clip.attrs).toEqual({ note: { type: 'string', value: 'kept' }, ks: { type: 'ints', value: [1, 2] }, fs: { type: 'floats', value: [0.5] } });
    expect(m.nodes.find((n) => n.opType === 'ConstantOfShape')!.attrs.value).toMatchObject({ type: 'tensor', value: { dtype: 'float32', shape: [1] } });
  });

  it('loads in a fresh InferenceSession and computes the model', async () => {
    const g = model();
    const r = await OrtRunner.create(g.toModelProto());
    const out = await r.run({ x: { dtype: 'float32', dims: [2, 4], data: Float32Array.of(1, 0, 0, 0, 0, 1, 0, 0) } });
    const p = out.probs!.data as Float32Array;
    expect(out.probs!.dims).toEqual([2, 3]);
    expect(p[0]! + p[1]! + p[2]!).toBeCloseTo(1, 6);
    await r.release();
  });

  it('moves state to graph inputs and embeds overriding values', async () => {
    const g = model();
    const asInputs = decodeModel(g.toModelProto({ stateAsInputs: ['fc.weight'] }));
    expect(asInputs.inputs.map((i) => i.name)).toEqual(['x', 'fc.weight']);
    expect(asInputs.initializers.has('fc.weight')).toBe(false);
    const trained = decodeModel(g.toModelProto({ stateValues: new Map([['fc.bias', Float32Array.of(1, 2, 3)]]) }));
    expect(Array.from(trained.initializers.get('fc.bias')!.data as Float32Array)).toEqual([1, 2, 3]);
    expect(() => g.toModelProto({ stateValues: new Map([['fc.bias', Float32Array.of(1)]]) })).toThrow(/has 1 values/);
  });

  it('rejects bytes that are not a model', () => {
    expect(() => decodeModel(Uint8Array.of(0xff, 0xff, 0xff))).toThrow(/not an ONNX model/);
  });
});
