// Worker-thread entry: renders phantoms and transfers the pixel buffers back to the main thread.
import { serveWorkerTasks } from '../../core/workers.js';
import { type RenderTask, renderTask } from './render.js';
import type { RenderedImage } from './types.js';

serveWorkerTasks<RenderTask, RenderedImage>((task) => {
  const image = renderTask(task);
  return { result: image, transfer: [image.data.buffer as ArrayBuffer] };
});
