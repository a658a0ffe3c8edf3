// A model version ready to predict: an ONNX Runtime session plus the metadata that says how to feed
// it (preprocessing, normalization) and read it (class names, temperature). Serving builds on this.
import * as ort from 'onnxruntime-node';

import { ValidationError } from '../core/errors.js';
import { type ClassProbability, rankClasses, softmaxRows } from '../core/probabilities.js';
import { EMBEDDING_OUTPUT } from '../engine/index.js';
import { type Detection, detectionFetches, readDetections } from './detection.js';
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
  /** Whether the model exports its pooled embedding (an output named EMBEDDING_OUTPUT). */
  hasEmbedding: boolean;
  /**
   * Logits and, when the model exports one, the embeddings [N, dim] of N prepared inputs, from one run. A detector
   * (metadata.detection) answers `detections` instead: each input's boxes in input pixels, best first; its logits are empty.
   */
  forward(inputs: Float32Array, n: number): Promise<{ logits: Float32Array; embeddings: Float32Array | null; dim: number | null; detections?: Detection[][] }>;
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

  const hasEmbedding = meta.output.name !== EMBEDDING_OUTPUT && opened.outputs.some((o) => o.name === EMBEDDING_OUTPUT);
  const run = async (inputs: Float32Array, n: number, names: string[]): Promise<ort.InferenceSession.ReturnType> => {
    if (inputs.length !== n * plane) throw new ValidationError(`expected ${n}×${plane} input values, got ${inputs.length}`);
    return opened.session.run({ [meta.input.name]: new ort.Tensor('float32', inputs, [n, channels, size, size]) }, names);
  };
  const logits = async (inputs: Float32Array, n: number): Promise<Float32Array> =>
    (await run(inputs, n, [meta.output.name]))[meta.output.name]!.data as Float32Array;
  const forward = async (inputs: Float32Array, n: number) => {
    if (meta.detection) {
      const detections = readDetections(await run(inputs, n, detectionFetches(meta.detection)), n, k, meta.detection);
      return { logits: new Float32Array(0), embeddings: null, dim: null, detections };
    }
    if (!hasEmbedding) return { logits: await logits(inputs, n), embeddings: null, dim: null };
    const out = await run(inputs, n, [meta.output.name, EMBEDDING_OUTPUT]);
    const emb = out[EMBEDDING_OUTPUT]!;
    return { logits: out[meta.output.name]!.data as Float32Array, embeddings: emb.data as Float32Array, dim: emb.size / n };
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
    if (meta.detection) throw new ValidationError(`${o.name} version ${o.version} is a detector: it answers boxes, not class probabilities`);
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
    hasEmbedding,
    forward,
    predict: async (image) => (await predictBatch([image]))[0]!,
    predictBatch,
    close: () => opened.session.release(),
  };
}
