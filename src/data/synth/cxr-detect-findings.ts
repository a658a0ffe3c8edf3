// The 14 VinDr-CXR findings for the detector's phantoms, each drawn where and as large as it appears
// on a radiograph, and each with its true box. Density findings return a raster of extra attenuation
// (anatomy coordinates) and whether it is confined to the aerated lung; the box is then the extent of
// what was drawn (findingExtent), so a box never claims more or less than is in the image. The two
// findings that change anatomy (cardiomegaly, aortic enlargement) are passed to drawCxrAnatomy as size
// factors and boxed from the anatomy's own geometry.
import type { Rng } from '../../core/rng.js';
import type { DetectionClass } from '../classes.js';
import type { CxrAnatomy, LungGeometry } from './cxr-anatomy.js';
import { lateralBorderX, mottle, zoneY } from './cxr-findings.js';
import { addEllipse, addGaussian, addSegment, createRaster, type Raster, smoothstep, valueNoise } from './raster.js';

/** A drawn density finding, in anatomy pixels. */
export interface DrawnFinding {
  raster: Raster;
  /** Multiply by the lung mask before adding (airspace and interstitial findings). */
  confined: boolean;
}

export type DensityClass = Exclude<DetectionClass, 'Cardiomegaly' | 'Aortic enlargement'>;

/** A point inside the lung at height fraction t and lateral fraction u (0 = hilum side, 1 = chest wall). */
function lungPoint(lung: LungGeometry, t: number, u: number): [number, number] {
  const y = zoneY(lung, t);
  return [lung.hilumX + (lateralBorderX(lung, y) - lung.hilumX) * u, y];
}

/** Reticulation (a network of fine lines) weighted by `weight(x, y)`: interstitial patterns. */
function reticular(a: CxrAnatomy, rng: Rng, cell: number, amp: number, weight: (x: number, y: number) => number): Raster {
  const { width: W, height: H } = a;
  const f = createRaster(W, H);
  const n1 = valueNoise(W, H, cell, rng);
  const n2 = valueNoise(W, H, cell * 0.5, rng);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const w = weight(x, y);
      if (w <= 0.01) continue;
      const i = y * W + x;
      const ridge = Math.max(0, 1 - Math.abs(n1[i] as number) / 0.12) + 0.7 * Math.max(0, 1 - Math.abs(n2[i] as number) / 0.14);
      f.data[i] = amp * w * (0.35 + 0.65 * ridge);
    }
  }
  return f;
}

/** A smooth window: 1 inside [lo, hi], falling off over `soft` outside. */
function window(v: number, lo: number, hi: number, soft: number): number {
  return smoothstep(lo - soft, lo, v) * (1 - smoothstep(hi, hi + soft, v));
}

type Drawer = (a: CxrAnatomy, s: number, rng: Rng) => DrawnFinding;

