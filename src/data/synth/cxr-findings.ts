// Disease findings for the CXR phantom, drawn as extra attenuation confined to the lungs. Each
// function reads like the radiology description of the class; `s` is the severity in (0, 1] and
// scales both the density and the extent, so low-severity images are genuinely hard.
import type { Rng } from '../../core/rng.js';
import type { SecondreadClass } from '../classes.js';
import type { CxrAnatomy, LungGeometry } from './cxr-anatomy.js';
import { addEllipse, addGaussian, addSegment, createRaster, type Raster, smoothstep, valueNoise } from './raster.js';

/** x of the lateral lung border at row y (from the lung's ellipse). */
export function lateralBorderX(lung: LungGeometry, y: number): number {
  const e = lung.ellipse;
  const v = Math.min(0.999, Math.abs((y - e.cy) / e.ry));
  return e.cx + lung.side * e.rx * Math.sqrt(1 - v * v);
}

/** y at fraction t of the way from the apex to the costophrenic angle. */
export function zoneY(lung: LungGeometry, t: number): number {
  return lung.apexY + t * (lung.costoY - lung.apexY);
}

function bothOrOne(rng: Rng, pBoth: number, lungs: readonly LungGeometry[]): LungGeometry[] {
  return rng.chance(pBoth) ? [...lungs] : [rng.pick(lungs)];
}

/** Multiplies a raster by (1 + k * noise) so opacities are patchy rather than smooth blobs. */
export function mottle(r: Raster, k: number, cell: number, rng: Rng): void {
  const n = valueNoise(r.width, r.height, cell, rng);
  for (let i = 0; i < r.data.length; i++) {
    const v = r.data[i] as number;
    if (v !== 0) r.data[i] = v * Math.max(0, 1 + k * (n[i] as number));
  }
}

/** COVID-19: bilateral, peripheral, lower-zone predominant ground-glass opacities. */
function covid(a: CxrAnatomy, s: number, rng: Rng): Raster {
  const W = a.width;
  const f = createRaster(W, a.height);
  for (const lung of bothOrOne(rng, 0.85, a.lungs)) {
    const patches = 1 + Math.round(s * rng.uniform(2, 5));
    for (let p = 0; p < patches; p++) {
      const y = zoneY(lung, 0.35 + 0.6 * Math.sqrt(rng.next()));
      const x = lateralBorderX(lung, y) - lung.side * rng.uniform(0.015, 0.06) * W;
      const sx = (0.03 + 0.045 * s * rng.uniform(0.6, 1.2)) * W;
      addGaussian(f, x, y, sx, sx * rng.uniform(1.2, 1.9), (0.02 + 0.1 * s) * rng.uniform(0.75, 1.2), rng.normal(0, 0.2));
    }
  }
  mottle(f, 0.55, 0.03 * W, rng);
  mottle(f, 0.15, 0.012 * W, rng);
  return f;
}

/** Viral pneumonia: diffuse bilateral interstitial (reticular) pattern, perihilar, with peribronchial streaks. */
function viralPneumonia(a: CxrAnatomy, s: number, rng: Rng): Raster {
  const W = a.width;
  const H = a.height;
  const f = createRaster(W, H);
  // Reticulation: ridges of smooth noise (where it crosses zero) form a fine network of lines.
  const n1 = valueNoise(W, H, 0.03 * W, rng);
  const n2 = valueNoise(W, H, 0.014 * W, rng);
  const amp = 0.015 + 0.1 * s;
  const [l0, l1] = a.lungs;
  const spread = (0.13 + 0.08 * s) * W;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      if ((a.lungMask.data[i] as number) === 0) continue;
      const lung = x < W / 2 ? l0 : l1;
      const dx = x - lung.hilumX;
      const dy = (y - lung.hilumY) * 0.8;
      const perihilar = Math.exp(-(dx * dx + dy * dy) / (2 * spread * spread));
      const lower = 0.35 * smoothstep(lung.hilumY, lung.costoY, y);
      const ridge = Math.max(0, 1 - Math.abs(n1[i] as number) / 0.12) + 0.7 * Math.max(0, 1 - Math.abs(n2[i] as number) / 0.14);
      f.data[i] = amp * (perihilar + lower) * (0.8 + 0.6 * ridge);
    }
  }
  // Peribronchial thickening: streaks radiating from both hila.
  for (const lung of a.lungs) {
    const streaks = 6 + Math.round(10 * s);
    for (let k = 0; k < streaks; k++) {
      const angle = (lung.side < 0 ? Math.PI : 0) - lung.side * rng.uniform(-1.3, 1.4);
      const len = rng.uniform(0.06, 0.14) * W;
      const r0 = rng.uniform(0.015, 0.04) * W;
      addSegment(
        f,
        lung.hilumX + Math.cos(angle) * r0,
        lung.hilumY + Math.sin(angle) * r0,
        lung.hilumX + Math.cos(angle) * len,
        lung.hilumY + Math.sin(angle) * len,
        0.005 * W,
        0.003 * W,
        amp * 0.6,
        amp * 0.1,
      );
    }
  }
  return f;
}

