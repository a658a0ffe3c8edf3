// Normal chest anatomy for the CXR phantom, as an attenuation map (0 = air, ~1 = spine behind the
// mediastinum) plus the lung mask the findings are confined to. Patient-to-patient variation (body
// habitus, lung size, heart size, diaphragm level, rib spacing, breast shadows) is drawn here: it
// is nuisance a classifier must ignore.
import type { Rng } from '../../core/rng.js';
import { addBand, addEllipse, addGaussian, addSegment, blurredCopy, createRaster, type Raster, smoothstep, valueNoise } from './raster.js';

/** Geometry of one lung in pixels; side -1 is the image-left lung (patient's right). */
export interface LungGeometry {
  side: -1 | 1;
  /** Lateral chest-wall x at the widest point. */
  lateralX: number;
  apexY: number;
  /** Top of the hemidiaphragm dome. */
  domeY: number;
  /** Lateral costophrenic angle. */
  costoY: number;
  /** Hilum (where the pulmonary vessels enter). */
  hilumX: number;
  hilumY: number;
  ellipse: { cx: number; cy: number; rx: number; ry: number };
}

export interface CxrAnatomy {
  width: number;
  height: number;
  /** Attenuation map. */
  atten: Raster;
  /** 0..1, 1 inside aerated lung not covered by the mediastinum/heart. */
  lungMask: Raster;
  lungs: [LungGeometry, LungGeometry];
  /** The heart silhouette (a rotated ellipse) and the aortic knob, for findings that box them. */
  heart: { cx: number; cy: number; rx: number; ry: number; angle: number };
  knob: { cx: number; cy: number; r: number };
}

/** Findings that change the anatomy itself rather than adding density (the detector's phantoms). */
export interface AnatomyChanges {
  /** Heart size factor (cardiomegaly: > 1; default 1). */
  heartScale?: number;
  /** Aortic knob size factor (aortic enlargement: > 1; default 1). */
  knobScale?: number;
}

/** Half-width of the mediastinum at row y (narrow at the trachea, wider at the hila). */
function mediastinumHalfWidth(y: number, top: number, hilumY: number, w: number, h: number): number {
  const t = smoothstep(top, hilumY, y);
  return w * (0.04 + 0.025 * t) + 0.004 * h * Math.sin((y / h) * 9);
}

