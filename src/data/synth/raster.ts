// Float32 raster primitives for the phantoms. Every primitive touches only its bounding box and
// every full-image pass is a single tight loop, so a 1024x1024 phantom renders in well under a second.
// Why one ~390-line file: drawing, blur, noise and resampling share createRaster/boxAround/clamp and
// the separable box passes; apart, each piece would import the others back.
import type { Rng } from '../../core/rng.js';

export interface Raster {
  width: number;
  height: number;
  data: Float32Array;
}

export function createRaster(width: number, height: number, fill = 0): Raster {
  const data = new Float32Array(width * height);
  if (fill !== 0) data.fill(fill);
  return { width, height, data };
}

/** Hermite smoothstep: 0 below e0, 1 above e1. */
export function smoothstep(e0: number, e1: number, x: number): number {
  const t = Math.min(1, Math.max(0, (x - e0) / (e1 - e0)));
  return t * t * (3 - 2 * t);
}

export function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

interface Box {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

function boxAround(r: Raster, cx: number, cy: number, ex: number, ey: number): Box {
  return {
    x0: Math.max(0, Math.floor(cx - ex)),
    x1: Math.min(r.width - 1, Math.ceil(cx + ex)),
    y0: Math.max(0, Math.floor(cy - ey)),
    y1: Math.min(r.height - 1, Math.ceil(cy + ey)),
  };
}

/**
 * Adds `amp` inside a rotated ellipse (pixel units) with a soft rim: `edge` is the rim width as a
 * fraction of the radius. `mode` 'max' keeps the larger of the existing and new value (for masks).
 */
export function addEllipse(
  r: Raster,
  cx: number,
  cy: number,
  rx: number,
  ry: number,
  amp: number,
  opts: { angle?: number; edge?: number; mode?: 'add' | 'max' | 'mul' } = {},
): void {
  const angle = opts.angle ?? 0;
  const edge = Math.max(1e-3, opts.edge ?? 0.1);
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const ext = Math.max(rx, ry) * (1 + edge);
  const b = boxAround(r, cx, cy, ext, ext);
  const lo = 1 - edge;
  const hi = 1 + edge;
  const { data, width } = r;
  for (let y = b.y0; y <= b.y1; y++) {
    const dy = y - cy;
    for (let x = b.x0; x <= b.x1; x++) {
      const dx = x - cx;
      const u = (dx * cos + dy * sin) / rx;
      const v = (-dx * sin + dy * cos) / ry;
      const d2 = u * u + v * v;
      if (d2 >= hi * hi) continue;
      const d = Math.sqrt(d2);
      const w = d <= lo ? 1 : 1 - smoothstep(lo, hi, d);
      const i = y * width + x;
      if (opts.mode === 'max') data[i] = Math.max(data[i] as number, amp * w);
      else if (opts.mode === 'mul') data[i] = (data[i] as number) * (1 - w + w * amp);
      else data[i] = (data[i] as number) + amp * w;
    }
  }
}

/** Adds an anisotropic Gaussian blob (sigmas in pixels), cut at 3 sigma. */
export function addGaussian(r: Raster, cx: number, cy: number, sx: number, sy: number, amp: number, angle = 0): void {
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const ext = 3 * Math.max(sx, sy);
  const b = boxAround(r, cx, cy, ext, ext);
  const ax = 1 / (2 * sx * sx);
  const ay = 1 / (2 * sy * sy);
  const { data, width } = r;
  for (let y = b.y0; y <= b.y1; y++) {
    const dy = y - cy;
    for (let x = b.x0; x <= b.x1; x++) {
      const dx = x - cx;
      const u = dx * cos + dy * sin;
      const v = -dx * sin + dy * cos;
      const e = u * u * ax + v * v * ay;
      if (e < 4.5) data[y * width + x] = (data[y * width + x] as number) + amp * Math.exp(-e);
    }
  }
}

/**
 * Adds a tapered line segment with a Gaussian cross-section (vessels, streaks, fissures):
 * width is the cross-section sigma in pixels, interpolated from w0 to w1 along the segment.
 */
export function addSegment(r: Raster, x0: number, y0: number, x1: number, y1: number, w0: number, w1: number, a0: number, a1 = a0): void {
  const wm = Math.max(w0, w1) * 2.5;
  const b: Box = {
    x0: Math.max(0, Math.floor(Math.min(x0, x1) - wm)),
    x1: Math.min(r.width - 1, Math.ceil(Math.max(x0, x1) + wm)),
    y0: Math.max(0, Math.floor(Math.min(y0, y1) - wm)),
    y1: Math.min(r.height - 1, Math.ceil(Math.max(y0, y1) + wm)),
  };
  const vx = x1 - x0;
  const vy = y1 - y0;
  const len2 = Math.max(1e-9, vx * vx + vy * vy);
  const { data, width } = r;
  for (let y = b.y0; y <= b.y1; y++) {
    for (let x = b.x0; x <= b.x1; x++) {
      const t = clamp(((x - x0) * vx + (y - y0) * vy) / len2, 0, 1);
      const px = x0 + t * vx - x;
      const py = y0 + t * vy - y;
      const w = w0 + (w1 - w0) * t;
      const e = (px * px + py * py) / (2 * w * w);
      if (e < 3.1) data[y * width + x] = (data[y * width + x] as number) + (a0 + (a1 - a0) * t) * Math.exp(-e);
    }
  }
}

/**
 * Adds a band that follows y = centre(x) for x in [xa, xb] (ribs, clavicles): `thick(x)` is the
 * half-thickness in pixels measured perpendicular to the curve, `profile(u)` the value at the
 * normalised offset u in [-1, 1] across the band. Edges are anti-aliased over one pixel.
 */
export function addBand(r: Raster, xa: number, xb: number, centre: (x: number) => number, thick: (x: number) => number, profile: (u: number) => number): void {
  const { data, width, height } = r;
  const x0 = Math.max(0, Math.floor(Math.min(xa, xb)));
  const x1 = Math.min(width - 1, Math.ceil(Math.max(xa, xb)));
  for (let x = x0; x <= x1; x++) {
    const yc = centre(x);
    const slope = centre(x + 0.5) - centre(x - 0.5);
    const t = thick(x) * Math.sqrt(1 + slope * slope);
    if (t <= 0) continue;
    const ya = Math.max(0, Math.floor(yc - t - 1));
    const yb = Math.min(height - 1, Math.ceil(yc + t + 1));
    for (let y = ya; y <= yb; y++) {
      const u = (y - yc) / t;
      const au = Math.abs(u);
      if (au >= 1 + 1 / t) continue;
      const aa = au <= 1 ? 1 : 1 - (au - 1) * t;
      data[y * width + x] = (data[y * width + x] as number) + aa * profile(Math.min(1, Math.max(-1, u)));
    }
  }
}

/** One horizontal box pass over every row (running sum over an edge-padded copy of the row). */
function boxRows(src: Float32Array, dst: Float32Array, width: number, height: number, radius: number): void {
  const norm = 1 / (2 * radius + 1);
  const pad = new Float32Array(width + 2 * radius + 1);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    pad.fill(src[row] as number, 0, radius);
    pad.set(src.subarray(row, row + width), radius);
    pad.fill(src[row + width - 1] as number, radius + width);
    let acc = 0;
    for (let i = 0; i < 2 * radius + 1; i++) acc += pad[i] as number;
    for (let x = 0; x < width; x++) {
      dst[row + x] = acc * norm;
      acc += (pad[x + 2 * radius + 1] as number) - (pad[x] as number);
    }
  }
}

