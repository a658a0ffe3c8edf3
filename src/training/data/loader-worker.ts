// Worker thread of the batch loader: builds augmented batches while the main thread's ONNX Runtime step runs.
// The image set arrives as SharedArrayBuffers (no copy); the finished batch's buffers are transferred back.
import { serveWorkerTasks } from '../../core/workers.js';
import { type BatchRequest, type ImageSet, type PreparedBatch, prepareBatch } from './batch.js';

export interface LoaderTask {
  set: ImageSet;
  req: BatchRequest;
}

serveWorkerTasks<LoaderTask, PreparedBatch>((task) => {
  const batch = prepareBatch(task.set, task.req);
  return { result: batch, transfer: [batch.images.buffer, batch.labels.buffer] };
});