export function drawCxrAnatomy(width: number, height: number, rng: Rng, changes: AnatomyChanges = {}): CxrAnatomy {
  const W = width;
  const H = height;
  const cx = W / 2;
  const atten = createRaster(W, H);

  // --- Patient parameters (all relative to the image so any size renders the same patient) ---
  const bodyHalfW = rng.clippedNormal(0.45, 0.025, 0.39, 0.5) * W;
  const tissue = rng.clippedNormal(0.58, 0.05, 0.45, 0.7); // soft-tissue attenuation (habitus)
  const apexY = rng.clippedNormal(0.11, 0.015, 0.07, 0.15) * H;
  const domeY = rng.clippedNormal(0.66, 0.03, 0.58, 0.74) * H; // right dome (image left)
  const domeYL = domeY + rng.uniform(0.005, 0.035) * H; // left dome is usually lower
  const lungHalfSpan = rng.clippedNormal(0.34, 0.02, 0.29, 0.4) * W;
  const hilumY = apexY + (domeY - apexY) * rng.uniform(0.42, 0.5);
  const airAmp = rng.uniform(0.3, 0.38);
  const boneAmp = rng.uniform(0.05, 0.08);
  const female = rng.chance(0.45);

  // --- Body soft tissue: a cylinder-like falloff towards the skin edge; neck and shoulders ---
  const neckY = 0.06 * H;
  const shoulderY = apexY + 0.05 * H;
  for (let y = 0; y < H; y++) {
    const flare = smoothstep(0, shoulderY, y);
    const hw =
      0.11 * W + (bodyHalfW + 0.03 * W - 0.11 * W) * flare - 0.03 * W * smoothstep(shoulderY, shoulderY + 0.12 * H, y) + 0.02 * W * smoothstep(domeY, H, y);
    const row = y * W;
    const top = smoothstep(-0.02 * H, neckY, y);
    for (let x = Math.max(0, Math.floor(cx - hw - 2)); x < Math.min(W, Math.ceil(cx + hw + 2)); x++) {
      const q = 1 - ((x - cx) / hw) ** 2;
      if (q <= 0) continue;
      atten.data[row + x] = tissue * Math.sqrt(Math.sqrt(q)) * top;
    }
  }

  // --- Mediastinum (incl. heart and aortic knob) as a 0..1 mask ---
  const med = createRaster(W, H);
  for (let y = 0; y < H; y++) {
    const hw = mediastinumHalfWidth(y, apexY, hilumY, W, H);
    const row = y * W;
    for (let x = Math.max(0, Math.floor(cx - hw - 3)); x <= Math.min(W - 1, Math.ceil(cx + hw + 3)); x++) {
      med.data[row + x] = 1 - smoothstep(hw - 1.5, hw + 1.5, Math.abs(x - cx));
    }
  }
  // The size factors multiply values already drawn, so the draw sequence (and every image of the
  // classification phantoms, which pass none) is unchanged.
  const heartScale = changes.heartScale ?? 1;
  const heartRx = rng.clippedNormal(0.145, 0.015, 0.11, 0.2) * W * heartScale;
  const heartRy = heartRx * rng.uniform(0.75, 0.9);
  // An enlarged heart grows mostly to the patient's left (image right).
  const heartCx = cx + rng.uniform(0.025, 0.06) * W + (heartScale - 1) * 0.5 * heartRx;
  const heartCy = domeYL - heartRy * rng.uniform(0.15, 0.35); // sits on (and into) the left dome
  const heartAngle = -rng.uniform(0.2, 0.45);
  addEllipse(med, heartCx, heartCy, heartRx, heartRy, 1, { angle: heartAngle, edge: 0.02, mode: 'max' });
  const knobY = apexY + (hilumY - apexY) * rng.uniform(0.45, 0.65);
  const knobScale = changes.knobScale ?? 1;
  const knob = { cx: cx + 0.045 * W + (knobScale - 1) * 0.02 * W, cy: knobY, r: 0.03 * W * knobScale };
  addEllipse(med, knob.cx, knob.cy, knob.r, knob.r, 1, { edge: 0.25, mode: 'max' });

  // --- Lungs: an ellipse cut by the mediastinum and by the hemidiaphragm dome ---
  const lungs = ([-1, 1] as const).map((side): LungGeometry => {
    const lateralX = cx + side * lungHalfSpan * rng.uniform(0.96, 1.04);
    const dome = side < 0 ? domeY : domeYL;
    const costoY = dome + rng.uniform(0.05, 0.09) * H;
    const rx = Math.abs(lateralX - cx) * 0.66;
    const ry = (costoY - apexY) * 0.75;
    return {
      side,
      lateralX,
      apexY: apexY + rng.uniform(-0.01, 0.01) * H,
      domeY: dome,
      costoY,
      hilumX: cx + side * rng.uniform(0.075, 0.095) * W,
      hilumY: hilumY + (side > 0 ? -0.015 * H : 0),
      ellipse: { cx: lateralX - side * rx, cy: apexY + ry, rx, ry },
    };
  }) as [LungGeometry, LungGeometry];

  const lungMask = createRaster(W, H);
  for (const lung of lungs) drawLungMask(lungMask, lung, cx);
  for (let i = 0; i < lungMask.data.length; i++) lungMask.data[i] = (lungMask.data[i] as number) * (1 - (med.data[i] as number));

  // Air thickness: deepest in the middle of each lung, thin at the edges (blurred mask).
  const depth = blurredCopy(lungMask, 0.035 * W);
  const texture = valueNoise(W, H, 0.02 * W, rng);
  for (let i = 0; i < atten.data.length; i++) {
    const m = lungMask.data[i] as number;
    if (m === 0) continue;
    atten.data[i] = (atten.data[i] as number) - airAmp * m * (0.55 + 0.55 * (depth.data[i] as number)) + 0.015 * m * (texture[i] as number);
  }

  // A little extra mediastinal density above the diaphragm (below it everything is soft tissue).
  for (let y = 0; y < H; y++) {
    const above = 1 - smoothstep(domeY - 0.02 * H, domeYL + 0.03 * H, y);
    if (above === 0) continue;
    for (let x = 0, i = y * W; x < W; x++, i++) atten.data[i] = (atten.data[i] as number) + 0.06 * above * (med.data[i] as number);
  }

  drawSpineAndTrachea(atten, hilumY, rng);
  drawVessels(atten, lungMask, lungs, rng);
  // Bone shows best against aerated lung; over soft tissue its contrast is lower.
  const bones = createRaster(W, H);
  drawRibs(bones, lungs, bodyHalfW, apexY, boneAmp, rng);
  drawShouldersAndClavicles(bones, bodyHalfW, apexY, boneAmp, rng);
  for (let y = 0; y < H; y++) {
    const fade = 0.35 - 0.2 * smoothstep(domeY, domeY + 0.15 * H, y);
    for (let x = 0, i = y * W; x < W; x++, i++)
      atten.data[i] = (atten.data[i] as number) + (bones.data[i] as number) * (fade + (1 - fade) * (lungMask.data[i] as number));
  }

  // Gastric air bubble under the left hemidiaphragm; breast shadows over the lower zones.
  if (rng.chance(0.7)) {
    addEllipse(
      atten,
      cx + rng.uniform(0.1, 0.16) * W,
      domeYL + rng.uniform(0.04, 0.07) * H,
      rng.uniform(0.03, 0.05) * W,
      rng.uniform(0.018, 0.03) * H,
      -rng.uniform(0.1, 0.2),
      { edge: 0.25 },
    );
  }
  if (female) {
    const amp = rng.uniform(0.05, 0.11);
    for (const side of [-1, 1]) {
      addEllipse(
        atten,
        cx + side * rng.uniform(0.17, 0.24) * W,
        domeY + rng.uniform(-0.06, 0.02) * H,
        rng.uniform(0.13, 0.17) * W,
        rng.uniform(0.1, 0.14) * H,
        amp,
        { edge: 0.35 },
      );
    }
  }
  return { width: W, height: H, atten, lungMask, lungs, heart: { cx: heartCx, cy: heartCy, rx: heartRx, ry: heartRy, angle: heartAngle }, knob };
}

