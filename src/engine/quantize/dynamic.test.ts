// Dynamic quantization of a model's matrix products: which products are rewritten and which are left alone
// (and why), that ONNX Runtime loads the result and fuses every rewritten product into its
// DynamicQuantizeMatMul kernel, that outputs stay close to the float model, and that metadata survives.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';

import { Graph } from '../graph.js';
import * as init from '../init.js';
import { onnx } from '../onnx/proto.js';
import { valueInfo } from '../onnx/serialize.js';
import * as ops from '../ops/index.js';
import { QUANTIZATION_METADATA_KEY, quantizeDynamic, type QuantizeOptions } from './dynamic.js';

const dir = mkdtempSync(join(tmpdir(), 'engine-quantize-'));
afterAll(() => (process.env.KEEP_Q ? undefined : rmSync(dir, { recursive: true, force: true })));

/**
 * tokens x [batch, 6, 64] → linear (MatMul + Add, W 64×48) → Relu → scores x·xᵀ (no constant weight) →
 * tiny product (48×4, below the size threshold) and a product whose weight is a graph input →
 * mean over tokens → Gemm with transB, alpha, beta and bias (W 48×40 stored as [N, K]) → out [batch, 40].
 * `shared` weight feeds two MatMuls.
 */
function model(): Graph {
  const g = new Graph('products', { seed: 11 });
  const x = g.input('x', 'float32', ['batch', 6, 64]);
  const p = (name: string, shape: number[]) => g.param(name, shape, init.uniform(-0.4, 0.4));
  const h = ops.relu(g, ops.linear(g, x, p('fc.weight', [64, 48]), p('fc.bias', [48])));
  const scores = ops.softmax(g, ops.matmul(g, h, ops.transpose(g, h, [0, 2, 1])));
  const mixed = ops.matmul(g, scores, h); // [batch, 6, 48]
  const shared = p('shared.weight', [48, 48]);
  const twice = ops.matmul(g, ops.relu(g, ops.matmul(g, mixed, shared)), shared);
  const tiny = ops.matmul(g, twice, p('tiny.weight', [48, 4]));
  const fed = ops.matmul(g, twice, p('fed.weight', [48, 4]));
  const pooled = ops.reduceMean(g, ops.add(g, twice, ops.reduceSum(g, ops.add(g, tiny, fed), [2], true)), [1]);
  const out = ops.gemm(g, pooled, p('head.weight', [40, 48]), p('head.bias', [40]), { transB: true, alpha: 0.5, beta: 2 });
  g.output(out, 'out');
  return g;
}

/** The model with `fed.weight` also declared as a graph input: an initializer a caller may override. */
function bytesOf(g: Graph): Uint8Array {
  const m = onnx.ModelProto.decode(g.toModelProto({ metadata: { 'secondread.classes': '["a","b"]', note: 'kept' } }));
  (m.graph!.input ??= []).push(valueInfo('fed.weight', { dtype: 'float32', shape: [48, 4] }));
  return onnx.ModelProto.encode(m).finish();
}
const BATCH = 5;
const input = new Float32Array(BATCH * 6 * 64).map((_, i) => Math.sin(i * 0.61) * 1.3);
const fedWeight = new Float32Array(48 * 4).map((_, i) => Math.cos(i) * 0.3);

async function run(bytes: Uint8Array, optimizedFile?: string): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(bytes, {
    intraOpNumThreads: 1,
    logSeverityLevel: 3,
    ...(optimizedFile ? { optimizedModelFilePath: optimizedFile } : {}),
  });
  try {
    const out = await s.run({ x: new ort.Tensor('float32', input, [BATCH, 6, 64]), 'fed.weight': new ort.Tensor('float32', fedWeight, [48, 4]) });
    return out.out!.data as Float32Array;
  } finally {
    await s.release();
  }
}

const maxAbs = (a: Float32Array) => Math.max(...Array.from(a, Math.abs));
const maxDiff = (a: Float32Array, b: Float32Array) => Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]!)));

