// Disease findings for the OCT phantom. `editLayout` changes the layer geometry before
// rasterisation (elevations, fluid, thickening); `drawInto` adds focal lesions afterwards (cysts,
// exudates, subretinal material). `s` is the severity in (0, 1].
import type { Rng } from '../../core/rng.js';
import type { SecondreadClass } from '../classes.js';
import type { OctLayout } from './oct-anatomy.js';
import { addEllipse, type Raster } from './raster.js';

/** A smooth dome: 1 at the centre, 0 beyond `halfWidth`. */
function dome(x: number, centre: number, halfWidth: number, power = 0.8): number {
  const t = (x - centre) / halfWidth;
  return Math.abs(t) >= 1 ? 0 : Math.pow(1 - t * t, power);
}

interface OctFinding {
  editLayout(layout: OctLayout): void;
  drawInto(r: Raster, layout: OctLayout): void;
}

/** Dark cystoid spaces inside the inner nuclear / outer plexiform / outer nuclear layers. */
function drawCysts(r: Raster, layout: OctLayout, rng: Rng, count: number, spread: number, maxSize: number): void {
  const tops = layout.tops;
  if (!tops) return;
  const W = r.width;
  for (let k = 0; k < count; k++) {
    const x = Math.min(W - 1, Math.max(0, Math.round(layout.foveaX + rng.normal(0, spread))));
    const inInl = rng.chance(0.4);
    const top = (inInl ? tops.inl[x] : tops.opl[x]) as number;
    const bottom = (inInl ? tops.opl[x] : tops.is[x]) as number;
    const room = Math.max(2, bottom - top);
    const ry = Math.min(room * 0.45, rng.uniform(0.3, 1) * maxSize);
    const rx = ry * rng.uniform(0.7, 1.6);
    addEllipse(r, x, top + room * rng.uniform(0.35, 0.65), rx, ry, 0.06, { edge: 0.25, mode: 'mul' });
  }
}

/** CNV: fibrovascular pigment-epithelial detachment with subretinal fluid above it. */
function cnv(s: number, rng: Rng): OctFinding {
  let lesion = { x: 0, halfWidth: 1 };
  return {
    editLayout(layout) {
      const W = layout.width;
      const H = layout.height;
      lesion = { x: layout.foveaX + rng.normal(0, 0.05 * W), halfWidth: (0.05 + 0.09 * s) * W * rng.uniform(0.8, 1.2) };
      const height = (0.004 + 0.075 * s) * H * rng.uniform(0.7, 1.2);
      const second = { dx: rng.normal(0, 0.5) * lesion.halfWidth, h: rng.uniform(0.3, 0.8) };
      const fluidH = rng.chance(0.8) ? (0.003 + 0.05 * s) * H * rng.uniform(0.6, 1.2) : 0;
      const fluidW = lesion.halfWidth * rng.uniform(1.1, 1.7);
      const fluidX = lesion.x + rng.normal(0, 0.3) * lesion.halfWidth;
      const refl = rng.uniform(0.3, 0.55);
      for (let x = 0; x < W; x++) {
        const lift = height * Math.max(dome(x, lesion.x, lesion.halfWidth, 0.6), second.h * dome(x, lesion.x + second.dx, lesion.halfWidth * 0.6));
        layout.rpeLift[x] = Math.max(layout.rpeLift[x] as number, lift);
        if (lift > 0) layout.subRpeReflectivity[x] = refl;
        layout.fluid[x] = (layout.fluid[x] as number) + fluidH * dome(x, fluidX, fluidW, 1.2);
        // The overlying retina swells a little.
        const swell = 1 + 0.35 * s * dome(x, lesion.x, lesion.halfWidth * 1.5);
        layout.thickness.onl[x] = (layout.thickness.onl[x] as number) * swell;
      }
    },
    drawInto(r, layout) {
      // Type 2 CNV: hyperreflective material in the subretinal space, above the RPE.
      if (layout.tops && rng.chance(0.5)) {
        const x = Math.round(Math.min(r.width - 1, Math.max(0, lesion.x)));
        const y = (layout.tops.rpe[x] as number) - 0.01 * r.height;
        addEllipse(r, x, y, lesion.halfWidth * 0.5, (0.01 + 0.02 * s) * r.height, 0.35, { edge: 0.4 });
      }
      if (rng.chance(0.25)) drawCysts(r, layout, rng, rng.int(1, 3), 0.06 * r.width, 0.02 * r.height * (0.5 + s));
    },
  };
}