const DRAWERS: Record<DensityClass, Drawer> = {
  /** Plate-like (discoid) atelectasis: a thin dense band, roughly horizontal, in a lower zone. */
  Atelectasis(a, s, rng) {
    const f = createRaster(a.width, a.height);
    const lung = rng.pick(a.lungs);
    const [x, y] = lungPoint(lung, rng.uniform(0.6, 0.85), rng.uniform(0.3, 0.7));
    const half = rng.uniform(0.04, 0.08) * a.width;
    const tilt = rng.normal(0, 0.15);
    const w = rng.uniform(0.007, 0.014) * a.width;
    addSegment(f, x - half, y - tilt * half, x + half, y + tilt * half, w, w * 0.8, 0.1 + 0.15 * s);
    return { raster: f, confined: true };
  },
  /** Calcified granuloma / nodes: a few very dense small dots in a cluster. */
  Calcification(a, s, rng) {
    const f = createRaster(a.width, a.height);
    const lung = rng.pick(a.lungs);
    const [x, y] = lungPoint(lung, rng.uniform(0.2, 0.6), rng.uniform(0.1, 0.8));
    for (let k = rng.int(1, 4); k > 0; k--) {
      const r = rng.uniform(0.004, 0.009) * a.width;
      addEllipse(f, x + rng.normal(0, 0.01 * a.width), y + rng.normal(0, 0.01 * a.width), r, r * rng.uniform(0.8, 1.2), 0.3 + 0.25 * s, { edge: 0.3 });
    }
    return { raster: f, confined: false };
  },
  /** Consolidation: a dense, homogeneous, fairly well-defined airspace opacity. */
  Consolidation(a, s, rng) {
    const f = createRaster(a.width, a.height);
    const lung = rng.pick(a.lungs);
    const [x, y] = lungPoint(lung, rng.uniform(0.3, 0.85), rng.uniform(0.3, 0.75));
    const rx = rng.uniform(0.035, 0.07) * a.width;
    addEllipse(f, x, y, rx, rx * rng.uniform(0.7, 1.3), 0.15 + 0.2 * s, { edge: 0.35, angle: rng.uniform(0, Math.PI) });
    mottle(f, 0.25, 0.02 * a.width, rng);
    return { raster: f, confined: true };
  },
  /** Interstitial lung disease: bilateral reticulation in the lower zones, often both lungs. */
  ILD(a, s, rng) {
    const lungs = rng.chance(0.7) ? [...a.lungs] : [rng.pick(a.lungs)];
    const w = (x: number, y: number) => {
      let m = 0;
      for (const l of lungs) {
        if ((x - a.width / 2) * l.side < 0) continue;
        m = Math.max(m, window(y, zoneY(l, 0.55), l.costoY, 0.04 * a.height));
      }
      return m;
    };
    return { raster: reticular(a, rng, 0.025 * a.width, 0.06 + 0.1 * s, w), confined: true };
  },
  /** Infiltration: patchy, ill-defined hazy opacity. */
  Infiltration(a, s, rng) {
    const f = createRaster(a.width, a.height);
    const lung = rng.pick(a.lungs);
    const [x, y] = lungPoint(lung, rng.uniform(0.25, 0.8), rng.uniform(0.3, 0.8));
    for (let k = rng.int(2, 4); k > 0; k--) {
      const sx = rng.uniform(0.02, 0.035) * a.width;
      addGaussian(f, x + rng.normal(0, 0.025 * a.width), y + rng.normal(0, 0.025 * a.width), sx, sx * rng.uniform(0.8, 1.5), 0.05 + 0.08 * s);
    }
    mottle(f, 0.6, 0.015 * a.width, rng);
    return { raster: f, confined: true };
  },
  /** Lung opacity: a larger hazy ground-glass area. */
  'Lung Opacity'(a, s, rng) {
    const f = createRaster(a.width, a.height);
    const lung = rng.pick(a.lungs);
    const [x, y] = lungPoint(lung, rng.uniform(0.3, 0.8), rng.uniform(0.35, 0.75));
    const sx = rng.uniform(0.04, 0.07) * a.width;
    addGaussian(f, x, y, sx, sx * rng.uniform(1, 1.6), 0.07 + 0.1 * s, rng.normal(0, 0.3));
    mottle(f, 0.3, 0.03 * a.width, rng);
    return { raster: f, confined: true };
  },
  /** Nodule (< 3 cm) or mass: a round, well-defined opacity. */
  'Nodule/Mass'(a, s, rng) {
    const f = createRaster(a.width, a.height);
    const lung = rng.pick(a.lungs);
    const [x, y] = lungPoint(lung, rng.uniform(0.15, 0.8), rng.uniform(0.25, 0.85));
    const r = (rng.chance(0.75) ? rng.uniform(0.012, 0.025) : rng.uniform(0.03, 0.05)) * a.width;
    addEllipse(f, x, y, r, r * rng.uniform(0.85, 1.15), 0.14 + 0.18 * s, { edge: 0.25 });
    return { raster: f, confined: true };
  },
  /** Other lesion: here an expansile bone lesion of a lateral rib or the chest wall (outside the lung). */
  'Other lesion'(a, s, rng) {
    const f = createRaster(a.width, a.height);
    const lung = rng.pick(a.lungs);
    const y = zoneY(lung, rng.uniform(0.2, 0.7));
    const x = lateralBorderX(lung, y) + lung.side * rng.uniform(0.0, 0.02) * a.width;
    const r = rng.uniform(0.018, 0.035) * a.width;
    addEllipse(f, x, y, r * rng.uniform(0.8, 1.3), r, 0.15 + 0.15 * s, { edge: 0.2, angle: rng.uniform(0, Math.PI) });
    return { raster: f, confined: false };
  },
  /** Pleural effusion: fluid filling the costophrenic angle, its upper border a meniscus rising laterally. */
  'Pleural effusion'(a, s, rng) {
    const f = createRaster(a.width, a.height);
    const lung = rng.pick(a.lungs);
    const depth = (0.06 + 0.12 * s) * a.height * rng.uniform(0.8, 1.2);
    const top = lung.costoY - depth;
    const medial = lung.hilumX;
    const lateral = lateralBorderX(lung, lung.costoY - 0.5 * depth) + lung.side * 0.02 * a.width;
    const span = Math.abs(lateral - medial);
    const x0 = Math.max(0, Math.floor(Math.min(medial, lateral)));
    const x1 = Math.min(a.width - 1, Math.ceil(Math.max(medial, lateral)));
    const edge = Math.max(1, a.width / 200);
    for (let y = Math.max(0, Math.floor(top - 0.05 * a.height)); y < Math.min(a.height, Math.ceil(lung.costoY + 0.05 * a.height)); y++) {
      for (let x = x0; x <= x1; x++) {
        const u = Math.abs(x - medial) / span; // 0 medial … 1 lateral
        const meniscus = top + depth * 0.45 * (1 - u * u);
        f.data[y * a.width + x] = (0.3 + 0.15 * s) * smoothstep(meniscus - edge, meniscus + edge, y);
      }
    }
    return { raster: f, confined: true };
  },
  /** Pleural thickening: a smooth band along the lateral chest wall (or an apical cap). */
  'Pleural thickening'(a, s, rng) {
    const f = createRaster(a.width, a.height);
    const lung = rng.pick(a.lungs);
    const t0 = rng.uniform(0.05, 0.5);
    const t1 = t0 + rng.uniform(0.15, 0.35);
    const w = rng.uniform(0.006, 0.012) * a.width;
    const steps = 12;
    for (let k = 0; k < steps; k++) {
      const ya = zoneY(lung, t0 + ((t1 - t0) * k) / steps);
      const yb = zoneY(lung, t0 + ((t1 - t0) * (k + 1)) / steps);
      const inset = lung.side * 0.5 * w;
      addSegment(f, lateralBorderX(lung, ya) - inset, ya, lateralBorderX(lung, yb) - inset, yb, w, w, 0.12 + 0.12 * s);
    }
    return { raster: f, confined: false };
  },
  /** Pneumothorax: at the apex and along the lateral wall, air without lung markings outside a thin visceral pleural line. */
  Pneumothorax(a, s, rng) {
    const f = createRaster(a.width, a.height);
    const lung = rng.pick(a.lungs);
    const bottom = zoneY(lung, rng.uniform(0.35, 0.6));
    const gap0 = (0.03 + 0.05 * s) * a.width; // rim width at the apex
    const edge = Math.max(1, a.width / 300);
    for (let y = Math.max(0, Math.floor(lung.apexY - 0.03 * a.height)); y < Math.min(a.height, Math.ceil(bottom)); y++) {
      const gap = gap0 * (1 - smoothstep(lung.apexY, bottom, y));
      if (gap < 1) continue;
      const border = lateralBorderX(lung, Math.max(y, lung.apexY + 1));
      const pleura = border - lung.side * gap; // the collapsed lung's edge
      const xa = Math.max(0, Math.floor(Math.min(border, pleura) - 3));
      const xb = Math.min(a.width - 1, Math.ceil(Math.max(border, pleura) + 3));
      for (let x = xa; x <= xb; x++) {
        const outside = (x - pleura) * lung.side; // > 0 between the pleural line and the chest wall
        const air = smoothstep(-edge, edge, outside);
        const line = Math.exp(-(outside * outside) / (2 * edge * edge));
        f.data[y * a.width + x] = -(0.1 + 0.1 * s) * air + (0.1 + 0.08 * s) * line;
      }
    }
    // The top of the rim fades into the apex without a hard corner.
    const apexCap = createRaster(a.width, a.height);
    addGaussian(apexCap, lateralBorderX(lung, lung.apexY + gap0) - lung.side * gap0 * 0.5, lung.apexY + gap0 * 0.5, gap0 * 0.6, gap0 * 0.4, -(0.05 + 0.05 * s));
    for (let i = 0; i < f.data.length; i++) f.data[i] = (f.data[i] as number) + (apexCap.data[i] as number);
    return { raster: f, confined: true };
  },
  /** Pulmonary fibrosis: coarse reticulation and strands in an upper zone, with volume loss. */
  'Pulmonary fibrosis'(a, s, rng) {
    const lung = rng.pick(a.lungs);
    const w = (x: number, y: number) => ((x - a.width / 2) * lung.side < 0 ? 0 : window(y, lung.apexY, zoneY(lung, 0.45), 0.04 * a.height));
    const f = reticular(a, rng, 0.035 * a.width, 0.08 + 0.1 * s, w);
    for (let k = 2 + Math.round(3 * s); k > 0; k--) {
      const [x, y] = lungPoint(lung, rng.uniform(0.1, 0.4), rng.uniform(0.3, 0.9));
      addSegment(f, x, y, lung.hilumX, lung.hilumY, 0.004 * a.width, 0.003 * a.width, 0.06 + 0.05 * s, 0.02);
    }
    return { raster: f, confined: true };
  },
};

