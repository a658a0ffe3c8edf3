// Normal macular OCT B-scan anatomy for the phantom: a per-column layer model (thickness of each
// retinal layer at every x), rasterised into a linear reflectivity map. Findings edit the per-column
// arrays (RPE lift, subretinal fluid, thickening) before rasterisation and draw into the map after.
import type { Rng } from '../../core/rng.js';
import { addEllipse, createRaster, type Raster, smoothstep, valueNoise } from './raster.js';

/** Retinal layers from the inner limiting membrane down to the RPE. */
export const OCT_LAYERS = ['nfl', 'gcl', 'ipl', 'inl', 'opl', 'onl', 'is', 'ez', 'os', 'rpe'] as const;
export type OctLayer = (typeof OCT_LAYERS)[number];

/** Linear reflectivity of each layer (nerve fibres, plexiform layers and the RPE/EZ are bright). */
const REFLECTIVITY: Record<OctLayer, number> = {
  nfl: 0.5,
  gcl: 0.13,
  ipl: 0.22,
  inl: 0.045,
  opl: 0.2,
  onl: 0.022,
  is: 0.06,
  ez: 0.6,
  os: 0.08,
  rpe: 1,
};

/** Share of the (non-foveal) retinal thickness taken by each layer. */
const SHARE: Record<OctLayer, number> = {
  nfl: 0.11,
  gcl: 0.14,
  ipl: 0.11,
  inl: 0.11,
  opl: 0.08,
  onl: 0.2,
  is: 0.07,
  ez: 0.035,
  os: 0.06,
  rpe: 0.055,
};

export interface OctLayout {
  width: number;
  height: number;
  /** Fovea centre x and pit half-width (px). */
  foveaX: number;
  pitWidth: number;
  /** y of Bruch's membrane per column (where the RPE would sit without elevation). */
  bruch: Float32Array;
  /** Per-layer thickness per column (px). */
  thickness: Record<OctLayer, Float32Array>;
  /** How far the RPE is lifted off Bruch's membrane (drusen, pigment epithelial detachment). */
  rpeLift: Float32Array;
  /** Reflectivity of whatever fills the space under a lifted RPE. */
  subRpeReflectivity: Float32Array;
  /** Subretinal fluid thickness between the photoreceptor tips and the RPE (dark). */
  fluid: Float32Array;
  choroidThickness: Float32Array;
  /** Columns darkened below retinal vessels (x, half-width, y of the vessel, strength). */
  vessels: Array<{ x: number; halfWidth: number; depth: number; strength: number }>;
  /** After rasterisation: top y of each layer per column (for placing cysts, exudates). */
  tops?: Record<OctLayer, Float32Array>;
}

export function drawOctLayout(width: number, height: number, rng: Rng): OctLayout {
  const W = width;
  const H = height;
  const foveaX = (0.5 + rng.clippedNormal(0, 0.05, -0.15, 0.15)) * W;
  const pitWidth = rng.uniform(0.07, 0.1) * W;
  const pitDepth = rng.uniform(0.8, 0.97);
  const total = rng.uniform(0.19, 0.25) * H;
  const nasal = rng.chance(0.5) ? 1 : -1; // right or left eye: the nerve fibre layer thickens nasally
  const base = rng.uniform(0.5, 0.66);
  const tilt = rng.uniform(-0.08, 0.08);
  const curve = rng.uniform(-0.08, 0.2);
  const wave = valueNoise(W, 1, 0.25 * W, rng);
  const chor = rng.uniform(0.1, 0.2) * H;

  const bruch = new Float32Array(W);
  const choroidThickness = new Float32Array(W);
  const thickness = Object.fromEntries(OCT_LAYERS.map((l) => [l, new Float32Array(W)])) as Record<OctLayer, Float32Array>;
  for (let x = 0; x < W; x++) {
    const u = x / W - 0.5;
    bruch[x] = H * (base + tilt * u + curve * u * u * 2 + 0.01 * (wave[x] as number));
    choroidThickness[x] = chor * (1 - 0.3 * Math.abs(u));
    const d = (x - foveaX) / pitWidth;
    const pit = Math.exp(-d * d);
    const rim = 1 + 0.45 * Math.exp(-(((Math.abs(d) - 1.7) / 0.9) ** 2));
    const nflSide = 0.5 + 1.2 * smoothstep(-0.6, 1.6, nasal * d);
    for (const l of OCT_LAYERS) thickness[l][x] = total * SHARE[l];
    thickness.nfl[x] = (thickness.nfl[x] as number) * nflSide * (1 - pit);
    thickness.gcl[x] = (thickness.gcl[x] as number) * rim * (1 - pitDepth * pit);
    thickness.ipl[x] = (thickness.ipl[x] as number) * (1 + 0.25 * (rim - 1)) * (1 - pitDepth * 0.95 * pit);
    thickness.inl[x] = (thickness.inl[x] as number) * (1 + 0.2 * (rim - 1)) * (1 - pitDepth * 0.9 * pit);
    thickness.opl[x] = (thickness.opl[x] as number) * (1 - pitDepth * 0.75 * pit);
    thickness.onl[x] = (thickness.onl[x] as number) * (1 + 0.5 * pit);
    thickness.is[x] = (thickness.is[x] as number) * (1 + 0.2 * pit);
    thickness.os[x] = (thickness.os[x] as number) * (1 + 0.3 * pit);
  }

  const vessels: OctLayout['vessels'] = [];
  const count = rng.int(2, 6);
  for (let k = 0; k < count; k++) {
    let x = rng.uniform(0.05, 0.95) * W;
    if (Math.abs(x - foveaX) < pitWidth * 1.3) x += 2 * pitWidth * Math.sign(x - foveaX || 1);
    vessels.push({ x, halfWidth: rng.uniform(0.006, 0.014) * W, depth: rng.uniform(0.2, 0.6), strength: rng.uniform(0.3, 0.7) });
  }
  return {
    width: W,
    height: H,
    foveaX,
    pitWidth,
    bruch,
    thickness,
    rpeLift: new Float32Array(W),
    subRpeReflectivity: new Float32Array(W).fill(0.4),
    fluid: new Float32Array(W),
    choroidThickness,
    vessels,
  };
}

