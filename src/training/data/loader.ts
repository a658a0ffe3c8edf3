// The batch loader: prepares batch k+1 on a worker thread while the training step of batch k runs in ONNX
// Runtime, so augmentation costs no step time. With `workers: 0` it builds batches on the calling thread
// (same bytes: batches depend only on the request, see batch.ts).
import { createWorkerPool, siblingModule, type WorkerPool } from '../../core/workers.js';
import { type BatchRequest, type ImageSet, prepareBatch, type PreparedBatch, shareImageSet } from './batch.js';
import type { LoaderTask } from './loader-worker.js';

export interface BatchLoader {
  /** Starts building a batch; await the result when it is needed. */
  request(req: BatchRequest): Promise<PreparedBatch>;
  close(): Promise<void>;
}

export function createBatchLoader(set: ImageSet, opts: { workers: number }): BatchLoader {
  if (opts.workers <= 0) {
    return { request: async (req) => prepareBatch(set, req), close: async () => undefined };
  }
  const shared = shareImageSet(set);
  const pool: WorkerPool<LoaderTask, PreparedBatch> = createWorkerPool(siblingModule(import.meta.url, 'loader-worker'), opts.workers);
  return {
    request: (req) => pool.run({ set: shared, req }),
    close: () => pool.close(),
  };
}