export function drawDensityFinding(cls: DensityClass, a: CxrAnatomy, severity: number, rng: Rng): DrawnFinding {
  return DRAWERS[cls](a, severity, rng);
}

/**
 * The box [x0, y0, x1, y1] (anatomy pixels, pixel i covering [i, i + 1)) of where the finding's
 * |attenuation| (after the lung mask, when confined) is at least `fraction` of its peak; null when
 * nothing of it is left inside the image (a finding drawn under the mediastinum, say).
 */
export function findingExtent(f: DrawnFinding, a: CxrAnatomy, fraction = 0.3): [number, number, number, number] | null {
  const { width: W, height: H } = a;
  const value = (i: number) => Math.abs((f.raster.data[i] as number) * (f.confined ? (a.lungMask.data[i] as number) : 1));
  let peak = 0;
  for (let i = 0; i < W * H; i++) peak = Math.max(peak, value(i));
  if (peak <= 1e-6) return null;
  let [x0, y0, x1, y1] = [W, H, -1, -1];
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++)
      if (value(y * W + x) >= fraction * peak) {
        if (x < x0) x0 = x;
        if (x + 1 > x1) x1 = x + 1;
        if (y < y0) y0 = y;
        if (y + 1 > y1) y1 = y + 1;
      }
  return [x0, y0, x1, y1];
}

