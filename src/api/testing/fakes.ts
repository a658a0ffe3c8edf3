// Fakes of the services the routes call (their seams in types.ts): serving whose "inference" really
// decodes the image with THE preprocessing and derives probabilities from the mean pixel, and
// evaluations kept in memory. Route tests run in milliseconds with them. No vitest import.
import { NotFoundError } from '../../core/errors.js';
import { readImageHeader } from '../../data/images/decode.js';
import { preprocessImage } from '../../data/images/preprocess.js';
import type { CreateEvaluation, Evaluation } from '../../monitoring/evaluations/types.js';
import { detectorInferOutputs, detectorOutputDescriptions } from '../../serving/detections.js';
import { ModelTaskError } from '../../serving/errors.js';
import type { DetectResult, ModelAnswer, ModelDescription, PredictOptions, PredictResult } from '../../serving/types.js';
import type { InferResult } from '../../serving/types.js';
import type { EvaluationsPort, ServingPort } from '../types.js';

export const FAKE_MODEL = 'cxr';
export const FAKE_CLASSES = ['lung-normal', 'lung-covid', 'oct-cnv'];
/** A detector (versions 1-2 too): one box per image, over its upper-left quarter, scored by the mean pixel. */
export const FAKE_DETECTOR = 'det';
export const FAKE_DETECTOR_CLASSES = ['Cardiomegaly', 'Nodule/Mass'];

type Call = { method: string; name: string; options: unknown; images?: number };

/**
 * Serving for route tests: one model (`cxr`, versions 1-2, production = 2) whose "inference" really
 * decodes the image with THE preprocessing (so corrupt images fail as they would in production) and
 * derives probabilities from the mean pixel. Hooks let a test replace a method's behaviour.
 */
export class FakeServing implements ServingPort {
  readonly calls: Call[] = [];
  ready = true;
  /** Runs before each predict/infer; may wait, throw, or watch the signal. */
  before?: (o: { signal?: AbortSignal }) => Promise<void>;

  async predict(name: string, image: Uint8Array, o: PredictOptions = {}): Promise<PredictResult> {
    this.calls.push({ method: 'predict', name, options: o, images: 1 });
    return (await this.score(name, [image], o))[0]!;
  }

  async predictBatch(name: string, images: Uint8Array[], o: PredictOptions = {}): Promise<PredictResult[]> {
    this.calls.push({ method: 'predictBatch', name, options: o, images: images.length });
    return this.score(name, images, o);
  }

  async predictImages(name: string, images: Uint8Array[], o: PredictOptions = {}): Promise<ModelAnswer[]> {
    this.calls.push({ method: 'predictImages', name, options: o, images: images.length });
    return name === FAKE_DETECTOR ? this.detect(name, images, o) : this.score(name, images, o);
  }

