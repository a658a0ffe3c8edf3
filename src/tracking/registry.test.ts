import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import ort from 'onnxruntime-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { ConflictError, InvalidImageError, NotFoundError, ValidationError } from '../core/errors.js';
import { runTsChild } from '../core/testing.js';
import { preprocessImage } from '../data/images/preprocess.js';
import { grayPng } from '../data/images/testing.js';
import { InvalidModelError } from './errors.js';
import { ModelRegistry } from './registry.js';
import { finishedRunWithModel, openTrackingFixture, TEST_CLASSES, tinyVitOnnx, type TrackingFixture } from './testing.js';

let f: TrackingFixture;
let registry: ModelRegistry;
beforeEach(async () => {
  f = await openTrackingFixture('sqlite');
  registry = new ModelRegistry(f.t.db, f.objects, f.tracker);
});
afterEach(async () => {
  await f.close();
});

const by = 'alice';
const image = () => grayPng(48, 40, (x, y) => 40 + 3 * x + 2 * y + (x > 20 && y < 15 ? 90 : 0));

describe('register + loadForInference (a vit-tiny exported by our engine)', () => {
  it('stores ONNX and model card under models/<name>/<version>/ with lineage, and predicts through the stored preprocessing', async () => {
    const runId = await finishedRunWithModel(f.tracker, { mean: 0.3, std: 0.2, temperature: 1.5, datasetVersion: 'ds_abc' });
    const mv = await registry.register({ runId, name: 'cxr-oct', by, notes: 'first' });
    expect(mv).toMatchObject({
      name: 'cxr-oct',
      version: 1,
      source: 'run',
      runId,
      datasetVersion: 'ds_abc',
      onnxKey: 'models/cxr-oct/1/model.onnx',
      createdBy: by,
    });
    expect(mv.metadata.classes).toEqual([...TEST_CLASSES]);
    expect(mv.metadata.temperature).toBe(1.5);
    expect(mv.metadata.preprocessing).toMatchObject({ size: 32, channels: 1, mean: 0.3, std: 0.2 });
    expect(await f.objects.head('models/cxr-oct/1/model-card.md')).toBeDefined();

    const card = await registry.modelCard('cxr-oct', 1);
    expect(card.lineage).toMatchObject({ runId, datasetVersion: 'ds_abc', experiment: 'registry-test' });
    expect(card.metrics.perClassSplit).toBe('test');
    expect(card.metrics.perClass.map((p) => [p.class, p.recall])).toEqual(TEST_CLASSES.map((c, i) => [c, 0.95 - 0.1 * i]));
    expect(card.calibration).toMatchObject({ temperature: 1.5, fittedOn: 'val', ece: 0.03 });
    // Measured figures drive the limitations: oct-cnv has support 10 and recall 0.75.
    expect(card.limitations.join('\n')).toMatch(/oct-cnv \(10\)/);
    expect(card.limitations.join('\n')).toMatch(/Recall below 0.8 .*oct-cnv \(0.75\)/);
    const md = (await f.objects.getBytes(mv.cardMarkdownKey)).toString();
    expect(md).toContain('# Model card: cxr-oct v1');
    expect(md).toContain('| oct-cnv | 0.700 | 0.750 |');

    const model = await registry.loadForInference('cxr-oct', { version: 1 }, { cacheDir: join(f.dir, 'cache') });
    try {
      const png = await image();
      // The input is THE preprocessing followed by the stored normalization.
      const pixels = await preprocessImage(png, 32);
      const input = await model.preprocess(png);
      expect(input.length).toBe(32 * 32);
      for (const i of [0, 100, 555, 1023]) expect(input[i]).toBeCloseTo((pixels[i]! / 255 - 0.3) / 0.2, 5);
      // Probabilities are softmax(logits / T) of the raw ONNX model on that input.
      const raw = await ort.InferenceSession.create(tinyVitOnnx({ mean: 0.3, std: 0.2 }).bytes);
      const logits = (await raw.run({ images: new ort.Tensor('float32', input, [1, 1, 32, 32]) })).logits!.data as Float32Array;
      await raw.release();
      const exp = Array.from(logits, (v) => Math.exp(v / 1.5));
      const sum = exp.reduce((a, b) => a + b, 0);
      const p = await model.predict(png);
      for (const c of p.classes) expect(c.probability).toBeCloseTo(exp[TEST_CLASSES.indexOf(c.class as (typeof TEST_CLASSES)[number])]! / sum, 6);
      expect(p.top).toEqual(p.classes[0]);
      expect(p.classes.map((c) => c.probability)).toEqual([...p.classes.map((c) => c.probability)].sort((a, b) => b - a));
      expect((await model.predictBatch([png, png])).map((q) => q.top.class)).toEqual([p.top.class, p.top.class]);
      await expect(model.predict(Buffer.from('not an image'))).rejects.toBeInstanceOf(InvalidImageError);
    } finally {
      await model.close();
    }
    expect(existsSync(join(f.dir, 'cache', 'cxr-oct', '1', `${mv.onnxSha256}.onnx`))).toBe(true);
  });

  it('numbers versions per name and never hands out the same number twice to concurrent registrations', async () => {
    const runId = await finishedRunWithModel(f.tracker);
    const versions = await Promise.all([1, 2, 3, 4].map(() => registry.register({ runId, name: 'm', by })));
    expect(versions.map((v) => v.version).sort()).toEqual([1, 2, 3, 4]);
    expect((await registry.register({ runId, name: 'other', by })).version).toBe(1);
    expect((await registry.resolve('m')).version).toBe(4);
    expect((await registry.listVersions('m')).map((v) => v.version)).toEqual([1, 2, 3, 4]);
  });

  it('gives distinct, gap-free versions to registrations racing from separate processes', async () => {
    const runId = await finishedRunWithModel(f.tracker);
    const child = fileURLToPath(new URL('./testdata/register-child.ts', import.meta.url));
    const runs = await Promise.all([0, 1, 2].map(() => runTsChild(child, [f.t.location, f.objects.root, runId, 'raced', '3'])));
    for (const r of runs) expect(r.code, r.err).toBe(0);
    const got = runs.flatMap((r) => JSON.parse(r.out) as number[]).sort((a, b) => a - b);
    expect(got).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const creators = new Set((await registry.listVersions('raced')).map((v) => v.createdBy));
    expect(creators.size).toBe(3);
  });

  it('refuses unfinished runs, missing artifacts, bad names, and a stored model that was altered', async () => {
    const running = await f.tracker.startRun({ experiment: 'e', params: {} });
    await expect(registry.register({ runId: running.id, name: 'm', by })).rejects.toBeInstanceOf(ConflictError);
    await f.tracker.finishRun(running.id, 'finished');
    await expect(registry.register({ runId: running.id, name: 'm', by })).rejects.toThrow(/no artifact 'model.onnx'/);
    const runId = await finishedRunWithModel(f.tracker);
    for (const name of ['Upper', '../x', 'a/b', '', '-lead', 'x'.repeat(64)]) {
      await expect(registry.register({ runId, name, by })).rejects.toBeInstanceOf(ValidationError);
    }
    const mv = await registry.register({ runId, name: 'm', by });
    await f.objects.put(mv.onnxKey, new Uint8Array([1, 2, 3]));
    await expect(registry.loadForInference('m')).rejects.toBeInstanceOf(InvalidModelError);
  });

  it('refuses a run whose model has no secondread metadata', async () => {
    const run = await f.tracker.startRun({ experiment: 'e', params: {} });
    await f.tracker.putArtifact(run.id, 'model.onnx', tinyVitOnnx({ bare: true }).bytes);
    await f.tracker.finishRun(run.id, 'finished');
    await expect(registry.register({ runId: run.id, name: 'm', by })).rejects.toThrow(/no 'secondread.classes' metadata/);
  });
});

