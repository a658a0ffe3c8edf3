// `npm run bench -- resample-skew --model model.onnx --cache <version>/64/test.srcache`: does a trained
// classifier score the same images differently when they pass through the training-time resampling?
//
// Evaluation and serving feed the cached pixels as they are; training feeds every augmented image through a
// bilinear resample at sub-pixel positions, which blurs. Side by side, on one model and one split: accuracy on the
// images as cached (what `secondread train` reports), after a pure half-pixel shift (blur only, nothing moves out
// of view), after a centred 0.95 zoom, and after a draw of the training augmentation (geometry only). A model that
// scores clearly better on the resampled images has learned the blur as "normal" (docs/training.md, "Sharp and
// blurred").
import { readFile } from 'node:fs/promises';

import ort from 'onnxruntime-node';

import { Rng } from '../src/core/rng.js';
import { loadCache } from '../src/data/cache/read-cache.js';
import { SECONDREAD_CLASSES } from '../src/data/classes.js';
import { decodeModel, EXPORT_METADATA } from '../src/engine/index.js';
import { normalizePixels, preprocessingSchema } from '../src/tracking/index.js';
import { augmentInto, type AugmentParams, DEFAULT_AUGMENT, drawAugment, IDENTITY_PARAMS, type Normalization } from '../src/training/data/augment.js';
import { argmaxRow } from '../src/training/metrics/confusion.js';
import { accuracy, confusionMatrix } from '../src/training/metrics/index.js';
import { benchArgs, refuse } from './support/args.js';

const USAGE = 'usage: npm run bench -- resample-skew --model FILE.onnx --cache SPLIT.srcache [--crop-min-scale 0.9] [--rotate-degrees 5]';
const K = SECONDREAD_CLASSES.length;

export async function main(argv: string[]): Promise<void> {
  const { model, cache, cropMinScale, rotateDegrees } = benchArgs(
    argv,
    USAGE,
    { model: '', cache: '', cropMinScale: 0.9, rotateDegrees: 5 },
    {
      '--model': (o, v) => (o.model = v.text()),
      '--cache': (o, v) => (o.cache = v.text()),
      '--crop-min-scale': (o, v) => (o.cropMinScale = v.number()),
      '--rotate-degrees': (o, v) => (o.rotateDegrees = v.number()),
    },
    (o) => {
      if (!o.model || !o.cache) refuse('--model and --cache are required', USAGE);
      if (!(o.cropMinScale > 0 && o.cropMinScale <= 1) || !(o.rotateDegrees >= 0 && o.rotateDegrees <= 180))
        refuse('--crop-min-scale must be in (0, 1] and --rotate-degrees in 0…180', USAGE);
    },
  );
  const bytes = await readFile(model);
  // The serving path's reading of the model's preprocessing; the augmentation takes one gray mean and std.
  const parsed = preprocessingSchema.safeParse(JSON.parse(decodeModel(bytes).metadata[EXPORT_METADATA.preprocessing] ?? 'null'));
  if (!parsed.success || parsed.data.channels !== 1 || Array.isArray(parsed.data.mean) || Array.isArray(parsed.data.std)) {
    throw new Error(`${model} has no single-channel secondread preprocessing metadata: export it with secondread train`);
  }
  const pre = parsed.data;
  const norm: Normalization = { mean: pre.mean as number, std: pre.std as number };
  const set = await loadCache(cache);
  const size = set.header.size;
  if (size !== pre.size) throw new Error(`${cache} holds ${size}×${size} images, the model takes ${pre.size}×${pre.size}`);
  const px = size * size;
  const n = set.header.count;
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 2 });
  const image = (i: number) => set.images.subarray(i * px, (i + 1) * px);

  async function score(params: ((i: number) => AugmentParams) | null): Promise<number[][]> {
    const predicted: number[] = [];
    for (let s = 0; s < n; s += 128) {
      const b = Math.min(128, n - s);
      const x = new Float32Array(b * px);
      for (let j = 0; j < b; j++) {
        if (params) augmentInto(image(s + j), size, params(s + j), norm, x, j * px);
        else normalizePixels(image(s + j), pre, x, j * px); // exactly what serving feeds
      }
      const logits = (await session.run({ images: new ort.Tensor('float32', x, [b, 1, size, size]) })).logits!.data as Float32Array;
      for (let j = 0; j < b; j++) predicted.push(argmaxRow(logits, j * K, K));
    }
    return confusionMatrix(Array.from(set.labels), predicted, K);
  }

  const rng = new Rng(7);
  const geometry = { ...DEFAULT_AUGMENT, cropMinScale, rotateDegrees, brightness: 0, contrast: 0 };
  const variants: [string, ((i: number) => AugmentParams) | null][] = [
    ['as cached (evaluation, serving)', null],
    ['half-pixel shift (blur only)', () => ({ ...IDENTITY_PARAMS(size), cx: size / 2 + 0.5, cy: size / 2 + 0.5 })],
    ['centred zoom 0.95', () => ({ ...IDENTITY_PARAMS(size), cropW: 0.95 * size, cropH: 0.95 * size })],
    ['a training draw (geometry only)', () => drawAugment(rng, size, geometry)],
  ];
  const pairs: [number, number][] = [
    [5, 8],
    [8, 5],
    [1, 0],
    [0, 4],
  ]; // the confusions that move
  const head = pairs.map(([t, p]) => `${SECONDREAD_CLASSES[t]}→${SECONDREAD_CLASSES[p]!.replace(/^(lung|oct)-/, '')}`);
  console.log(`${n} images, ${size}×${size}, ${model}`);
  console.log(['input'.padEnd(34), 'accuracy (× as cached)'.padEnd(22), ...head].join('  '));
  let base = 0;
  for (const [name, params] of variants) {
    const cm = await score(params);
    const acc = accuracy(cm);
    base ||= acc;
    const ratio = name === variants[0]![0] ? '' : ` (${(acc / base).toFixed(3)}×)`;
    console.log(
      [name.padEnd(34), `${(100 * acc).toFixed(1)}%${ratio}`.padEnd(22), ...pairs.map(([t, p], k) => String(cm[t]![p]).padStart(head[k]!.length))].join('  '),
    );
  }
  await session.release();
}