function drawLungMask(mask: Raster, lung: LungGeometry, cx: number): void {
  const { side, ellipse: e, domeY, costoY, lateralX } = lung;
  const W = mask.width;
  const H = mask.height;
  const domeX = lateralX - side * e.rx * 0.85;
  const span = Math.abs(lateralX - domeX);
  const edge = Math.max(1, W / 700);
  const x0 = Math.max(0, Math.floor(Math.min(e.cx - e.rx, cx) - 2));
  const x1 = Math.min(W - 1, Math.ceil(Math.max(e.cx + e.rx, cx) + 2));
  const y0 = Math.max(0, Math.floor(e.cy - e.ry - 2));
  const y1 = Math.min(H - 1, Math.ceil(costoY + 2));
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      if ((x - cx) * side < 0) continue;
      const u = (x - e.cx) / e.rx;
      const v = (y - e.cy) / e.ry;
      const d = (Math.sqrt(u * u + v * v) - 1) * Math.min(e.rx, e.ry);
      const inEllipse = 1 - smoothstep(-edge, edge, d);
      if (inEllipse <= 0) continue;
      const t = (x - domeX) / span;
      const diaphragm = domeY + (costoY - domeY) * t * t;
      const above = 1 - smoothstep(diaphragm - edge, diaphragm + edge, y);
      const i = y * W + x;
      mask.data[i] = Math.max(mask.data[i] as number, inEllipse * above);
    }
  }
}

