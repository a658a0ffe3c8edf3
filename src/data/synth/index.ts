// Synthetic phantom datasets: deterministic chest X-ray and OCT images written as archives in
// the public datasets' layouts (see docs/synthetic-data.md).
export { synthesizeArchives, SYNTH_DEFAULTS } from './synthesize.js';
export type { SynthOptions, SynthResult, SynthArchive, SynthManifest, FlippedLabel } from './synthesize.js';
export { renderCxr } from './cxr.js';
export { renderOct } from './oct.js';
export { renderTask, type RenderTask } from './render.js';
export { encodeGray } from './encode.js';
export { Rng, subSeed } from '../../core/rng.js';
export { LAYOUTS, SYNTH_DATASETS, isSynthDataset, type SynthDataset, type DatasetLayout } from './layouts.js';
export { planSynthesis, filedCounts, type PlannedImage, type PlanOptions } from './plan.js';
export { CXR_SCANNERS } from './cxr-acquisition.js';
export { OCT_SCANNERS } from './oct-acquisition.js';
export type { GrayImage, RenderedImage, RenderInfo, RenderOptions } from './types.js';
export { synthesizeDetection, DETECT_SYNTH_DEFAULTS, DETECT_SYNTH_FOLDER, detectDatasetConfig, synthImageId } from './synthesize-detect.js';
export type { DetectSynthOptions, DetectSynthResult, DetectSynthManifest } from './synthesize-detect.js';
export { renderCxrDetect, type DetectPhantom, type TrueFinding } from './cxr-detect.js';