  async infer(name: string, input: { data: Float32Array; shape: number[] }, o: { version?: number; signal?: AbortSignal } = {}): Promise<InferResult> {
    this.calls.push({ method: 'infer', name, options: { ...o, shape: input.shape } });
    const version = this.version(name, o.version);
    await this.before?.(o);
    const [n, ...rest] = input.shape;
    if (name === FAKE_DETECTOR) {
      const size = rest[rest.length - 1]!;
      const dets = Array.from({ length: n! }, () => [{ classIndex: 0, score: 0.5, box: [0, 0, size / 2, size / 2] as [number, number, number, number] }]);
      return { version, outputs: detectorInferOutputs(dets, 2) };
    }
    const per = rest.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n! * FAKE_CLASSES.length);
    for (let i = 0; i < n!; i++) {
      let sum = 0;
      for (let j = 0; j < per; j++) sum += input.data[i * per + j]!;
      FAKE_CLASSES.forEach((_, k) => (data[i * FAKE_CLASSES.length + k] = sum * (k + 1)));
    }
    return { version, outputs: [{ name: 'logits', datatype: 'FP32', data, shape: [n!, FAKE_CLASSES.length] }] };
  }

  async describe(name: string, version?: number): Promise<ModelDescription> {
    const v = this.version(name, version);
    const detector = name === FAKE_DETECTOR;
    return {
      name,
      version: v,
      versions: [1, 2],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'pixels', datatype: 'FP32', shape: [-1, 1, 8, 8] }],
      outputs: detector ? detectorOutputDescriptions({ maxDetections: 2 }) : [{ name: 'logits', datatype: 'FP32', shape: [-1, FAKE_CLASSES.length] }],
      classes: detector ? FAKE_DETECTOR_CLASSES : FAKE_CLASSES,
      task: detector ? 'detect' : 'classify',
    };
  }

  /** Like the real service: an unknown model or version is simply not ready. */
  async isReady(name?: string, version?: number): Promise<boolean> {
    if (name !== undefined && ((name !== FAKE_MODEL && name !== FAKE_DETECTOR) || (version !== undefined && version !== 1 && version !== 2))) return false;
    return this.ready;
  }

  private version(name: string, version?: number): number {
    if (name !== FAKE_MODEL && name !== FAKE_DETECTOR) throw new NotFoundError('model', name);
    if (version !== undefined && version !== 1 && version !== 2) throw new NotFoundError('model version', `${name} v${version}`);
    return version ?? 2;
  }

  private async detect(name: string, images: Uint8Array[], o: PredictOptions): Promise<DetectResult[]> {
    const version = this.version(name, o.version);
    await this.before?.(o);
    return Promise.all(
      images.map(async (img): Promise<DetectResult> => {
        const { width, height } = await readImageHeader(img);
        const px = await preprocessImage(img, 8);
        const score = px.reduce((a, b) => a + b, 0) / px.length / 255;
        return {
          model: name,
          version,
          route: o.version !== undefined ? 'version' : o.alias ? 'alias' : 'production',
          task: 'detect',
          detections: [{ class: FAKE_DETECTOR_CLASSES[0]!, score, box: [0, 0, width / 2, height / 2] }],
          image: { width, height },
          latencyMs: 1.5,
          requestId: o.requestId ?? '',
        };
      }),
    );
  }

  private async score(name: string, images: Uint8Array[], o: PredictOptions): Promise<PredictResult[]> {
    if (name === FAKE_DETECTOR) throw new ModelTaskError(`${name} is a detector: it answers boxes, not class probabilities`);
    const version = this.version(name, o.version);
    await this.before?.(o);
    const out: PredictResult[] = [];
    for (const img of images) {
      const px = await preprocessImage(img, 8);
      const mean = px.reduce((a, b) => a + b, 0) / px.length / 255;
      const raw = [1 - mean, mean, 0.5].map((x) => x + 0.1);
      const total = raw.reduce((a, b) => a + b, 0);
      const predictions = FAKE_CLASSES.map((c, i) => ({ class: c, probability: raw[i]! / total })).sort((a, b) => b.probability - a.probability);
      out.push({
        model: name,
        version,
        route: o.version !== undefined ? 'version' : o.alias ? 'alias' : 'production',
        predictions,
        top: predictions[0]!,
        latencyMs: 1.5,
        requestId: o.requestId ?? '',
      });
    }
    return out;
  }
}

/** Evaluations kept in memory; `create` validates the model like the real service (unknown → 404). */
export class FakeEvaluations implements EvaluationsPort {
  readonly created: CreateEvaluation[] = [];
  private readonly byId = new Map<string, Evaluation>();

  async create(input: CreateEvaluation): Promise<Evaluation> {
    if (input.model !== FAKE_MODEL) throw new NotFoundError('model', input.model);
    this.created.push(input);
    const e: Evaluation = {
      id: `ev_${this.byId.size + 1}`,
      jobId: `job_${this.byId.size + 1}`,
      model: input.model,
      version: input.version ?? 2,
      datasetVersion: input.datasetVersion,
      split: input.split as Evaluation['split'],
      status: 'queued',
      progress: 0,
      images: null,
      accuracy: null,
      macroF1: null,
      report: null,
      error: null,
      createdBy: input.createdBy,
      createdAt: '2024-05-01T10:00:00.000Z',
      finishedAt: null,
    };
    this.byId.set(e.id, e);
    return e;
  }

  async get(id: string): Promise<Evaluation | null> {
    return this.byId.get(id) ?? null;
  }

  /** Moves an evaluation along, as its job would. */
  update(id: string, patch: Partial<Evaluation>): void {
    this.byId.set(id, { ...this.byId.get(id)!, ...patch });
  }
}
