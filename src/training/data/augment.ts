// Training-time augmentation of one cached uint8 image into normalized float32 model input, as ONE inverse-mapped
// affine resample (random resized crop + rotation + optional horizontal flip, bilinear, black outside the image —
// the same black the letterbox pads with) followed by brightness/contrast jitter and normalization.
//
// Horizontal flips are OFF by default: a mirrored chest X-ray shows the heart on the right (situs inversus is a
// finding, not a variant), and a mirrored OCT B-scan swaps nasal and temporal sides. Both are label-relevant
// orientation cues real images never lose, so flipping would teach the model an image that does not occur.
import type { Rng } from '../../core/rng.js';

export interface AugmentConfig {
  /** Random resized crop: crop area as a share of the image, drawn uniformly in [minScale, 1]. 1 disables. */
  cropMinScale: number;
  /** Aspect ratio of the crop, log-uniform in [1/maxAspect, maxAspect]. */
  cropMaxAspect: number;
  /** Rotation, uniform in ±degrees. */
  rotateDegrees: number;
  /** Brightness factor, uniform in [1 − b, 1 + b]. */
  brightness: number;
  /** Contrast factor around the image mean, uniform in [1 − c, 1 + c]. */
  contrast: number;
  /** Mirror left-right with probability 1/2. */
  hflip: boolean;
  /**
   * Share of images moved by a whole-pixel shift only (no crop scaling, no rotation), so they keep their exact,
   * sharp pixels. Any other crop or rotation resamples bilinearly at sub-pixel positions, which blurs: a model that
   * only ever sees blurred images meets sharper ones at evaluation and in serving (which feed the cached pixels
   * as they are), and reads their crisper texture as a finding (measured: docs/training.md, "Sharp and blurred").
   */
  sharpShare: number;
  /**
   * Random erasing (Zhong et al. 2020; timm's RandomErasing): with this probability one rectangle of 2–33% of the
   * image, aspect log-uniform in [0.3, 3.3], is set to the training mean (0 after normalization). Optional in
   * the config so that configs written before it keep meaning "off".
   */
  eraseProb?: number;
}

/** Random erasing's rectangle: area share and aspect ranges of the paper and timm. */
export const ERASE = { minArea: 0.02, maxArea: 1 / 3, minAspect: 0.3, maxAspect: 1 / 0.3 } as const;

export const DEFAULT_AUGMENT: AugmentConfig = {
  cropMinScale: 0.75,
  cropMaxAspect: 4 / 3,
  rotateDegrees: 10,
  brightness: 0.2,
  contrast: 0.2,
  hflip: false,
  sharpShare: 0,
};

/** Pixel normalization: x = (v / 255 − mean) / std. */
export interface Normalization {
  mean: number;
  std: number;
}

/** The random draw for one image (kept separate so tests can pin it). */
export interface AugmentParams {
  /** Crop size in pixels of the source (width, height) and its centre. */
  cropW: number;
  cropH: number;
  cx: number;
  cy: number;
  /** Radians. */
  angle: number;
  flip: boolean;
  brightness: number;
  contrast: number;
  /** The erased rectangle in output pixels [x0, x1) × [y0, y1), if any. */
  erase?: { x0: number; y0: number; x1: number; y1: number };
}

export function drawAugment(rng: Rng, size: number, cfg: AugmentConfig): AugmentParams {
  const p = drawGeometryAndIntensity(rng, size, cfg);
  // Drawn last and only when enabled, so runs without it keep their exact random sequence.
  const erase = cfg.eraseProb ? drawErase(rng, size, cfg.eraseProb) : undefined;
  return erase ? { ...p, erase } : p;
}

/** Random erasing's rectangle, with probability `prob` (timm: up to 10 tries for one that fits in the image). */
function drawErase(rng: Rng, size: number, prob: number): AugmentParams['erase'] {
  if (!rng.chance(prob)) return undefined;
  for (let attempt = 0; attempt < 10; attempt++) {
    const area = rng.uniform(ERASE.minArea, ERASE.maxArea) * size * size;
    const aspect = Math.exp(rng.uniform(Math.log(ERASE.minAspect), Math.log(ERASE.maxAspect)));
    const h = Math.round(Math.sqrt(area * aspect));
    const w = Math.round(Math.sqrt(area / aspect));
    if (w < 1 || h < 1 || w >= size || h >= size) continue;
    const x0 = rng.int(0, size - w);
    const y0 = rng.int(0, size - h);
    return { x0, y0, x1: x0 + w, y1: y0 + h };
  }
  return undefined;
}

function drawGeometryAndIntensity(rng: Rng, size: number, cfg: AugmentConfig): AugmentParams {
  // Drawn only when enabled, so runs without it keep their exact random sequence.
  if (cfg.sharpShare > 0 && rng.chance(cfg.sharpShare)) return drawSharp(rng, size, cfg);
  const area = rng.uniform(Math.min(1, cfg.cropMinScale), 1);
  const logR = Math.log(Math.max(1, cfg.cropMaxAspect));
  const ratio = Math.exp(rng.uniform(-logR, logR));
  const cropW = Math.min(size, size * Math.sqrt(area * ratio));
  const cropH = Math.min(size, size * Math.sqrt(area / ratio));
  const cx = rng.uniform(cropW / 2, size - cropW / 2);
  const cy = rng.uniform(cropH / 2, size - cropH / 2);
  const angle = (rng.uniform(-1, 1) * cfg.rotateDegrees * Math.PI) / 180;
  return { cropW, cropH, cx, cy, angle, ...drawFlipAndIntensity(rng, cfg) };
}