function drawSpineAndTrachea(atten: Raster, hilumY: number, rng: Rng): void {
  const W = atten.width;
  const H = atten.height;
  const cx = W / 2 + rng.uniform(-0.006, 0.006) * W;
  const half = rng.uniform(0.028, 0.036) * W;
  const period = rng.uniform(0.042, 0.05) * H;
  const phase = rng.uniform(0, period);
  for (let y = 0; y < H; y++) {
    // Vertebral bodies with darker disc spaces between them.
    const disc = 0.75 + 0.25 * smoothstep(0.1, 0.3, Math.abs(((y + phase) % period) / period - 0.5));
    const row = y * W;
    for (let x = Math.max(0, Math.floor(cx - half - 2)); x <= Math.min(W - 1, Math.ceil(cx + half + 2)); x++) {
      const edge = 1 - smoothstep(half - 1.5, half + 1.5, Math.abs(x - cx));
      atten.data[row + x] = (atten.data[row + x] as number) + 0.07 * disc * edge;
    }
  }
  // Trachea: an air column down to the carina, then the two main bronchi.
  const carinaY = hilumY - rng.uniform(0.03, 0.06) * H;
  const tw = rng.uniform(0.009, 0.013) * W;
  addSegment(atten, W / 2, 0, W / 2, carinaY, tw, tw, -0.12);
  addSegment(atten, W / 2, carinaY, W / 2 - 0.06 * W, carinaY + 0.05 * H, tw * 0.8, tw * 0.5, -0.1, -0.04);
  addSegment(atten, W / 2, carinaY, W / 2 + 0.065 * W, carinaY + 0.06 * H, tw * 0.8, tw * 0.5, -0.1, -0.04);
}

/** Branching pulmonary vessels from each hilum, tapering to the periphery, clipped to the lungs. */
function drawVessels(atten: Raster, lungMask: Raster, lungs: readonly LungGeometry[], rng: Rng): void {
  const W = atten.width;
  const vessels = createRaster(W, atten.height);
  const branch = (x: number, y: number, angle: number, len: number, width: number, amp: number, depth: number): void => {
    const bend = rng.normal(0, 0.12);
    const x1 = x + Math.cos(angle + bend) * len;
    const y1 = y + Math.sin(angle + bend) * len;
    addSegment(vessels, x, y, x1, y1, width, width * 0.8, amp, amp * 0.85);
    if (depth === 0 || width < 0.6) return;
    const spread = rng.uniform(0.25, 0.55);
    branch(x1, y1, angle + bend - spread, len * rng.uniform(0.65, 0.85), width * 0.72, amp * 0.82, depth - 1);
    branch(x1, y1, angle + bend + spread, len * rng.uniform(0.65, 0.85), width * 0.72, amp * 0.82, depth - 1);
  };
  for (const lung of lungs) {
    // Hilar density, then trunks fanning up, out and (more, gravity-dependent) down.
    addGaussian(vessels, lung.hilumX, lung.hilumY, 0.018 * W, 0.045 * W, 0.06);
    const out = lung.side < 0 ? Math.PI : 0;
    const trunks = [-1.2, -0.6, -0.1, 0.4, 0.9, 1.3];
    for (const t of trunks) {
      const angle = out - lung.side * t + rng.normal(0, 0.08);
      const down = Math.sin(angle) > 0 ? 1.15 : 0.9;
      const y0 = lung.hilumY + Math.sin(angle) * 0.03 * W + rng.normal(0, 0.008 * W);
      branch(lung.hilumX + Math.cos(angle) * 0.01 * W, y0, angle, rng.uniform(0.05, 0.08) * W, 0.006 * W * down, 0.05 * down, 4);
    }
  }
  for (let i = 0; i < vessels.data.length; i++) {
    atten.data[i] = (atten.data[i] as number) + (vessels.data[i] as number) * (0.25 + 0.75 * (lungMask.data[i] as number));
  }
}

