// One loaded model version as serving runs it: the registry's LoadedModel (ONNX Runtime session +
// the version's preprocessing, normalization, classes and temperature) behind a dynamic batcher.
// Preprocessing (decode + resize, sharp on libuv's threads) runs per request and in parallel, OUTSIDE
// the batch; only the forward pass is batched, so a batch never waits for the slowest decode.
import { rankClasses, softmaxRows } from '../core/probabilities.js';
import type { Detection, LoadedModel, ModelMetadata } from '../tracking/index.js';
import { DynamicBatcher } from './batcher.js';
import type { BatcherOptions, BatchObserver, ClassProbability } from './types.js';

/** One input's scores: its logits row and, when the model exports one, its pooled embedding (for drift monitoring). */
export interface Scores {
  logits: Float32Array;
  embedding: Float32Array | null;
  /** A detector's boxes for this input (input pixels, best first); null for a classifier. */
  detections: Detection[] | null;
}

export interface RuntimeOptions {
  batching?: Partial<BatcherOptions>;
  /** Batches computed at the same time on the session (default 1). */
  instances?: number;
  observer?: BatchObserver;
}

export class ModelRuntime {
  readonly name: string;
  readonly version: number;
  readonly metadata: ModelMetadata;
  /** Values of one input [C, H, W]. */
  readonly plane: number;
  private readonly batcher: DynamicBatcher<Float32Array, Scores>;
  /** A model exported with a fixed batch dimension is fed chunks of exactly that size (padded). */
  private readonly fixedBatch: number | null;

  private constructor(
    private readonly model: LoadedModel,
    o: RuntimeOptions,
  ) {
    this.name = model.name;
    this.version = model.version;
    this.metadata = model.metadata;
    const { channels, size } = model.metadata.preprocessing;
    this.plane = channels * size * size;
    const declared = model.metadata.input.shape[0];
    this.fixedBatch = typeof declared === 'number' && declared > 0 ? declared : null;
    this.batcher = new DynamicBatcher((inputs) => this.forward(inputs), o.batching, o.observer, { instances: o.instances });
  }

  /** Wraps a loaded model and warms it up with one zero batch (the first run pays for allocation and graph setup). */
  static async start(model: LoadedModel, o: RuntimeOptions = {}): Promise<ModelRuntime> {
    const rt = new ModelRuntime(model, o);
    try {
      await rt.forward([new Float32Array(rt.plane)]);
    } catch (err) {
      await model.close();
      throw err;
    }
    return rt;
  }

  get batching(): BatcherOptions {
    return this.batcher.options;
  }

  get queueDepth(): number {
    return this.batcher.depth;
  }

  /** Image bytes → the input tensor [C, H, W], THE preprocessing + this version's normalization. */
  preprocess(image: Uint8Array): Promise<Float32Array> {
    return this.model.preprocess(image);
  }

  /** One prepared input → its logits row, computed in a batch with whatever else is queued. */
  async score(input: Float32Array, o: { signal?: AbortSignal; timeoutUs?: number } = {}): Promise<Float32Array> {
    return (await this.batcher.submit(input, o)).logits;
  }

  /** One prepared input → its logits row and embedding (null when the model exports none), from the same batch run. */
  scores(input: Float32Array, o: { signal?: AbortSignal; timeoutUs?: number } = {}): Promise<Scores> {
    return this.batcher.submit(input, o);
  }

  /** Logits row → every class with its probability (softmax of logits / temperature), most probable first. */
  classify(logits: Float32Array): ClassProbability[] {
    return rankClasses(this.metadata.classes, softmaxRows(logits, this.metadata.classes.length, this.metadata.temperature));
  }

  /** Finishes what is queued and in flight, then releases the session. */
  async close(): Promise<void> {
    await this.batcher.drain();
    await this.model.close();
  }

  private async forward(inputs: Float32Array[]): Promise<Scores[]> {
    const k = this.metadata.classes.length;
    const chunk = this.fixedBatch ?? inputs.length;
    const out: Scores[] = [];
    for (let start = 0; start < inputs.length; start += chunk) {
      const part = inputs.slice(start, start + chunk);
      const packed = new Float32Array(chunk * this.plane); // zero rows pad a fixed-size batch
      part.forEach((x, i) => packed.set(x, i * this.plane));
      // The embedding comes from the same run (the head reads it anyway): fetching it costs a copy, not compute.
      const { logits, embeddings, dim, detections } = await this.model.forward(packed, chunk);
      for (let i = 0; i < part.length; i++)
        out.push({
          logits: logits.slice(i * k, (i + 1) * k),
          embedding: embeddings && dim ? embeddings.slice(i * dim, (i + 1) * dim) : null,
          detections: detections?.[i] ?? null,
        });
    }
    return out;
  }
}