/** Lung opacity: lobar (or segmental) consolidation, dense and homogeneous, with air bronchograms. */
function lungOpacity(a: CxrAnatomy, s: number, rng: Rng): Raster {
  const W = a.width;
  const H = a.height;
  const f = createRaster(W, H);
  const lobe = rng.pick(['upper', 'middle', 'lower', 'lower'] as const);
  const lung = lobe === 'middle' ? a.lungs[0] : rng.pick(a.lungs);
  const fissureY = lung.hilumY + rng.uniform(-0.02, 0.02) * H;
  const medialX = lung.hilumX;
  // Where in the lobe the consolidation is centred, and how far it extends (severity).
  const cy =
    lobe === 'upper' ? zoneY(lung, rng.uniform(0.15, 0.35)) : lobe === 'middle' ? zoneY(lung, rng.uniform(0.55, 0.7)) : zoneY(lung, rng.uniform(0.65, 0.85));
  const cxp = lobe === 'middle' ? medialX + lung.side * rng.uniform(0.02, 0.06) * W : (lateralBorderX(lung, cy) + medialX) / 2;
  const extent = (0.05 + 0.13 * s) * W;
  const density = (0.05 + 0.28 * s) * rng.uniform(0.85, 1.15);
  const edge = W / 300;
  const e = lung.ellipse;
  const x0 = Math.max(0, Math.floor(e.cx - e.rx));
  const x1 = Math.min(W - 1, Math.ceil(e.cx + e.rx));
  for (let y = Math.max(0, Math.floor(lung.apexY)); y <= Math.min(H - 1, Math.ceil(lung.costoY)); y++) {
    // The fissure gives upper- and middle-lobe consolidation its sharp straight border.
    const lobeWeight =
      lobe === 'upper'
        ? 1 - smoothstep(fissureY - edge, fissureY + edge, y)
        : lobe === 'middle'
          ? smoothstep(fissureY - edge, fissureY + edge, y)
          : smoothstep(fissureY, fissureY + 0.08 * H, y);
    if (lobeWeight === 0) continue;
    for (let x = x0; x <= x1; x++) {
      if (lobe === 'middle' && (x - medialX) * lung.side > 0.14 * W) continue;
      const dx = x - cxp;
      const dy = y - cy;
      const blob = Math.exp(-(dx * dx + dy * dy) / (2 * extent * extent));
      f.data[y * W + x] = density * lobeWeight * Math.min(1, 1.6 * blob);
    }
  }
  mottle(f, 0.2, 0.03 * W, rng);
  // Air bronchograms: dark tubes branching away from the hilum inside the consolidation.
  const bronchi = createRaster(W, H);
  const away = Math.atan2(cy - lung.hilumY, cxp - lung.hilumX);
  const grow = (x: number, y: number, angle: number, len: number, width: number, depth: number): void => {
    const nx = x + Math.cos(angle) * len;
    const ny = y + Math.sin(angle) * len;
    addSegment(bronchi, x, y, nx, ny, width, width * 0.75, 1);
    if (depth > 0) {
      grow(nx, ny, angle - rng.uniform(0.2, 0.5), len * 0.75, width * 0.75, depth - 1);
      grow(nx, ny, angle + rng.uniform(0.2, 0.5), len * 0.75, width * 0.75, depth - 1);
    }
  };
  for (let k = 0; k < 1 + Math.round(2 * s); k++) {
    const start = rng.uniform(0.5, 1) * extent;
    grow(
      cxp - Math.cos(away) * start + rng.normal(0, 0.01 * W),
      cy - Math.sin(away) * start + rng.normal(0, 0.01 * W),
      away + rng.normal(0, 0.35),
      extent * 0.6,
      0.003 * W,
      2,
    );
  }
  for (let i = 0; i < f.data.length; i++) f.data[i] = (f.data[i] as number) * (1 - 0.3 * Math.min(1, bronchi.data[i] as number));
  return f;
}