/** Posterior ribs (clearly seen) and anterior ribs (fainter), both sides. */
function drawRibs(atten: Raster, lungs: readonly LungGeometry[], bodyHalfW: number, apexY: number, boneAmp: number, rng: Rng): void {
  const W = atten.width;
  const H = atten.height;
  const cx = W / 2;
  const spacing = rng.clippedNormal(0.062, 0.005, 0.05, 0.075) * H;
  const firstY = apexY - rng.uniform(0.0, 0.02) * H;
  const half = rng.uniform(0.008, 0.011) * H;
  const cortical = (u: number) => boneAmp * (0.6 + 0.4 * u ** 4);
  for (const lung of lungs) {
    const s = lung.side;
    const xs = cx + s * 0.035 * W;
    const lateral = cx + s * (bodyHalfW * rng.uniform(0.9, 0.96));
    const reach = Math.abs(lateral - xs);
    for (let i = 0; i < 10; i++) {
      const y0 = firstY + i * spacing * (1 + i * 0.012) + rng.normal(0, 0.002 * H);
      const drop = (0.07 + 0.012 * i) * H;
      const posterior = (x: number) => {
        const u = Math.abs(x - xs) / reach;
        return y0 - 0.035 * H * u + (drop + 0.035 * H) * u * u;
      };
      const thick = (x: number) => half * (0.9 + (0.35 * Math.abs(x - xs)) / reach);
      addBand(atten, xs, lateral, posterior, thick, cortical);
      // Anterior rib: from the lateral end, curving down and medially; fainter, wider.
      const ly = posterior(lateral);
      const medialEnd = cx + s * rng.uniform(0.1, 0.14) * W;
      const span = Math.abs(lateral - medialEnd);
      const anterior = (x: number) => {
        const u = Math.abs(lateral - x) / span;
        return ly - 0.01 * H + 0.11 * H * Math.sin(u * Math.PI * 0.5) ** 1.3;
      };
      addBand(
        atten,
        medialEnd,
        lateral,
        anterior,
        () => half * 1.3,
        (u) => boneAmp * 0.45 * (0.7 + 0.3 * u * u),
      );
    }
  }
}

function drawShouldersAndClavicles(atten: Raster, bodyHalfW: number, apexY: number, boneAmp: number, rng: Rng): void {
  const W = atten.width;
  const H = atten.height;
  const cx = W / 2;
  const clavY = apexY + rng.uniform(0.0, 0.035) * H;
  for (const s of [-1, 1]) {
    const xa = cx + s * 0.035 * W;
    const xb = cx + s * (bodyHalfW * rng.uniform(0.6, 0.72));
    const rise = rng.uniform(0.02, 0.05) * H;
    const centre = (x: number) => {
      const u = Math.abs(x - xa) / Math.abs(xb - xa);
      return clavY + 0.012 * H - rise * u + 0.008 * H * Math.sin(u * Math.PI * 2);
    };
    addBand(
      atten,
      xa,
      xb,
      centre,
      () => 0.011 * H,
      (u) => boneAmp * 1.3 * (0.6 + 0.4 * u ** 4),
    );
    // Humeral head and the soft tissue of the shoulder at the image edge.
    const hx = cx + s * (bodyHalfW + rng.uniform(-0.02, 0.02) * W);
    const hy = apexY + rng.uniform(0.03, 0.07) * H;
    addEllipse(atten, hx, hy, 0.05 * W, 0.055 * H, boneAmp * 1.6, { edge: 0.1 });
  }
}