/** Drawn after the geometry, in this order, for both kinds of image. */
function drawFlipAndIntensity(rng: Rng, cfg: AugmentConfig): Pick<AugmentParams, 'flip' | 'brightness' | 'contrast'> {
  const flip = cfg.hflip && rng.chance(0.5);
  const brightness = 1 + rng.uniform(-1, 1) * cfg.brightness;
  const contrast = 1 + rng.uniform(-1, 1) * cfg.contrast;
  return { flip, brightness, contrast };
}

/**
 * A whole-pixel shift as far as the crop would move the image (at least one pixel), with the same flip and
 * intensity jitter: every output pixel is a source pixel (or the black outside), nothing is interpolated.
 */
function drawSharp(rng: Rng, size: number, cfg: AugmentConfig): AugmentParams {
  const reach = Math.max(1, Math.round((size * (1 - Math.sqrt(Math.min(1, cfg.cropMinScale)))) / 2));
  const cx = size / 2 + rng.int(-reach, reach);
  const cy = size / 2 + rng.int(-reach, reach);
  return { cropW: size, cropH: size, cx, cy, angle: 0, ...drawFlipAndIntensity(rng, cfg) };
}

export const IDENTITY_PARAMS = (size: number): AugmentParams => ({
  cropW: size,
  cropH: size,
  cx: size / 2,
  cy: size / 2,
  angle: 0,
  flip: false,
  brightness: 1,
  contrast: 1,
});

/**
 * Writes the augmented, normalized image into out[offset … offset + size²). For output pixel centre (u, v) the
 * source point is c + R(θ)·(u − size/2, v − size/2)·(crop / size); it is sampled bilinearly (0 outside).
 */
export function augmentInto(src: Uint8Array, size: number, p: AugmentParams, norm: Normalization, out: Float32Array, offset: number): void {
  const sx = p.cropW / size;
  const sy = p.cropH / size;
  const cos = Math.cos(p.angle);
  const sin = Math.sin(p.angle);
  const half = size / 2;
  let sum = 0;
  for (let v = 0; v < size; v++) {
    const yo = v + 0.5 - half;
    for (let u = 0; u < size; u++) {
      const xo = (p.flip ? half - (u + 0.5) : u + 0.5 - half) * sx;
      const ys = yo * sy;
      // Source coordinates in pixel-centre units (pixel i covers [i, i+1), its centre is i + 0.5).
      const x = p.cx + cos * xo - sin * ys - 0.5;
      const y = p.cy + sin * xo + cos * ys - 0.5;
      const value = bilinear(src, size, x, y) * p.brightness;
      out[offset + v * size + u] = value;
      sum += value;
    }
  }
  const mean = sum / (size * size);
  const scale = 1 / (255 * norm.std);
  for (let i = offset; i < offset + size * size; i++) {
    const v = Math.min(255, Math.max(0, ((out[i] as number) - mean) * p.contrast + mean));
    out[i] = v * scale - norm.mean / norm.std;
  }
  const e = p.erase;
  if (e) for (let v = e.y0; v < e.y1; v++) out.fill(0, offset + v * size + e.x0, offset + v * size + e.x1);
}

/** Normalization only (evaluation, serving): x = (v / 255 − mean) / std. */
export function normalizeInto(src: Uint8Array, norm: Normalization, out: Float32Array, offset: number): void {
  const scale = 1 / (255 * norm.std);
  const shift = norm.mean / norm.std;
  for (let i = 0; i < src.length; i++) out[offset + i] = (src[i] as number) * scale - shift;
}

function bilinear(src: Uint8Array, size: number, x: number, y: number): number {
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const fx = x - x0;
  const fy = y - y0;
  const at = (xi: number, yi: number): number => (xi >= 0 && yi >= 0 && xi < size && yi < size ? (src[yi * size + xi] as number) : 0);
  const top = at(x0, y0) * (1 - fx) + at(x0 + 1, y0) * fx;
  const bottom = at(x0, y0 + 1) * (1 - fx) + at(x0 + 1, y0 + 1) * fx;
  return top * (1 - fy) + bottom * fy;
}

/** Mean and standard deviation of all pixels (0…1 scale): the normalization a model is trained with. */
export function pixelStats(images: Uint8Array): Normalization {
  let sum = 0;
  let sq = 0;
  for (let i = 0; i < images.length; i++) {
    const v = (images[i] as number) / 255;
    sum += v;
    sq += v * v;
  }
  const n = Math.max(1, images.length);
  const mean = sum / n;
  const std = Math.sqrt(Math.max(0, sq / n - mean * mean));
  return { mean, std: std > 1e-6 ? std : 1 };
}
