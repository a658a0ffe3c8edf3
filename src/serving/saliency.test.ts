import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { afterAll, describe, expect, it, vi } from 'vitest';

import { ValidationError } from '../core/errors.js';
import { grayPng } from '../data/images/testing.js';
import { decodeModel, Graph, init } from '../engine/index.js';
import { imageToInput, type ModelMetadata, type ModelVersion } from '../tracking/index.js';
import { tinyVitOnnx } from '../tracking/testing.js';
import {
  type Forward,
  gaussianBlur,
  InputGradient,
  normalizeMap,
  occlusionMap,
  rebuildGraph,
  SaliencyBusyError,
  SaliencyService,
  SaliencyUnsupportedError,
  smoothGrad,
} from './saliency.js';

const S = 16;

/**
 * A tiny classifier whose evidence is local: a 3×3 box filter, ReLU above 4 (a bright 3×3 area, not
 * the dim background), summed over the left half (class `left`) and the right half (class `right`).
 * A bright patch on the left decides `left`; nothing but that patch contributes to its score.
 * `floor` adds an op the engine has no gradient rule for.
 */
function patchModel(o: { floor?: boolean } = {}): Uint8Array {
  const g = new Graph('patch');
  const x = g.input('images', 'float32', ['batch', 1, S, S]);
  const conv = g.op('Conv', [x, g.constant(new Float32Array(9).fill(1), [1, 1, 3, 3])], { pads: [1, 1, 1, 1] });
  let active = g.op('Relu', [g.op('Sub', [conv, g.scalar(4, conv)])]);
  if (o.floor) active = g.op('Floor', [g.op('Mul', [active, g.scalar(8, active)])]);
  const half = (left: boolean) =>
    g.constant(
      Float32Array.from({ length: S * S }, (_, i) => Number(i % S < S / 2 === left)),
      [1, 1, S, S],
    );
  const score = (left: boolean) => g.op('Unsqueeze', [g.op('ReduceSum', [g.op('Mul', [active, half(left)]), g.ints([1, 2, 3])], { keepdims: 0 }), g.ints([1])]);
  g.output(g.op('Concat', [score(true), score(false)], { axis: 1 }), 'logits');
  return g.toModelProto();
}

const patchMeta: ModelMetadata = {
  classes: ['left', 'right'],
  input: { name: 'images', shape: ['batch', 1, S, S] },
  output: { name: 'logits' },
  preprocessing: { size: S, channels: 1, layout: 'NCHW', dtype: 'float32', scale: 1 / 255, mean: 0, std: 1 },
  temperature: 1,
};

/** Dim background (0.2) with a bright 4×4 patch at x 3-6, y 9-12: in the left half. */
const PATCH = { x0: 3, x1: 6, y0: 9, y1: 12 };
const inPatch = (i: number, pad = 0) =>
  i % S >= PATCH.x0 - pad && i % S <= PATCH.x1 + pad && Math.floor(i / S) >= PATCH.y0 - pad && Math.floor(i / S) <= PATCH.y1 + pad;
const patchImage = () => grayPng(S, S, (x, y) => (x >= PATCH.x0 && x <= PATCH.x1 && y >= PATCH.y0 && y <= PATCH.y1 ? 255 : 51));

const argmax = (v: ArrayLike<number>) => Array.from(v).reduce((b, x, i, a) => (x > a[b]! ? i : b), 0);
const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / Math.max(1, v.length);

async function ortForward(bytes: Uint8Array, meta: ModelMetadata): Promise<{ forward: Forward; release: () => Promise<void> }> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  const { channels, size } = meta.preprocessing;
  return {
    forward: async (inputs, n) =>
      (await session.run({ [meta.input.name]: new ort.Tensor('float32', inputs, [n, channels, size, size]) }))[meta.output.name]!.data as Float32Array,
    release: () => session.release(),
  };
}

