// Renders one planned image by class and sub-seed: the unit of work the workers run.
import { Rng } from '../../core/rng.js';
import { CLASS_MODALITY, type SecondreadClass } from '../classes.js';
import { renderCxr } from './cxr.js';
import { renderOct } from './oct.js';
import type { RenderedImage } from './types.js';

export interface RenderTask {
  cls: SecondreadClass;
  seed: number;
  width: number;
  height: number;
  /** Force this scanner style (an acquisition shift); absent: drawn per image. */
  scanner?: string;
}

export function renderTask(task: RenderTask): RenderedImage {
  const rng = new Rng(task.seed);
  const opts = { width: task.width, height: task.height, ...(task.scanner !== undefined ? { scanner: task.scanner } : {}) };
  return CLASS_MODALITY[task.cls] === 'cxr' ? renderCxr(task.cls, rng, opts) : renderOct(task.cls, rng, opts);
}
