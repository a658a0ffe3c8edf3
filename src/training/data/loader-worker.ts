// Worker thread of the batch loader: builds augmented batches while the main thread's ONNX Runtime step runs.
// The image set arrives as SharedArrayBuffers (no copy); the finished batch's buffers are transferred back.
import { serveWorkerTasks } from '../../core/workers.js';
import { batchBuffers, type BatchRequest, type ImageSet, prepareBatch, type PreparedBatch } from './batch.js';

export interface LoaderTask {
  set: ImageSet;
  req: BatchRequest;
}

serveWorkerTasks<LoaderTask, PreparedBatch>((task) => {
  const batch = prepareBatch(task.set, task.req);
  // Freshly allocated (never shared) buffers: transferring them moves ownership without a copy.
  return { result: batch, transfer: batchBuffers(batch) };
});