describe('input gradient (engine autodiff over the registered ONNX)', () => {
  it.each(['vit-tiny', 'cnn-tiny'] as const)('rebuilds %s with the same logits, and its input gradient matches central finite differences', async (variant) => {
    const { bytes, size, classes } = tinyVitOnnx({ seed: 5, variant });
    const meta: ModelMetadata = {
      classes: [...classes],
      input: { name: 'images', shape: ['batch', 1, size, size] },
      output: { name: 'logits' },
      preprocessing: { size, channels: 1, layout: 'NCHW', dtype: 'float32', scale: 1 / 255, mean: 0.3, std: 0.2 },
      temperature: 1,
    };
    const plane = size * size;
    const rng = init.createRng(11);
    const x = Float32Array.from({ length: 2 * plane }, () => rng.normal());
    const model = await InputGradient.create(bytes, meta, { batch: 2 });
    const original = await ortForward(bytes, meta);
    try {
      const k = 1;
      const { logits, grad } = await model.run(x, k);
      const reference = await original.forward(x, 2);
      for (let i = 0; i < reference.length; i++) expect(logits[i]).toBeCloseTo(reference[i]!, 4);

      // ∂logit_k/∂x_j by central differences in float32, at the 8 pixels with the largest analytic
      // gradient (where float32 differences resolve it best) and 8 random ones, over both images.
      const eps = 5e-3; // small enough that few of the CNN's ReLU kinks lie within ±eps of a pixel
      const largest = [...grad.keys()].sort((a, b) => Math.abs(grad[b]!) - Math.abs(grad[a]!)).slice(0, 8);
      const random = Array.from({ length: 8 }, () => Math.floor(rng.next() * 2 * plane));
      let worst = 0;
      let scale = 0;
      for (const j of [...largest, ...random]) {
        const row = j < plane ? 0 : 1;
        const at = async (d: number) => {
          const xp = Float32Array.from(x);
          xp[j] = xp[j]! + d;
          return (await original.forward(xp, 2))[row * classes.length + k]!;
        };
        const numeric = ((await at(eps)) - (await at(-eps))) / (2 * eps);
        worst = Math.max(worst, Math.abs(numeric - grad[j]!));
        scale = Math.max(scale, Math.abs(numeric));
      }
      expect(scale).toBeGreaterThan(1e-4); // the check is not vacuous
      expect(worst / scale).toBeLessThan(2e-2);
    } finally {
      await model.close();
      await original.release();
    }
  });

  it('refuses graphs the engine cannot differentiate (an op without a gradient rule) and old opsets', async () => {
    await expect(InputGradient.create(patchModel({ floor: true }), patchMeta, { batch: 1 })).rejects.toThrow(/no gradient rule for op 'Floor'/);
    const m = decodeModel(patchModel());
    expect(() => rebuildGraph({ ...m, opset: 11 }, patchMeta, 1)).toThrow(/opset 11/);
  });
});

describe('saliency maps', () => {
  it('smoothgrad: the heatmap of `left` is largest on the planted patch; `right` gets a flat, finite map', async () => {
    const model = await InputGradient.create(patchModel(), patchMeta, { batch: 4 });
    try {
      const input = await imageToInput(await patchImage(), patchMeta.preprocessing);
      const left = normalizeMap(gaussianBlur(await smoothGrad(model, input, 0, 1, { samples: 8 }), S, S / 40));
      expect(inPatch(argmax(left))).toBe(true);
      const inside = mean([...left].filter((_, i) => inPatch(i)));
      const outside = mean([...left].filter((_, i) => !inPatch(i, 2)));
      expect(inside).toBeGreaterThan(0.5);
      expect(outside).toBeLessThan(inside / 10);

      const right = await smoothGrad(model, input, 1, 1, { samples: 8 });
      expect(right.every(Number.isFinite)).toBe(true);
      expect(Math.max(...right)).toBeLessThan(1e-6 * Math.max(...(await smoothGrad(model, input, 0, 1, { samples: 8 }))));
    } finally {
      await model.close();
    }
  });

  it('smoothgrad: the same map whether the noisy copies are differentiated one per run or four per run (padded)', async () => {
    const [one, four] = await Promise.all([
      InputGradient.create(patchModel(), patchMeta, { batch: 1 }),
      InputGradient.create(patchModel(), patchMeta, { batch: 4 }),
    ]);
    try {
      const input = await imageToInput(await patchImage(), patchMeta.preprocessing);
      for (const samples of [8, 6]) {
        const a = await smoothGrad(one, input, 0, 1, { samples, seed: 5 });
        const b = await smoothGrad(four, input, 0, 1, { samples, seed: 5 });
        const peak = Math.max(...a);
        expect(peak).toBeGreaterThan(0);
        for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(1e-5 * peak);
      }
      // A different seed is a different map: the comparison above can tell maps apart.
      const other = await smoothGrad(one, input, 0, 1, { samples: 8, seed: 6 });
      const a = await smoothGrad(one, input, 0, 1, { samples: 8, seed: 5 });
      expect(a.some((v, i) => Math.abs(v - other[i]!) > 1e-3 * Math.max(...a))).toBe(true);
    } finally {
      await Promise.all([one.close(), four.close()]);
    }
  });

  it('occlusion: hiding the patch is what lowers `left`, so the credit lands on it', async () => {
    const { forward, release } = await ortForward(patchModel(), patchMeta);
    try {
      const input = await imageToInput(await patchImage(), patchMeta.preprocessing);
      const map = normalizeMap(await occlusionMap(forward, input, 0, 2, patchMeta.preprocessing, [0], { patch: 4, stride: 2 }));
      expect(inPatch(argmax(map), 1)).toBe(true);
      expect(mean([...map].filter((_, i) => !inPatch(i, 4)))).toBeLessThan(0.05);
    } finally {
      await release();
    }
  });

  it('normalizeMap keeps maps finite and in [0, 1]; the blur keeps a constant map constant', () => {
    const n = normalizeMap(Float32Array.of(Number.NaN, Infinity, -3, 0, 2, 4));
    expect([...n].every((v) => Number.isFinite(v) && v >= 0 && v <= 1)).toBe(true);
    expect(normalizeMap(new Float32Array(4)).every((v) => v === 0)).toBe(true);
    expect([...gaussianBlur(new Float32Array(64).fill(0.5), 8, 1.5)].every((v) => Math.abs(v - 0.5) < 1e-6)).toBe(true);
  });
});

