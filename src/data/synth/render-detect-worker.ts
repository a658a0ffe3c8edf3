// Worker-thread entry of the detector's phantoms: renders one and transfers its pixels back.
import { serveWorkerTasks } from '../../core/workers.js';
import { type DetectPhantom, type DetectRenderTask, renderCxrDetect } from './cxr-detect.js';

serveWorkerTasks<DetectRenderTask, DetectPhantom>((task) => {
  const image = renderCxrDetect(task);
  return { result: image, transfer: [image.data.buffer as ArrayBuffer] };
});
