// Thin onnxruntime-node helpers for tests: create a session from model bytes, feed typed arrays, read
// outputs back as typed arrays with their dims.
import * as ort from 'onnxruntime-node';

import { EngineError } from '../errors.js';
import type { DType, TensorData } from '../graph.js';

export interface HostTensor {
  dtype: DType;
  dims: number[];
  data: TensorData;
}

export type SessionOptions = { optimization?: 'disabled' | 'basic' | 'extended' | 'all'; threads?: number };

export class OrtRunner {
  private constructor(private readonly session: ort.InferenceSession) {}

  static async create(model: Uint8Array, opts: SessionOptions = {}): Promise<OrtRunner> {
    try {
      const session = await ort.InferenceSession.create(model, {
        graphOptimizationLevel: opts.optimization ?? 'all',
        intraOpNumThreads: opts.threads ?? 1,
        interOpNumThreads: 1,
        logSeverityLevel: 3,
      });
      return new OrtRunner(session);
    } catch (err) {
      throw new EngineError('invalid_model', `onnxruntime rejected the model: ${(err as Error).message}`);
    }
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }
  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  async run(feeds: Readonly<Record<string, HostTensor>>, fetch?: readonly string[]): Promise<Record<string, HostTensor>> {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = new ort.Tensor(t.dtype, t.data, t.dims);
    const out = fetch ? await this.session.run(ortFeeds, [...fetch]) : await this.session.run(ortFeeds);
    const result: Record<string, HostTensor> = {};
    for (const [name, t] of Object.entries(out)) {
      result[name] = { dtype: t.type as DType, dims: [...t.dims], data: t.data as TensorData };
    }
    return result;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** One-shot: create a session, run it once, release it. */
export async function runOnce(model: Uint8Array, feeds: Readonly<Record<string, HostTensor>>, opts?: SessionOptions): Promise<Record<string, HostTensor>> {
  const r = await OrtRunner.create(model, opts);
  try {
    return await r.run(feeds);
  } finally {
    await r.release();
  }
}