describe('SaliencyService', () => {
  // Version 1 differentiates; version 2 has a Floor in the path (occlusion only).
  const versions = new Map([
    [1, patchModel()],
    [2, patchModel({ floor: true })],
  ]);
  const registry = {
    resolve: async (name: string, ref: { version?: number } = {}) => ({ name, version: ref.version!, metadata: patchMeta }) as unknown as ModelVersion,
    modelBytes: async (mv: ModelVersion) => versions.get(mv.version)!,
  };
  const service = new SaliencyService({ registry, smoothGrad: { samples: 4 } });
  afterAll(() => service.close());

  /** 32×16 (letterboxed to 16×8 in the model's 16×16 frame): a bright block at x 6-13, y 4-11. */
  const wide = () => grayPng(32, 16, (x, y) => (x >= 6 && x <= 13 && y >= 4 && y <= 11 ? 255 : 40));

  async function hottest(png: Buffer): Promise<{ x: number; y: number; width: number; height: number; tinted: (x: number, y: number) => boolean }> {
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    const tint = (i: number) => Math.abs(data[i * 3]! - data[i * 3 + 1]!) + Math.abs(data[i * 3 + 1]! - data[i * 3 + 2]!);
    let best = 0;
    for (let i = 0; i < info.width * info.height; i++) if (tint(i) > tint(best)) best = i;
    return { x: best % info.width, y: Math.floor(best / info.width), width: info.width, height: info.height, tinted: (x, y) => tint(y * info.width + x) > 0 };
  }

  it('smoothgrad for a differentiable model: a PNG at the image aspect, tinted where the block is, default class = the top class', async () => {
    const out = await service.explain({ model: { name: 'patch', version: 1 }, image: await wide() });
    expect(out).toMatchObject({ method: 'smoothgrad', class: 'left', width: 32, height: 16, model: { name: 'patch', version: 1 } });
    const h = await hottest(out.png);
    expect([h.width, h.height]).toEqual([32, 16]);
    expect(h.x).toBeGreaterThanOrEqual(4);
    expect(h.x).toBeLessThanOrEqual(15);
    expect(h.y).toBeGreaterThanOrEqual(2);
    expect(h.y).toBeLessThanOrEqual(13);
    expect(h.tinted(30, 1)).toBe(false); // far from the evidence the image shows through
    expect(await service.explain({ model: { name: 'patch', version: 1 }, image: await wide() })).toBe(out); // cached
  });

  it('falls back to occlusion (and says so) where the graph has no gradient; validates class and method', async () => {
    const out = await service.explain({ model: { name: 'patch', version: 2 }, image: await wide(), class: 'left' });
    expect(out.method).toBe('occlusion');
    const h = await hottest(out.png);
    expect(h.x).toBeLessThanOrEqual(16);
    await expect(service.explain({ model: { name: 'patch', version: 2 }, image: await wide(), method: 'smoothgrad' })).rejects.toBeInstanceOf(
      SaliencyUnsupportedError,
    );
    await expect(service.explain({ model: { name: 'patch', version: 1 }, image: await wide(), class: 'lung-covid' })).rejects.toBeInstanceOf(ValidationError);
    const occ = await service.explain({ model: { name: 'patch', version: 1 }, image: await wide(), method: 'occlusion', class: 'left' });
    expect(occ.method).toBe('occlusion');
  });

  it("differentiates one noisy copy per run unless told otherwise (the explainer keeps one image's working set, not eight)", async () => {
    const create = vi.spyOn(InputGradient, 'create');
    const byDefault = new SaliencyService({ registry, smoothGrad: { samples: 4 } });
    const four = new SaliencyService({ registry, smoothGrad: { samples: 4 }, gradientBatch: 4 });
    try {
      await byDefault.explain({ model: { name: 'patch', version: 1 }, image: await wide() });
      await four.explain({ model: { name: 'patch', version: 1 }, image: await wide() });
      expect(create.mock.calls.map((c) => c[2].batch)).toEqual([1, 4]);
    } finally {
      create.mockRestore();
      await Promise.all([byDefault.close(), four.close()]);
    }
    expect(() => new SaliencyService({ registry, gradientBatch: 0 })).toThrow(ValidationError);
  });

  it('answers 503 saliency_busy beyond its queue instead of piling up CPU work', async () => {
    const small = new SaliencyService({ registry, smoothGrad: { samples: 4 }, maxQueued: 1 });
    try {
      const image = await wide();
      const results = await Promise.allSettled([
        small.explain({ model: { name: 'patch', version: 1 }, image, class: 'left' }),
        small.explain({ model: { name: 'patch', version: 1 }, image, class: 'right' }),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected']);
      expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(SaliencyBusyError);
    } finally {
      await small.close();
    }
  });
});