/** One vertical box pass, a whole row at a time (cache-friendly running sum of rows). */
function boxColumns(src: Float32Array, dst: Float32Array, width: number, height: number, radius: number): void {
  const norm = 1 / (2 * radius + 1);
  const acc = new Float32Array(width);
  const rowAt = (y: number) => (y < 0 ? 0 : y >= height ? height - 1 : y) * width;
  for (let k = -radius; k <= radius; k++) {
    const r = rowAt(k);
    for (let x = 0; x < width; x++) acc[x] = (acc[x] as number) + (src[r + x] as number);
  }
  for (let y = 0; y < height; y++) {
    const out = y * width;
    const add = rowAt(y + radius + 1);
    const sub = rowAt(y - radius);
    for (let x = 0; x < width; x++) {
      const a = acc[x] as number;
      dst[out + x] = a * norm;
      acc[x] = a + (src[add + x] as number) - (src[sub + x] as number);
    }
  }
}

/**
 * Approximate Gaussian blur of the given sigma (pixels): three box passes per axis (central limit),
 * O(pixels) whatever the radius. sigmaY defaults to sigmaX.
 */
export function blur(r: Raster, sigmaX: number, sigmaY = sigmaX): void {
  const { width, height } = r;
  const radius = (s: number) => Math.round(Math.sqrt((12 * s * s) / 3 + 1) / 2 - 0.5);
  const rx = radius(sigmaX);
  const ry = radius(sigmaY);
  if (rx === 0 && ry === 0) return;
  const tmp = new Float32Array(r.data.length);
  let a: Float32Array = r.data;
  let b: Float32Array = tmp;
  for (let p = 0; rx > 0 && p < 3; p++) {
    boxRows(a, b, width, height, rx);
    [a, b] = [b, a];
  }
  for (let p = 0; ry > 0 && p < 3; p++) {
    boxColumns(a, b, width, height, ry);
    [a, b] = [b, a];
  }
  if (a !== r.data) r.data.set(a);
}