describe('quantizeDynamic', () => {
  const float = bytesOf(model());

  it('rewrites every product with a constant 2-D weight, leaves the others alone with a reason', () => {
    const { report } = quantizeDynamic(float);
    expect(report.quantized.map((q) => [q.op, q.weight, q.shape])).toEqual([
      ['MatMul', 'fc.weight', [64, 48]],
      ['MatMul', 'shared.weight', [48, 48]],
      ['MatMul', 'shared.weight', [48, 48]],
      ['Gemm', 'head.weight', [48, 40]],
    ]);
    const reasons = report.skipped.map((s) => s.reason);
    expect(reasons.filter((r) => r === 'weight is not a constant initializer')).toHaveLength(2); // h·hᵀ and scores·h
    expect(reasons).toContain('weight has 192 elements (< 1024)');
    expect(reasons).toContain('weight is also a graph input (it can be overridden at run time)');
    // 64·48 + 48·48 + 40·48 floats replaced; the shared weight is stored once.
    expect(report.floatWeightBytes).toBe(4 * (64 * 48 + 48 * 48 + 48 * 40));
    expect(report.quantizedWeightBytes).toBe(64 * 48 + 48 * 48 + 48 * 40 + 5 * (48 + 48 + 40));
  });

  it('stores int8 weights with per-column scales, drops the float copies, keeps metadata_props', () => {
    const q = quantizeDynamic(float);
    const m = onnx.ModelProto.decode(q.bytes);
    const initializers = m.graph?.initializer ?? [];
    const inits = new Map(initializers.map((t) => [t.name, t]));
    expect(inits.has('fc.weight')).toBe(false);
    expect(inits.has('shared.weight')).toBe(false);
    expect(inits.has('tiny.weight')).toBe(true);
    expect(inits.get('fc.weight_quantized')!.dataType).toBe(onnx.TensorProto.DataType.INT8);
    expect((inits.get('fc.weight_scale')!.dims ?? []).map(Number)).toEqual([48]);
    expect(initializers.filter((t) => (t.name ?? '').startsWith('shared.weight_quantized'))).toHaveLength(1);
    const meta = Object.fromEntries(m.metadataProps.map((p) => [p.key, p.value]));
    expect(meta['secondread.classes']).toBe('["a","b"]');
    expect(meta.note).toBe('kept');
    expect(JSON.parse(meta[QUANTIZATION_METADATA_KEY]!)).toMatchObject({
      method: 'int8-dynamic',
      form: 'integer',
      weightType: 'int8',
      perChannel: true,
      reduceRange: true,
      quantized: 4,
      skipped: 4,
    });
    expect(q.bytes.length).toBeLessThan(0.45 * float.length);
  });

  const variants: [string, QuantizeOptions][] = [
    ['integer, int8 per-channel 7-bit (default)', {}],
    ['integer, int8 per-tensor 7-bit', { perChannel: false }],
    ['integer, uint8 per-channel', { weightType: 'uint8' }],
    ['qdq, int8 per-channel 7-bit', { form: 'qdq' }],
    ['qdq, uint8 per-tensor', { form: 'qdq', weightType: 'uint8', perChannel: false }],
  ];
  // The integer form fuses every product (bias included); in the QDQ form ORT merges the two identical weight
  // DequantizeLinear of the shared weight and folds MatMul + Add into a float Gemm, so fewer products fuse.
  it.each(variants)('%s: ONNX Runtime fuses the rewritten products and the output stays within 3%% of the float range', async (label, o) => {
    const want = await run(float);
    const file = join(dir, `${label.replace(/\W+/g, '-')}.onnx`);
    const q = quantizeDynamic(float, o);
    const got = await run(q.bytes, file);
    expect(got).toHaveLength(BATCH * 40);
    expect(maxAbs(want)).toBeGreaterThan(0.5);
    expect(maxDiff(got, want)).toBeLessThan(0.03 * maxAbs(want));
    expect(maxDiff(got, want)).toBeGreaterThan(0); // the quantized path really ran
    const optimized = (onnx.ModelProto.decode(readFileSync(file)).graph?.node ?? []).map((n) => n.opType);
    const fused = optimized.filter((t) => t === 'DynamicQuantizeMatMul').length;
    if (o.form === 'qdq') expect(fused).toBeGreaterThanOrEqual(1);
    else expect([fused, optimized.filter((t) => t === 'MatMulInteger' || t === 'DynamicQuantizeLinear' || t === 'Gemm').length]).toEqual([4, 0]);
  });

  it('refuses a quantized model, an old opset and bytes that are not ONNX; validates options', () => {
    const q = quantizeDynamic(float);
    expect(() => quantizeDynamic(q.bytes)).toThrow(/already quantized/);
    const old = onnx.ModelProto.decode(float);
    old.opsetImport[0]!.version = 10;
    expect(() => quantizeDynamic(onnx.ModelProto.encode(old).finish())).toThrow(/needs opset >= 11/);
    expect(() => quantizeDynamic(Uint8Array.of(0xff, 0xff, 0xff))).toThrow(/not an ONNX model/);
    expect(() => quantizeDynamic(float, { minWeightElements: 0 })).toThrow(/minWeightElements/);
    expect(() => quantizeDynamic(float, { form: 'int4' as never })).toThrow(/unknown quantized form/);
  });

  it('a threshold above every weight quantizes nothing and reports each product', () => {
    const { report } = quantizeDynamic(float, { minWeightElements: 1_000_000 });
    expect(report.quantized).toHaveLength(0);
    expect(report.skipped).toHaveLength(8);
  });
});
