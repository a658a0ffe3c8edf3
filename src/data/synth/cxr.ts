// One synthetic chest X-ray: normal anatomy, the class's finding, then acquisition nuisance.
import type { Rng } from '../../core/rng.js';
import type { SecondreadClass } from '../classes.js';
import { acquireCxr, CXR_SCANNERS } from './cxr-acquisition.js';
import { drawCxrAnatomy } from './cxr-anatomy.js';
import { addCxrFinding } from './cxr-findings.js';
import { toUint8 } from './raster.js';
import { renderSetup } from './render-setup.js';
import type { RenderedImage, RenderOptions } from './types.js';

/** Above this size (px) the anatomy is drawn at half resolution. */
const WORKING_RESOLUTION_LIMIT = 640;

export function renderCxr(cls: SecondreadClass, rng: Rng, opts: RenderOptions): RenderedImage {
  const { anatomyRng, findingRng, acquisitionRng, severity, scanner } = renderSetup('cxr', CXR_SCANNERS, cls, rng, opts);
  // Anatomy and findings are smooth at the scale that matters, so large images are drawn at half
  // resolution and up-sampled during positioning; grain, blur and annotations are full resolution.
  const work = Math.max(opts.width, opts.height) > WORKING_RESOLUTION_LIMIT ? 0.5 : 1;
  const anatomy = drawCxrAnatomy(Math.round(opts.width * work), Math.round(opts.height * work), anatomyRng);
  addCxrFinding(anatomy, cls, severity, findingRng);
  const { image } = acquireCxr(anatomy.atten, opts.width, opts.height, scanner, acquisitionRng);
  return { width: opts.width, height: opts.height, data: toUint8(image), info: { cls, severity, scanner } };
}