/**
 * Smooth value noise in about [-1, 1]: random values on a grid of `cell` pixels, interpolated with
 * smoothstep weights. Sum a few with different cells for fractal texture.
 */
export function valueNoise(width: number, height: number, cell: number, rng: Rng): Float32Array {
  const gw = Math.ceil(width / cell) + 2;
  const gh = Math.ceil(height / cell) + 2;
  const grid = new Float32Array(gw * gh);
  for (let i = 0; i < grid.length; i++) grid[i] = rng.next() * 2 - 1;
  const out = new Float32Array(width * height);
  const wx = new Float32Array(width);
  const ix = new Int32Array(width);
  for (let x = 0; x < width; x++) {
    const gx = x / cell;
    ix[x] = Math.floor(gx);
    const f = gx - Math.floor(gx);
    wx[x] = f * f * (3 - 2 * f);
  }
  for (let y = 0; y < height; y++) {
    const gy = y / cell;
    const iy = Math.floor(gy);
    const f = gy - iy;
    const wy = f * f * (3 - 2 * f);
    const r0 = iy * gw;
    const r1 = r0 + gw;
    const row = y * width;
    for (let x = 0; x < width; x++) {
      const i = ix[x] as number;
      const w = wx[x] as number;
      const top = (grid[r0 + i] as number) * (1 - w) + (grid[r0 + i + 1] as number) * w;
      const bot = (grid[r1 + i] as number) * (1 - w) + (grid[r1 + i + 1] as number) * w;
      out[row + x] = top * (1 - wy) + bot * wy;
    }
  }
  return out;
}

/** Adds zero-mean Gaussian noise of standard deviation sigma to every pixel. */
export function addNoise(r: Raster, sigma: number, rng: Rng): void {
  const { data } = r;
  for (let i = 0; i < data.length; i++) data[i] = (data[i] as number) + rng.normal(0, sigma);
}

export interface Placement {
  /** Rotation in radians (positive: clockwise on screen). */
  angle: number;
  scale: number;
  /** Shift of the content in output pixels. */
  shiftX: number;
  shiftY: number;
  /** Value for output pixels that map outside the source. */
  fill: number;
  /** Output size; defaults to the source size (a different size also resamples). */
  width?: number;
  height?: number;
}

/**
 * Places the source in a new raster with a similarity transform about the centres (bilinear), so
 * rotation, zoom, shift and up-sampling from a lower working resolution cost a single pass.
 */
export function transform(r: Raster, p: Placement): Raster {
  const { width: sw, height: sh, data } = r;
  const width = p.width ?? sw;
  const height = p.height ?? sh;
  const out = createRaster(width, height);
  const ocx = (width - 1) / 2;
  const ocy = (height - 1) / 2;
  const scx = (sw - 1) / 2;
  const scy = (sh - 1) / 2;
  const kx = sw / width / p.scale;
  const ky = sh / height / p.scale;
  const cos = Math.cos(-p.angle);
  const sin = Math.sin(-p.angle);
  const o = out.data;
  for (let y = 0; y < height; y++) {
    const dy = y - ocy - p.shiftY;
    for (let x = 0; x < width; x++) {
      const dx = x - ocx - p.shiftX;
      const sx = scx + (dx * cos - dy * sin) * kx;
      const sy = scy + (dx * sin + dy * cos) * ky;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      if (x0 < 0 || y0 < 0 || x0 >= sw - 1 || y0 >= sh - 1) {
        o[y * width + x] = p.fill;
        continue;
      }
      const fx = sx - x0;
      const fy = sy - y0;
      const i = y0 * sw + x0;
      const top = (data[i] as number) * (1 - fx) + (data[i + 1] as number) * fx;
      const bot = (data[i + sw] as number) * (1 - fx) + (data[i + sw + 1] as number) * fx;
      o[y * width + x] = top * (1 - fy) + bot * fy;
    }
  }
  return out;
}

