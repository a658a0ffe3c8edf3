// The serving contract: what the API, the metrics and the CLI see of src/serving. Kept in one file so
// that the other layers import types only, never the runtime (onnxruntime, sharp) they do not need.
import type { ClassProbability } from '../core/probabilities.js';
import type { Route } from '../monitoring/serving-observer.js';

export type { ClassProbability } from '../core/probabilities.js';
/** The events serving reports are monitoring's contract (monitoring/serving-observer.ts), re-exported for serving's callers. */
export type { ModelRefLabel, Route, ServingObserver } from '../monitoring/serving-observer.js';

/** Triton's dynamic-batcher knobs, times in microseconds as Triton's are. Batching off = maxBatchSize 1. */
export interface BatcherOptions {
  /** Largest batch given to one compute call (default 32). */
  maxBatchSize: number;
  /** Dispatch at once when the queue reaches one of these sizes (default [] = only max size or delay). */
  preferredBatchSizes: number[];
  /**
   * 0 (default): greedy — a free instance takes what is queued at once, and batches form from what arrives while the
   * instances are busy. > 0: Triton's delay — a free instance waits until the oldest queued request has waited this
   * long (or a preferred/max size is reached), trading a lone request's latency for fuller batches.
   */
  maxQueueDelayUs: number;
  /** Requests waiting at most; beyond → QueueFullError (503, details.retryAfterSeconds) (default 256). */
  maxQueueSize: number;
  /** A request still queued after this long → InferenceTimeoutError (504) (default 10 000 000 µs = 10 s). */
  defaultTimeoutUs: number;
}

export interface BatchObserver {
  queueDepth?(depth: number): void;
  batch?(e: { size: number; queueMs: number[]; computeMs: number }): void;
  dropped?(reason: DropReason): void;
}

export type DropReason = 'timeout' | 'client_gone' | 'queue_full';

export interface PredictResult {
  model: string;
  version: number;
  route: Route;
  /** All classes, most probable first. */
  predictions: ClassProbability[];
  top: ClassProbability;
  /** Time spent in the serving runtime: decode + preprocessing, queue, compute. */
  latencyMs: number;
  requestId: string;
  /** The model's pooled embedding, only when asked for (PredictOptions.embedding) and the model exports one. Internal: drift monitoring. */
  embedding?: Float32Array;
}

/** One box a detector found, in the ORIGINAL image's pixels (DICOM: Columns × Rows), corners continuous. */
export interface ServedDetection {
  class: string;
  /** The class probability (sigmoid), above the model's score threshold. */
  score: number;
  /** x0, y0, x1, y1; the letterbox undone exactly and clipped to the image. */
  box: [number, number, number, number];
}

/** A detector's answer for one image. */
export interface DetectResult {
  model: string;
  version: number;
  route: Route;
  task: 'detect';
  /** Best first, at most the model's maxDetections. */
  detections: ServedDetection[];
  /** The original image's size (the coordinate frame of the boxes). */
  image: { width: number; height: number };
  latencyMs: number;
  requestId: string;
}

/** What a model answers for one image: class probabilities (a classifier) or boxes (a detector). */
export type ModelAnswer = PredictResult | DetectResult;

export function isDetectResult(r: ModelAnswer): r is DetectResult {
  return (r as DetectResult).task === 'detect';
}

export interface PredictOptions {
  version?: number;
  alias?: string;
  /** Makes canary routing sticky: every request of one study goes to the same deployment. */
  studyId?: string;
  requestId?: string;
  signal?: AbortSignal;
  /** Also return the model's pooled embedding (for drift monitoring; never sent over the public API). */
  embedding?: boolean;
}

export interface InferOptions {
  version?: number;
  signal?: AbortSignal;
}

export interface TensorInput {
  /** FP32, NCHW, laid end to end. */
  data: Float32Array;
  shape: number[];
}

export interface InferOutput {
  name: string;
  datatype: 'FP32' | 'INT32';
  shape: number[];
  data: Float32Array | Int32Array;
}

/** A classifier answers one output (its logits); a detector four (docs/serving.md, "Detectors"). */
export interface InferResult {
  version: number;
  outputs: InferOutput[];
}

export interface ServingOptions {
  /** ONNX Runtime intra-op threads per session (default 2). */
  threads: number;
  batching: Partial<BatcherOptions>;
  /** 0…1 share of studies sent to the `canary` alias (default 0). */
  canaryWeight: number;
  /** Score every production request with `canary` too, answer with production, record (default false). */
  shadow: boolean;
  /** Alias moves are picked up within this time (default 2000 ms; 0 = no polling). */
  aliasPollMs: number;
  /** Model file cache (by name / version / sha256). */
  cacheDir?: string;
  /** Versions asked for by number kept loaded (LRU, default 3). */
  pinnedVersions: number;
  /** Batches computed at the same time per model version (Triton's instance count, default 1). */
  instances: number;
  /** Most rows one `infer` call may carry (default 256). */
  maxInferBatch: number;
}

export interface TensorDescription {
  name: string;
  /** KServe v2 datatype, e.g. FP32. */
  datatype: string;
  /** -1 = dynamic dimension. */
  shape: number[];
}

/** Metadata for GET /v2/models/:name. */
export interface ModelDescription {
  name: string;
  /** The version described (the named one, else production, else the latest). */
  version: number;
  /** Every version the registry knows, ascending. */
  versions: number[];
  platform: string;
  inputs: TensorDescription[];
  outputs: TensorDescription[];
  classes: string[];
  /** 'detect' for a detector (boxes), else 'classify'. */
  task: 'classify' | 'detect';
}