/** Adds a drawn finding to the anatomy's attenuation. */
export function applyFinding(a: CxrAnatomy, f: DrawnFinding): void {
  const { data } = a.atten;
  for (let i = 0; i < data.length; i++) {
    const v = f.raster.data[i] as number;
    if (v !== 0) data[i] = (data[i] as number) + v * (f.confined ? (a.lungMask.data[i] as number) : 1);
  }
}

/** The heart silhouette's box: the rotated ellipse's extent, cut at the diaphragm (below it the heart is not seen). */
export function heartBox(a: CxrAnatomy): [number, number, number, number] {
  const { cx, cy, rx, ry, angle } = a.heart;
  const hw = Math.sqrt((rx * Math.cos(angle)) ** 2 + (ry * Math.sin(angle)) ** 2);
  const hh = Math.sqrt((rx * Math.sin(angle)) ** 2 + (ry * Math.cos(angle)) ** 2);
  const dome = Math.max(a.lungs[0].domeY, a.lungs[1].domeY);
  return [cx - hw, cy - hh, cx + hw, Math.min(cy + hh, dome + 0.02 * a.height)];
}

/** The aortic knob's box, with the descending aorta's shoulder below it. */
export function knobBox(a: CxrAnatomy): [number, number, number, number] {
  const { cx, cy, r } = a.knob;
  return [cx - r, cy - r, cx + r, cy + 1.4 * r];
}
