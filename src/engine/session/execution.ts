// How a session runs: execution provider, threads, optimization level, profiling — mapped onto ONNX Runtime's
// SessionOptions, with a clear error when a requested provider is not installed.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

import ort from 'onnxruntime-node';

import { EngineError } from '../errors.js';

export type ExecutionProvider = 'cpu' | 'cuda';

export interface ExecutionOptions {
  /** 'cpu' (default) or 'cuda' (needs onnxruntime-node's CUDA provider libraries and a CUDA 12 runtime). */
  provider?: ExecutionProvider;
  /** Intra-op threads (default 2: this project's reference machine has 2 cores; 0 lets ORT pick). */
  intraOpThreads?: number;
  /** ORT graph optimizations (default 'all'). */
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /** Writes ORT's per-node profile (Chrome trace JSON) to `<profilePrefix>_<timestamp>.json` when the session ends. */
  enableProfiling?: boolean;
  profilePrefix?: string;
  /**
   * Whether ORT's intra-op threads busy-wait for work (ORT's default: true). false lets them sleep: on a shared,
   * loaded machine spinning threads compete with other processes, and the process's CPU time then measures the
   * work, not the waiting (bench/conv-grad.ts --no-spin).
   */
  allowSpinning?: boolean;
}

/** Directory that holds onnxruntime-node's native libraries for this platform. */
function nativeDir(): string {
  const pkg = createRequire(import.meta.url).resolve('onnxruntime-node/package.json');
  return join(dirname(pkg), 'bin', 'napi-v6', process.platform, process.arch);
}

/** Throws a typed error, before ONNX Runtime prints its own, when the CUDA provider cannot be loaded. */
export function assertProviderAvailable(provider: ExecutionProvider): void {
  if (provider === 'cpu') return;
  if (provider !== 'cuda') throw new EngineError('invalid_argument', `unknown execution provider '${String(provider)}' (use 'cpu' or 'cuda')`);
  const lib = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
  const dir = nativeDir();
  if (!existsSync(join(dir, lib))) {
    throw new EngineError(
      'invalid_argument',
      `execution provider 'cuda' is not available: ${lib} is not installed in ${dir}. ` +
        "Reinstall onnxruntime-node with its CUDA binaries (npm config 'onnxruntime-node-install=cuda', needs a CUDA 12 runtime), " +
        "or use provider 'cpu'.",
    );
  }
}

export function sessionOptions(opts: ExecutionOptions = {}): ort.InferenceSession.SessionOptions {
  const provider = opts.provider ?? 'cpu';
  assertProviderAvailable(provider);
  const threads = opts.intraOpThreads ?? 2;
  if (!Number.isInteger(threads) || threads < 0) throw new EngineError('invalid_argument', `intraOpThreads must be an integer >= 0, got ${threads}`);
  return {
    executionProviders: [provider],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    // One step is one long chain of dependent kernels; parallel execution only adds scheduling overhead here.
    executionMode: 'sequential',
    graphOptimizationLevel: opts.graphOptimizationLevel ?? 'all',
    enableCpuMemArena: true,
    enableMemPattern: true,
    enableProfiling: opts.enableProfiling ?? false,
    ...(opts.profilePrefix ? { profileFilePrefix: opts.profilePrefix } : {}),
    ...(opts.allowSpinning === false ? { extra: { session: { intra_op: { allow_spinning: '0' } } } } : {}),
  };
}

/** Creates an ORT session, turning ORT's failures into EngineErrors that name the model. */
export async function createOrtSession(model: Uint8Array, what: string, opts: ExecutionOptions = {}): Promise<ort.InferenceSession> {
  const options = sessionOptions(opts);
  try {
    return await ort.InferenceSession.create(model, options);
  } catch (err) {
    throw new EngineError('invalid_model', `ONNX Runtime could not load the ${what}: ${(err as Error).message}`);
  }
}
