// A model version ready to predict: an ONNX Runtime session plus the metadata that says how to feed
// it (preprocessing, normalization) and read it (class names, temperature). Serving builds on this.
import * as ort from 'onnxruntime-node';

import { ValidationError } from '../core/errors.js';
import { type ClassProbability, rankClasses, softmaxRows } from '../core/probabilities.js';
import { imageToInput } from './model-input.js';
import type { ModelMetadata } from './model-metadata.js';
import { openModel } from './onnx-model.js';

export interface Prediction {
  /** Every class, most probable first; probabilities are softmax(logits / temperature). */
  classes: ClassProbability[];
  top: ClassProbability;
}

export interface LoadedModel {
  name: string;
  version: number;
  metadata: ModelMetadata;
  /** Image bytes (PNG/JPEG) → the input tensor [C, H, W] the model sees. */
  preprocess(image: Uint8Array): Promise<Float32Array>;
  /** Raw logits [N, classes] of N prepared inputs laid end to end. */
  logits(inputs: Float32Array, n: number): Promise<Float32Array>;
  predict(image: Uint8Array): Promise<Prediction>;
  predictBatch(images: readonly Uint8Array[]): Promise<Prediction[]>;
  close(): Promise<void>;
}

export async function createLoadedModel(o: {
  name: string;
  version: number;
  bytes: Uint8Array;
  metadata: ModelMetadata;
  threads?: number;
}): Promise<LoadedModel> {
  const opened = await openModel(o.bytes, o.threads ?? 1);
  const meta = o.metadata;
  const { size, channels } = meta.preprocessing;
  const plane = channels * size * size;
  const k = meta.classes.length;

  const logits = async (inputs: Float32Array, n: number): Promise<Float32Array> => {
    if (inputs.length !== n * plane) throw new ValidationError(`expected ${n}×${plane} input values, got ${inputs.length}`);
    const out = await opened.session.run({ [meta.input.name]: new ort.Tensor('float32', inputs, [n, channels, size, size]) }, [meta.output.name]);
    return out[meta.output.name]!.data as Float32Array;
  };
  const toPredictions = (scores: Float32Array, n: number): Prediction[] => {
    const probs = softmaxRows(scores, k, meta.temperature);
    return Array.from({ length: n }, (_, r) => {
      const classes = rankClasses(meta.classes, probs, r);
      return { classes, top: classes[0]! };
    });
  };
  // A model exported with a fixed batch (e.g. [1, C, H, W]) is fed in chunks of that size, the last
  // one padded with zeros; a dynamic batch takes all images at once.
  const declared = meta.input.shape[0];
  const chunk = typeof declared === 'number' && declared > 0 ? declared : Infinity;
  const predictBatch = async (images: readonly Uint8Array[]): Promise<Prediction[]> => {
    const prepared = await Promise.all(images.map((img) => imageToInput(img, meta.preprocessing)));
    const out: Prediction[] = [];
    for (let start = 0; start < prepared.length; start += Math.min(chunk, prepared.length)) {
      const part = prepared.slice(start, start + chunk);
      const n = Number.isFinite(chunk) ? chunk : part.length;
      const inputs = new Float32Array(n * plane);
      part.forEach((x, i) => inputs.set(x, i * plane));
      out.push(...toPredictions(await logits(inputs, n), n).slice(0, part.length));
    }
    return out;
  };

  return {
    name: o.name,
    version: o.version,
    metadata: meta,
    preprocess: (image) => imageToInput(image, meta.preprocessing),
    logits,
    predict: async (image) => (await predictBatch([image]))[0]!,
    predictBatch,
    close: () => opened.session.release(),
  };
}
