export { decodeGrayscale, readImageHeader, SUPPORTED_IMAGE_FORMATS, type GrayscaleImage, type ImageFormat, type ImageHeader } from './decode.js';
export { intensityStats, type IntensityStats } from './intensity.js';
export { PREPROCESS_POLICY, preprocessImage } from './preprocess.js';
