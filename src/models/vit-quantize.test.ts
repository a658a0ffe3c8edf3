// The engine's INT8 quantizer on the model it is for: a vit-tiny exported by the engine. It lives beside the
// model (models/ may import the engine; the engine imports nothing above it). Stated tolerances, on 256
// seeded random inputs of normalized-pixel scale: every logit within 5% of the float logits' range of the
// float value, and the same top-1 class on ≥ 95% of inputs (measured: 1.4% and 97.3%).
import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';

import { exportInferenceModel, Graph, onnx, QUANTIZATION_METADATA_KEY, quantizeDynamic, type StoredTensor } from '../engine/index.js';
import { vitClassifier, vitConfig } from './vit.js';

const CLASSES = ['lung-normal', 'lung-covid', 'lung-viral-pneumonia', 'lung-opacity', 'lung-tuberculosis', 'oct-normal', 'oct-cnv', 'oct-dme', 'oct-drusen'];
const N = 256;

function exportVit(): Uint8Array {
  const cfg = vitConfig('vit-tiny', { dropout: 0, linearInit: 'fan-in-uniform' });
  const build = vitClassifier(cfg);
  const g = new Graph('init', { mode: 'eval', seed: 7 });
  build(g);
  const weights = new Map<string, StoredTensor>(g.state().map((p) => [p.name, { dtype: p.dtype, shape: [...p.shape], data: p.values() }]));
  return exportInferenceModel(build, {
    weights,
    classNames: CLASSES,
    preprocessing: { size: 32, channels: 1, scale: 1 / 255, mean: 0.4, std: 0.25 },
    model: cfg,
    metadata: { 'secondread.temperature': '1.37' },
  }).bytes;
}

function randomInputs(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n * 32 * 32 }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32 - 0.5) * 4;
  });
}

async function logits(bytes: Uint8Array, x: Float32Array, n: number): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, logSeverityLevel: 3 });
  try {
    return (await s.run({ images: new ort.Tensor('float32', x, [n, 1, 32, 32]) })).logits!.data as Float32Array;
  } finally {
    await s.release();
  }
}

const argmax = (a: Float32Array, row: number, k: number): number => {
  let best = 0;
  for (let c = 1; c < k; c++) if (a[row * k + c]! > a[row * k + best]!) best = c;
  return best;
};

describe('quantizeDynamic on vit-tiny', () => {
  const float = exportVit();
  const q = quantizeDynamic(float);

  it('quantizes the four Linear layers of each block; attention products and the 32×9 head stay float', () => {
    expect(q.report.quantized.map((p) => p.weight).sort()).toEqual(
      ['attn.proj', 'attn.qkv', 'mlp.fc1', 'mlp.fc2'].flatMap((l) => [0, 1].map((b) => `blocks.${b}.${l}.weight`)).sort(),
    );
    const reasons = q.report.skipped.map((s) => s.reason);
    expect(reasons.filter((r) => r === 'weight is not a constant initializer')).toHaveLength(4); // q·kᵀ and attn·v per block
    expect(reasons).toContain('weight has 288 elements (< 1024)');
  });

  it('keeps every metadata_props entry (classes, preprocessing, model, temperature) and adds the quantization record', () => {
    const props = (b: Uint8Array) => Object.fromEntries(onnx.ModelProto.decode(b).metadataProps.map((p) => [p.key, p.value]));
    const [before, after] = [props(float), props(q.bytes)];
    const { [QUANTIZATION_METADATA_KEY]: record, ...rest } = after;
    expect(rest).toEqual(before);
    expect(JSON.parse(before['secondread.classes']!)).toEqual(CLASSES);
    expect(JSON.parse(record!)).toMatchObject({ method: 'int8-dynamic', quantized: 8 });
  });

  it(`agrees with the float model on ${N} random inputs: logits within 5% of their range, top-1 on >= 95%`, async () => {
    const x = randomInputs(N, 42);
    const [want, got] = [await logits(float, x, N), await logits(q.bytes, x, N)];
    const k = CLASSES.length;
    let range = 0;
    let worst = 0;
    let same = 0;
    for (let r = 0; r < N; r++) {
      const row = Array.from(want.subarray(r * k, r * k + k));
      range = Math.max(range, Math.max(...row) - Math.min(...row));
      for (let c = 0; c < k; c++) worst = Math.max(worst, Math.abs(got[r * k + c]! - want[r * k + c]!));
      if (argmax(want, r, k) === argmax(got, r, k)) same++;
    }
    expect(range).toBeGreaterThan(1); // logits spread enough for top-1 to mean something
    expect(worst).toBeGreaterThan(0);
    expect(worst).toBeLessThan(0.05 * range);
    expect(same / N).toBeGreaterThanOrEqual(0.95);
  });

  it('runs at batch 1 as at any batch (the batch stays symbolic)', async () => {
    const x = randomInputs(3, 5);
    const all = await logits(q.bytes, x, 3);
    const one = await logits(q.bytes, x.subarray(32 * 32, 2 * 32 * 32), 1);
    // Activations are quantized per run (scale from that run's min/max), so a row alone differs slightly.
    const k = CLASSES.length;
    for (let c = 0; c < k; c++) expect(Math.abs(one[c]! - all[k + c]!)).toBeLessThan(0.1);
    expect(one).toHaveLength(k);
  });
});
