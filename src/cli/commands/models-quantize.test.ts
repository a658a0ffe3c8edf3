// `secondread models quantize` end to end, in-process, on a temporary SECONDREAD_HOME holding a synthetic
// dataset version (real ETL) and a registered vit-tiny whose run points at it: the quantized model becomes
// the next version with lineage, the figures printed are the ones measured (the float accuracy equals an
// independent count through the registry's loader on the original image files), an imported model without
// a dataset version is quantized with the accuracy part skipped, and bad input fails with exit 2.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { listImages } from '../../data/datasets/repository.js';
import { ModelRegistry } from '../../tracking/index.js';
import { finishedRunWithModel, TEST_CLASSES, tinyVitOnnx } from '../../tracking/testing.js';
import { openTrainingFixture, type TrainingFixture } from '../../training/testing.js';
import { runCli } from '../testing.js';
import type { QuantizeResult } from './models-quantize.js';

let fx: TrainingFixture;
let scratch: string;
const saved = { home: process.env.SECONDREAD_HOME, log: process.env.LOG_LEVEL };

beforeAll(async () => {
  fx = await openTrainingFixture({ perClass: 10, imageSize: 40 });
  scratch = await mkdtemp(join(tmpdir(), 'sr-quantize-'));
  process.env.SECONDREAD_HOME = fx.home;
  process.env.LOG_LEVEL = 'silent';
  const runId = await finishedRunWithModel(fx.tracker, { datasetVersion: fx.versionId, temperature: 1.3 });
  expect((await runCli('models', 'register', runId, '--name', 'cxr', '--by', 'alice')).code).toBe(0);
});
afterAll(async () => {
  process.env.SECONDREAD_HOME = saved.home;
  process.env.LOG_LEVEL = saved.log;
  await fx?.close();
  await rm(scratch, { recursive: true, force: true });
});