/** DME: retinal thickening, loss of the foveal pit, intraretinal cystoid spaces, hard exudates. */
function dme(s: number, rng: Rng): OctFinding {
  return {
    editLayout(layout) {
      const W = layout.width;
      const centre = layout.foveaX + rng.normal(0, 0.03 * W);
      const halfWidth = rng.uniform(0.2, 0.32) * W;
      const swell = (0.05 + 1.2 * s) * rng.uniform(0.8, 1.2);
      for (let x = 0; x < W; x++) {
        const g = 1 + swell * dome(x, centre, halfWidth, 1.5);
        for (const l of ['inl', 'opl', 'onl'] as const) layout.thickness[l][x] = (layout.thickness[l][x] as number) * g;
        // Swelling fills the pit: the inner layers are thinned less at the fovea.
        const d = (x - layout.foveaX) / layout.pitWidth;
        const fill = (0.2 + 0.6 * s) * Math.exp(-d * d) * 0.08 * layout.height;
        layout.thickness.ipl[x] = (layout.thickness.ipl[x] as number) + fill * 0.4;
        layout.thickness.inl[x] = (layout.thickness.inl[x] as number) + fill * 0.6;
      }
      if (rng.chance(0.2)) {
        const h = (0.005 + 0.02 * s) * layout.height;
        for (let x = 0; x < W; x++) layout.fluid[x] = (layout.fluid[x] as number) + h * dome(x, centre, 0.08 * W, 1.2);
      }
    },
    drawInto(r, layout) {
      drawCysts(r, layout, rng, 1 + Math.round(10 * s * rng.uniform(0.6, 1.2)), 0.11 * r.width, (0.006 + 0.035 * s) * r.height);
      if (layout.tops && rng.chance(0.5)) {
        for (let k = rng.int(2, 8); k > 0; k--) {
          const x = Math.round(Math.min(r.width - 1, Math.max(0, layout.foveaX + rng.normal(0, 0.15 * r.width))));
          const y = (layout.tops.opl[x] as number) + rng.uniform(0, 4);
          const rad = rng.uniform(1.5, 4) * (r.width / 512);
          addEllipse(r, x, y, rad, rad * 0.8, 0.6, { edge: 0.4 });
        }
      }
    },
  };
}

/** Drusen: dome-shaped deposits under the RPE, lifting it in small bumps; no fluid. */
function drusen(s: number, rng: Rng): OctFinding {
  return {
    editLayout(layout) {
      const W = layout.width;
      const H = layout.height;
      const n = 1 + rng.int(1, 2) + Math.round(6 * s * rng.next());
      const refl = rng.uniform(0.35, 0.6);
      for (let k = 0; k < n; k++) {
        const c = layout.foveaX + rng.normal(0, 0.14 * W);
        const hw = (0.018 + 0.03 * rng.next()) * W * (0.6 + 0.7 * s);
        const h = (0.003 + 0.03 * s) * H * rng.uniform(0.6, 1.2);
        for (let x = Math.max(0, Math.floor(c - hw)); x <= Math.min(W - 1, Math.ceil(c + hw)); x++) {
          const lift = h * dome(x, c, hw, 0.7);
          if (lift > (layout.rpeLift[x] as number)) {
            layout.rpeLift[x] = lift;
            layout.subRpeReflectivity[x] = refl;
          }
        }
      }
    },
    drawInto() {},
  };
}

const FINDINGS: Partial<Record<SecondreadClass, (s: number, rng: Rng) => OctFinding>> = {
  'oct-cnv': cnv,
  'oct-dme': dme,
  'oct-drusen': drusen,
};

/** The class's finding (a no-op for oct-normal). */
export function octFinding(cls: SecondreadClass, severity: number, rng: Rng): OctFinding {
  return FINDINGS[cls]?.(severity, rng) ?? { editLayout() {}, drawInto() {} };
}