/** Rasterises the layout into linear reflectivity (vitreous ~0, RPE ~1) and records layer tops. */
export function rasterizeOct(layout: OctLayout, rng: Rng): Raster {
  const { width: W, height: H } = layout;
  const r = createRaster(W, H);
  const tops = Object.fromEntries(OCT_LAYERS.map((l) => [l, new Float32Array(W)])) as Record<OctLayer, Float32Array>;
  const choroidTexture = valueNoise(W, H, 0.015 * W, rng);
  const layerTexture = valueNoise(W, H, 0.04 * W, rng);
  const order = [...OCT_LAYERS].reverse(); // bottom-up: rpe first
  const bounds = new Float32Array(OCT_LAYERS.length + 1);
  const refl = new Float32Array(OCT_LAYERS.length);
  for (let x = 0; x < W; x++) {
    // Boundaries from Bruch's membrane upwards: sub-RPE space, RPE, fluid, photoreceptors, ...
    const bruch = layout.bruch[x] as number;
    let y = bruch - (layout.rpeLift[x] as number);
    const subRpeTop = y;
    for (const l of order) {
      if (l === 'os') y -= layout.fluid[x] as number;
      y -= layout.thickness[l][x] as number;
      tops[l][x] = y;
    }
    for (let k = 0; k < OCT_LAYERS.length; k++) {
      const l = OCT_LAYERS[k] as OctLayer;
      bounds[k] = tops[l][x] as number;
      refl[k] = REFLECTIVITY[l];
    }
    bounds[OCT_LAYERS.length] = subRpeTop;
    const fluidTop = (tops.os[x] as number) + (layout.thickness.os[x] as number);
    const chorBottom = bruch + (layout.choroidThickness[x] as number);
    let k = 0;
    for (let yy = 0; yy < H; yy++) {
      const i = yy * W + x;
      let v: number;
      if (yy < (bounds[0] as number)) {
        v = 0.0005;
      } else if (yy < subRpeTop) {
        while (k < OCT_LAYERS.length - 1 && yy >= (bounds[k + 1] as number)) k++;
        // Fluid sits between the outer segments and the RPE.
        const inFluid = OCT_LAYERS[k] === 'os' && yy >= fluidTop;
        v = inFluid ? 0.002 : (refl[k] as number) * (1 + 0.3 * (layerTexture[i] as number));
        // Thin bright line: the external limiting membrane at the top of the inner segments.
        if (OCT_LAYERS[k] === 'is' && yy - (bounds[k] as number) < 1.2) v = Math.max(v, 0.15);
      } else if (yy < bruch) {
        v = (layout.subRpeReflectivity[x] as number) * (1 + 0.3 * (layerTexture[i] as number));
      } else if (yy < chorBottom) {
        const depth = (yy - bruch) / Math.max(1, chorBottom - bruch);
        // Choriocapillaris just under Bruch's membrane, then stroma fading with depth.
        v = 0.3 * (1 + 0.3 * (choroidTexture[i] as number)) * Math.exp(-2 * depth) + (depth < 0.05 ? 0.2 : 0);
      } else {
        v = 0.03 * Math.exp(-(yy - chorBottom) / (0.05 * H));
      }
      r.data[i] = v;
    }
  }
  layout.tops = tops;
  drawChoroidalVessels(r, layout, rng);
  return r;
}

/** Large choroidal vessels: dark oval lumens in the deeper choroid (Haller's layer). */
function drawChoroidalVessels(r: Raster, layout: OctLayout, rng: Rng): void {
  const W = layout.width;
  for (let k = Math.round(W / 22); k > 0; k--) {
    const x = rng.uniform(0, W - 1);
    const xi = Math.round(x);
    const depth = rng.uniform(0.25, 0.75) * (layout.choroidThickness[xi] as number);
    const rx = rng.uniform(0.008, 0.025) * W;
    addEllipse(r, x, (layout.bruch[xi] as number) + depth, rx, rx * rng.uniform(0.35, 0.6), rng.uniform(0.15, 0.45), { edge: 0.3, mode: 'mul' });
  }
}

/** Retinal vessels: a bright cross-section in the inner retina and a shadow beneath it. */
export function drawOctVessels(r: Raster, layout: OctLayout): void {
  const tops = layout.tops;
  if (!tops) throw new Error('rasterizeOct must run before drawOctVessels');
  const W = r.width;
  for (const v of layout.vessels) {
    const x0 = Math.max(0, Math.floor(v.x - v.halfWidth));
    const x1 = Math.min(W - 1, Math.ceil(v.x + v.halfWidth));
    for (let x = x0; x <= x1; x++) {
      const ilm = tops.nfl[x] as number;
      const yv = ilm + v.depth * ((tops.inl[x] as number) - ilm);
      const t = 1 - Math.abs(x - v.x) / v.halfWidth;
      const shade = 1 - v.strength * smoothstep(0, 0.8, t);
      for (let y = Math.max(0, Math.floor(yv)); y < r.height; y++) {
        const i = y * W + x;
        r.data[i] = (r.data[i] as number) * (y < yv + v.halfWidth * 0.8 ? 1 + 2 * t : shade);
      }
    }
  }
}