/**
 * Where `transform` puts a source point: (x, y) in the source raster's pixel-index coordinates → the
 * output's. The inverse of the sampling map in `transform`, so a box drawn on the source follows it.
 */
export function placePoint(sourceWidth: number, sourceHeight: number, p: Placement, x: number, y: number): [number, number] {
  const width = p.width ?? sourceWidth;
  const height = p.height ?? sourceHeight;
  const kx = sourceWidth / width / p.scale;
  const ky = sourceHeight / height / p.scale;
  const u = (x - (sourceWidth - 1) / 2) / kx;
  const v = (y - (sourceHeight - 1) / 2) / ky;
  // transform samples at R(-angle)·d; the point therefore lands at d = R(angle)·(u, v).
  const cos = Math.cos(p.angle);
  const sin = Math.sin(p.angle);
  return [(width - 1) / 2 + p.shiftX + (u * cos - v * sin), (height - 1) / 2 + p.shiftY + (u * sin + v * cos)];
}

/** Box-average down-sampling by an integer factor (edge cells average what they cover). */
function downsample(r: Raster, f: number): Raster {
  const w = Math.ceil(r.width / f);
  const h = Math.ceil(r.height / f);
  const out = createRaster(w, h);
  const count = new Float32Array(w * h);
  for (let y = 0; y < r.height; y++) {
    const row = Math.floor(y / f) * w;
    for (let x = 0; x < r.width; x++) {
      const j = row + Math.floor(x / f);
      out.data[j] = (out.data[j] as number) + (r.data[y * r.width + x] as number);
      count[j] = (count[j] as number) + 1;
    }
  }
  for (let j = 0; j < out.data.length; j++) out.data[j] = (out.data[j] as number) / (count[j] as number);
  return out;
}

/**
 * A blurred copy for large sigmas (lung thickness, unsharp masks): blurs a down-sampled copy and
 * interpolates back up, a fraction of the cost of a full-resolution blur and visually the same.
 */
export function blurredCopy(r: Raster, sigma: number): Raster {
  // Keep the reduced sigma at 5 px or more so the box-radius rounding stays small.
  const f = Math.max(1, Math.floor(sigma / 5));
  if (f === 1) {
    const copy: Raster = { width: r.width, height: r.height, data: r.data.slice() };
    blur(copy, sigma);
    return copy;
  }
  const small = downsample(r, f);
  blur(small, sigma / f);
  // Cell centres of the small raster sit at (i + 0.5) * f - 0.5 in the full one.
  const out = createRaster(r.width, r.height);
  for (let y = 0; y < r.height; y++) {
    const sy = Math.min(small.height - 1, Math.max(0, (y + 0.5) / f - 0.5));
    const y0 = Math.min(small.height - 2, Math.floor(sy));
    const fy = small.height === 1 ? 0 : sy - Math.max(0, y0);
    for (let x = 0; x < r.width; x++) {
      const sx = Math.min(small.width - 1, Math.max(0, (x + 0.5) / f - 0.5));
      const x0 = Math.min(small.width - 2, Math.floor(sx));
      const fx = small.width === 1 ? 0 : sx - Math.max(0, x0);
      const i = Math.max(0, y0) * small.width + Math.max(0, x0);
      const dx = small.width === 1 ? 0 : 1;
      const dy = small.height === 1 ? 0 : small.width;
      const top = (small.data[i] as number) * (1 - fx) + (small.data[i + dx] as number) * fx;
      const bot = (small.data[i + dy] as number) * (1 - fx) + (small.data[i + dy + dx] as number) * fx;
      out.data[y * r.width + x] = top * (1 - fy) + bot * fy;
    }
  }
  return out;
}

/** Unsharp mask (edge enhancement as done by digital radiography consoles). */
export function unsharp(r: Raster, sigma: number, amount: number): void {
  const low = blurredCopy(r, sigma);
  const { data } = r;
  for (let i = 0; i < data.length; i++) data[i] = (data[i] as number) + amount * ((data[i] as number) - (low.data[i] as number));
}

/** Maps [0, 1] values to 8-bit with rounding and clipping. */
export function toUint8(r: Raster): Uint8Array {
  const out = new Uint8Array(r.data.length);
  const { data } = r;
  for (let i = 0; i < data.length; i++) {
    const v = (data[i] as number) * 255 + 0.5;
    out[i] = v <= 0 ? 0 : v >= 255 ? 255 : v;
  }
  return out;
}