describe('secondread models quantize', () => {
  it('registers the int8 model as the next version with lineage and reports accuracy, size and speed-up', async () => {
    const r = await runCli('models', 'quantize', 'cxr', '1', '--runs', '3', '--by', 'bob', '--json');
    expect(r.code, r.err).toBe(0);
    const q = JSON.parse(r.out) as QuantizeResult;
    expect(q.source).toEqual({ name: 'cxr', version: 1 });
    expect(q.version.version).toBe(2);
    expect(q.report.quantized).toHaveLength(8);

    const registry = new ModelRegistry(fx.db, fx.objects, fx.tracker);
    const [v1, v2] = [await registry.resolve('cxr', { version: 1 }), await registry.resolve('cxr', { version: 2 })];
    expect(v2.runId).toBe(v1.runId);
    expect(v2.datasetVersion).toBe(fx.versionId);
    expect(v2.metadata).toEqual(v1.metadata); // classes, preprocessing, temperature 1.3
    expect(v2.notes).toMatch(/^int8-dynamic quantization of cxr v1: 8 MatMul\/Gemm with int8 per-channel 7-bit weights/);
    expect(v2.onnxBytes).toBe(q.size.int8Bytes);
    expect(q.size.ratio).toBeCloseTo(v2.onnxBytes / v1.onnxBytes, 10);
    expect(q.size.ratio).toBeLessThan(0.85);

    // Accuracy on the test split: images of the model's 3 classes only, float figure recounted independently.
    const test = await listImages(fx.db, fx.versionId, { split: 'test' });
    const known = test.filter((i) => (TEST_CLASSES as readonly string[]).includes(i.class));
    expect(q.accuracy).toMatchObject({ split: 'test', datasetVersion: fx.versionId, images: known.length, leftOut: test.length - known.length });
    const float = await registry.loadForInference('cxr', { version: 1 });
    const preds = await float.predictBatch(await Promise.all(known.map((i) => fx.objects.getBytes(i.objectKey))));
    await float.close();
    const correct = preds.filter((p, i) => p.top.class === known[i]!.class).length;
    expect(q.accuracy!.float).toBeCloseTo(correct / known.length, 10);
    expect(q.accuracy!.delta).toBeCloseTo(q.accuracy!.int8 - q.accuracy!.float, 10);
    expect(q.accuracy!.agreement).toBeGreaterThan(0.8);

    expect(q.timings.map((t) => t.batch)).toEqual([1, 32]);
    for (const t of q.timings) {
      expect(t.floatMs).toBeGreaterThan(0);
      expect(t.speedup).toBeCloseTo(t.floatMs / t.int8Ms, 10);
    }

    // The card names the source and shows the int8 figures, not the float run's.
    const card = await runCli('models', 'show', 'cxr', '--version', '2');
    expect(card.out).toContain('int8-dynamic quantization of cxr v1');
    expect(card.out).toMatch(new RegExp(`\\| test \\| ${known.length} \\| ${q.accuracy!.int8.toFixed(3)} \\|`));
    expect(card.out).toMatch(/quantization\/speedup_batch32: \d/);
    expect(card.out).not.toContain('test_accuracy');

    // The registered int8 version serves through the ordinary loader.
    const served = await registry.loadForInference('cxr', { version: 2 });
    expect((await served.predict(await fx.objects.getBytes(known[0]!.objectKey))).classes).toHaveLength(3);
    await served.close();
  });

  it('prints the figures as sentences', async () => {
    const r = await runCli('models', 'quantize', 'cxr', '1', '--runs', '2', '--split', 'val', '--per-tensor', '--weight-type', 'uint8');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^registered cxr v\d+: int8-dynamic of v1 \(8 MatMul\/Gemm quantized, uint8 per-tensor weights, integer form; 5 left float\)/);
    expect(r.out).toMatch(
      /accuracy on val of \S+ \(\d+ images, \d+ of unknown classes left out\): float \d+\.\d\d%, int8 \d+\.\d\d%, delta [+-]\d+\.\d\d points; same top-1 class on \d+\.\d\d%/,
    );
    expect(r.out).toMatch(/size: \d+\.\d KiB → \d+\.\d KiB \(0\.\d\d×\)/);
    expect(r.out).toMatch(/speed, batch 1 \(ONNX Runtime CPU, 1 thread, median\): float \d+\.\d\d ms, int8 \d+\.\d\d ms → speed-up \d+\.\d\d×/);
    expect(r.out).toMatch(/speed, batch 32 /);
  });

  it('quantizes an imported model without a dataset version, skipping the accuracy part', async () => {
    const onnxPath = join(scratch, 'foreign.onnx');
    const metaPath = join(scratch, 'meta.json');
    await writeFile(onnxPath, tinyVitOnnx({ bare: true }).bytes);
    await writeFile(metaPath, JSON.stringify({ classes: [...TEST_CLASSES], input: { shape: ['batch', 1, 32, 32] } }));
    expect((await runCli('models', 'import', onnxPath, '--name', 'foreign', '--meta', metaPath)).code).toBe(0);
    const r = await runCli('models', 'quantize', 'foreign', '1', '--runs', '2');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('registered foreign v2');
    expect(r.out).toContain('accuracy: skipped — foreign v1 records no dataset version (imported without one): accuracy not measured');
    expect(r.out).toMatch(/speed, batch 32 /);
  });

  it('fails with exit 2 and one line for unknown models and versions, bad options, an already quantized version', async () => {
    const cases: [string[], RegExp][] = [
      [['nope', '1'], /model version 'nope v1' was not found/],
      [['cxr', '9'], /model version 'cxr v9' was not found/],
      [['cxr', 'one'], /version must be a positive integer, got 'one'/],
      [['cxr', '1', '--split', 'holdout'], /split must be one of train, val, test, got 'holdout'/],
      [['cxr', '1', '--threads', '0'], /--threads must be an integer from 1 to 256/],
      [['cxr', '1', '--form', 'int4'], /--form must be 'integer' or 'qdq'/],
      [['cxr', '2'], /cxr v2 cannot be quantized: the model is already quantized/],
    ];
    for (const [args, msg] of cases) {
      const r = await runCli('models', 'quantize', ...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toMatch(msg);
      expect(r.err).not.toMatch(/at .*\.(ts|js):\d+/);
    }
    const latest = await new ModelRegistry(fx.db, fx.objects, fx.tracker).resolve('cxr');
    expect(latest.version).toBe(3); // no version was registered by a failed command
  });
});