describe('aliases', () => {
  it('promotes with history (who, when, why) and rolls back step by step', async () => {
    const runId = await finishedRunWithModel(f.tracker);
    for (let i = 0; i < 3; i++) await registry.register({ runId, name: 'm', by });
    await registry.setAlias('m', 'production', 1, { by: 'alice', reason: 'first release' });
    await registry.setAlias('m', 'staging', 3, { by: 'bob', reason: 'try v3' });
    await registry.setAlias('m', 'production', 2, { by: 'bob', reason: 'better recall' });
    await registry.setAlias('m', 'production', 3, { by: 'carol', reason: 'calibrated' });
    expect(await registry.aliases('m')).toEqual({ production: 3, staging: 3 });
    expect((await registry.resolve('m', { alias: 'production' })).version).toBe(3);

    expect(await registry.rollback('m', 'production', { by: 'dave', reason: 'false clears up' })).toEqual({ from: 3, to: 2 });
    expect(await registry.rollback('m', 'production', { by: 'dave', reason: 'still bad' })).toEqual({ from: 2, to: 1 });
    await expect(registry.rollback('m', 'production', { by: 'dave', reason: 'x' })).rejects.toBeInstanceOf(ConflictError);
    expect((await registry.resolve('m', { alias: 'production' })).version).toBe(1);
    expect((await registry.resolve('m', { alias: 'staging' })).version).toBe(3);

    const history = await registry.aliasHistory('m', 'production');
    expect(history.map((e) => [e.action, e.version, e.previousVersion, e.by, e.reason])).toEqual([
      ['set', 1, null, 'alice', 'first release'],
      ['set', 2, 1, 'bob', 'better recall'],
      ['set', 3, 2, 'carol', 'calibrated'],
      ['rollback', 2, 3, 'dave', 'false clears up'],
      ['rollback', 1, 2, 'dave', 'still bad'],
    ]);
    expect(history.every((e) => !Number.isNaN(Date.parse(e.at)))).toBe(true);
    expect((await registry.aliasHistory('m')).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    const models = await registry.listModels();
    expect(models).toEqual([expect.objectContaining({ name: 'm', latestVersion: 3, aliases: { production: 1, staging: 3 } })]);
  });

  it('rejects unknown aliases, versions and models, no-op promotions and empty reasons', async () => {
    const runId = await finishedRunWithModel(f.tracker);
    await registry.register({ runId, name: 'm', by });
    await expect(registry.setAlias('m', 'prod', 1, { by, reason: 'x' })).rejects.toBeInstanceOf(ValidationError);
    await expect(registry.setAlias('m', 'production', 7, { by, reason: 'x' })).rejects.toBeInstanceOf(NotFoundError);
    await expect(registry.setAlias('absent', 'production', 1, { by, reason: 'x' })).rejects.toBeInstanceOf(NotFoundError);
    await expect(registry.setAlias('m', 'production', 1, { by, reason: '' })).rejects.toBeInstanceOf(ValidationError);
    await registry.setAlias('m', 'canary', 1, { by, reason: 'x' });
    await expect(registry.setAlias('m', 'canary', 1, { by, reason: 'again' })).rejects.toBeInstanceOf(ConflictError);
    await expect(registry.resolve('m', { alias: 'production' })).rejects.toBeInstanceOf(NotFoundError);
    await expect(registry.rollback('m', 'canary', { by, reason: 'x' })).rejects.toThrow(/no earlier version/);
    // Failed attempts recorded nothing.
    expect(await registry.aliasHistory('m')).toHaveLength(1);
  });
});

describe('importOnnx', () => {
  const meta = (over: Record<string, unknown> = {}) => ({
    classes: [...TEST_CLASSES],
    input: { name: 'images', shape: ['batch', 1, 32, 32] },
    preprocessing: { size: 32, channels: 1, mean: 0.5, std: 0.25 },
    framework: 'pytorch 1.13',
    ...over,
  });

  it('imports a foreign classifier with its meta.json and predicts with its normalization', async () => {
    const bytes = tinyVitOnnx({ bare: true }).bytes;
    const mv = await registry.importOnnxBytes({ name: 'imported', bytes, meta: meta({ temperature: 2 }), by });
    expect(mv).toMatchObject({ version: 1, source: 'import', runId: null });
    expect(mv.metadata).toMatchObject({ temperature: 2, preprocessing: { size: 32, channels: 1, mean: 0.5, std: 0.25, scale: 1 / 255 } });
    const card = await registry.modelCard('imported', 1);
    expect(card.source).toBe('import');
    expect(card.limitations.join(' ')).toMatch(/Imported/);
    const model = await registry.loadForInference('imported');
    const png = await image();
    const pixels = await preprocessImage(png, 32);
    expect((await model.preprocess(png))[300]).toBeCloseTo((pixels[300]! / 255 - 0.5) / 0.25, 5);
    const p = await model.predict(png);
    expect(p.classes.reduce((a, c) => a + c.probability, 0)).toBeCloseTo(1, 6);
    await model.close();
  });

  it('rejects bad files and mismatched meta with typed errors and registers nothing', async () => {
    const good = tinyVitOnnx({ bare: true }).bytes;
    const cases: [string, Uint8Array, unknown, RegExp][] = [
      ['not ONNX', Buffer.from('this is a text file, not a model'), meta(), /not an ONNX model|cannot load/],
      ['empty', new Uint8Array(0), meta(), /empty/],
      ['truncated', good.subarray(0, Math.floor(good.length / 2)), meta(), /truncated|cannot load|not an ONNX model/],
      ['wrong output size', good, meta({ classes: ['a', 'b', 'c', 'd'] }), /3 classes but the metadata lists 4|expected \[2, 4\]/],
      [
        'input size mismatch',
        good,
        meta({ input: { shape: [1, 1, 64, 64] }, preprocessing: { size: 64, channels: 1 } }),
        /\[batch, 1, 32, 32\].*\[1, 1, 64, 64\]/,
      ],
      ['channels mismatch', good, meta({ input: { shape: [1, 3, 32, 32] }, preprocessing: { size: 32, channels: 3 } }), /metadata says/],
      ['unknown input name', good, meta({ input: { name: 'pixels', shape: [1, 1, 32, 32] } }), /no input named 'pixels'/],
      ['meta schema', good, { classes: ['a'] }, /invalid model meta/],
      ['meta typo', good, meta({ preprocessing: { size: 32, channels: 1, meen: 0.5 } }), /invalid preprocessing/],
      ['preprocessing vs shape', good, meta({ preprocessing: { size: 30, channels: 1 } }), /does not match input shape/],
    ];
    for (const [what, bytes, m, message] of cases) {
      const err = await registry.importOnnxBytes({ name: 'imp', bytes, meta: m, by }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, what).toBeInstanceOf(Error);
      expect((err as { code?: string }).code, what).toMatch(/^(invalid_model|invalid_input)$/);
      expect((err as Error).message, what).toMatch(message);
    }
    await expect(registry.importOnnx({ name: 'imp', file: join(f.dir, 'absent.onnx'), meta: meta(), by })).rejects.toThrow(/cannot read model file .*ENOENT/);
    expect(await registry.listModels()).toEqual([]);
  });
});