/** Tuberculosis: upper-zone clustered nodules, fibrotic streaks towards the hilum, sometimes a cavity. */
function tuberculosis(a: CxrAnatomy, s: number, rng: Rng): Raster {
  const W = a.width;
  const f = createRaster(W, a.height);
  for (const lung of bothOrOne(rng, 0.4, a.lungs)) {
    const cy = zoneY(lung, rng.uniform(0.08, 0.3));
    const cx = (lateralBorderX(lung, cy) + lung.hilumX) / 2 + rng.normal(0, 0.02 * W);
    const spread = (0.03 + 0.04 * s) * W;
    // Hazy infiltrate around the cluster (acinar shadows merging).
    addGaussian(f, cx, cy, spread * 1.3, spread * 1.1, 0.015 + 0.08 * s);
    const nodules = 2 + Math.round(s * 18);
    for (let k = 0; k < nodules; k++) {
      const r = (0.006 + 0.01 * rng.next()) * W;
      addEllipse(f, cx + rng.normal(0, spread), cy + rng.normal(0, spread * 0.8), r, r * rng.uniform(0.8, 1.2), (0.025 + 0.11 * s) * rng.uniform(0.7, 1.2), {
        edge: 0.7,
      });
    }
    for (let k = 0; k < 2 + Math.round(5 * s); k++) {
      // Fibrotic strands, slightly kinked, pulling towards the hilum.
      const x0 = cx + rng.normal(0, spread);
      const y0 = cy + rng.normal(0, spread);
      const tx = lung.hilumX + rng.normal(0, 0.02 * W);
      const ty = lung.hilumY + rng.normal(0, 0.02 * W);
      const mx = (x0 + tx) / 2 + rng.normal(0, 0.015 * W);
      const my = (y0 + ty) / 2 + rng.normal(0, 0.015 * W);
      const a = 0.02 + 0.05 * s;
      addSegment(f, x0, y0, mx, my, 0.004 * W, 0.003 * W, a, a * 0.6);
      addSegment(f, mx, my, tx, ty, 0.003 * W, 0.002 * W, a * 0.6, 0.005);
    }
    if (rng.chance(0.1 + 0.6 * s)) {
      // Cavity: a thick-walled ring with air inside.
      const r = (0.018 + 0.022 * s) * W;
      const kx = cx + rng.normal(0, spread * 0.5);
      const ky = cy + rng.normal(0, spread * 0.5);
      addEllipse(f, kx, ky, r, r * rng.uniform(0.8, 1.1), 0.07 + 0.12 * s, { edge: 0.3 });
      addEllipse(f, kx, ky, r * 0.6, r * 0.55, 0.05, { edge: 0.3, mode: 'mul' });
    }
  }
  return f;
}

const FINDINGS: Partial<Record<SecondreadClass, (a: CxrAnatomy, s: number, rng: Rng) => Raster>> = {
  'lung-covid': covid,
  'lung-viral-pneumonia': viralPneumonia,
  'lung-opacity': lungOpacity,
  'lung-tuberculosis': tuberculosis,
};

/** Adds the class's finding (none for lung-normal) to the anatomy's attenuation, inside the lungs. */
export function addCxrFinding(a: CxrAnatomy, cls: SecondreadClass, severity: number, rng: Rng): void {
  const draw = FINDINGS[cls];
  if (!draw) return;
  const f = draw(a, severity, rng);
  const { data } = a.atten;
  for (let i = 0; i < data.length; i++) {
    const m = a.lungMask.data[i] as number;
    if (m > 0) data[i] = (data[i] as number) + m * (f.data[i] as number);
  }
}
