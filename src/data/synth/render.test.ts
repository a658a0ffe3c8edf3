import { describe, expect, it } from 'vitest';

import { Rng } from '../../core/rng.js';
import type { SecondreadClass } from '../classes.js';
import { renderCxr } from './cxr.js';
import { renderOct } from './oct.js';
import type { RenderedImage } from './types.js';

const S = 128;
const SEEDS = [11, 12, 13, 14, 15, 16];

const cxr = (cls: SecondreadClass, seed: number, severity?: number) => renderCxr(cls, new Rng(seed), { width: S, height: S, severity });
const oct = (cls: SecondreadClass, seed: number, severity?: number) => renderOct(cls, new Rng(seed), { width: 128, height: 124, severity });

/** disease - normal for the same seed: same patient and acquisition, so only the finding remains. */
function diff(a: RenderedImage, b: RenderedImage): Float64Array {
  const d = new Float64Array(a.data.length);
  for (let i = 0; i < d.length; i++) d[i] = (a.data[i] as number) - (b.data[i] as number);
  return d;
}

function meanAbs(d: Float64Array): number {
  return d.reduce((s, v) => s + Math.abs(v), 0) / d.length;
}

/** Weighted centroid of the positive (brighter) part of a difference image. */
function centroid(d: Float64Array, width: number): { x: number; y: number } {
  let w = 0;
  let x = 0;
  let y = 0;
  d.forEach((v, i) => {
    if (v <= 0) return;
    w += v;
    x += v * (i % width);
    y += v * Math.floor(i / width);
  });
  return { x: x / w, y: y / w };
}

const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('renderCxr', () => {
  it('renders the requested size deterministically per seed', () => {
    const a = cxr('lung-covid', 3);
    expect([a.width, a.height, a.data.length]).toEqual([S, S, S * S]);
    expect(Buffer.from(cxr('lung-covid', 3).data).equals(Buffer.from(a.data))).toBe(true);
    expect(Buffer.from(cxr('lung-covid', 4).data).equals(Buffer.from(a.data))).toBe(false);
    expect(a.info.scanner).toMatch(/^(cr|dr|film)$/);
  });

  it('refuses OCT classes and unknown scanner styles with typed errors', () => {
    expect(() => cxr('oct-dme', 1)).toThrow(/CXR renderer cannot draw/);
    expect(() => renderCxr('lung-normal', new Rng(1), { width: S, height: S, scanner: 'xray-9000' })).toThrow(/unknown CXR scanner/);
  });

  it('findings brighten the lungs, more with severity, where each class puts them', () => {
    const where: Record<string, Array<{ x: number; y: number }>> = {};
    for (const cls of ['lung-covid', 'lung-viral-pneumonia', 'lung-opacity', 'lung-tuberculosis'] as const) {
      const strong: number[] = [];
      const weak: number[] = [];
      where[cls] = [];
      for (const seed of SEEDS) {
        const normal = cxr('lung-normal', seed);
        const d = diff(cxr(cls, seed, 0.9), normal);
        strong.push(avg([...d]));
        weak.push(avg([...diff(cxr(cls, seed, 0.1), normal)]));
        where[cls].push(centroid(d, S));
      }
      // Opacities add density: the disease image is brighter than the same patient without it.
      expect(avg(strong), cls).toBeGreaterThan(0.8);
      expect(avg(strong), cls).toBeGreaterThan(2 * avg(weak));
    }
    const meanY = (cls: string) => avg((where[cls] ?? []).map((c) => c.y));
    const meanOffCentre = (cls: string) => avg((where[cls] ?? []).map((c) => Math.abs(c.x - S / 2)));
    // TB sits in the upper zones, COVID-19 in the lower zones; viral pneumonia is perihilar (central).
    expect(meanY('lung-tuberculosis')).toBeLessThan(meanY('lung-covid') - 0.08 * S);
    expect(meanOffCentre('lung-covid')).toBeGreaterThan(meanOffCentre('lung-viral-pneumonia'));
  });

  it('a normal image is the same patient whatever severity is asked for', () => {
    expect(Buffer.from(cxr('lung-normal', 5, 0.9).data).equals(Buffer.from(cxr('lung-normal', 5).data))).toBe(true);
  });
});

describe('renderOct', () => {
  it('renders the requested size deterministically and refuses CXR classes', () => {
    const a = oct('oct-drusen', 2);
    expect([a.width, a.height]).toEqual([128, 124]);
    expect(Buffer.from(oct('oct-drusen', 2).data).equals(Buffer.from(a.data))).toBe(true);
    expect(() => oct('lung-covid', 1)).toThrow(/cannot draw/);
  });

  it('each OCT finding changes the scan of the same eye, more with severity', () => {
    for (const cls of ['oct-cnv', 'oct-dme', 'oct-drusen'] as const) {
      const strong = SEEDS.map((seed) => meanAbs(diff(oct(cls, seed, 0.9), oct('oct-normal', seed))));
      const weak = SEEDS.map((seed) => meanAbs(diff(oct(cls, seed, 0.1), oct('oct-normal', seed))));
      expect(avg(strong), cls).toBeGreaterThan(2);
      expect(avg(strong), cls).toBeGreaterThan(avg(weak));
    }
  });

  it('DME thickens the retina: the bright band spans more rows than in the same normal eye', () => {
    // Rows whose mean brightness is above the image mean, central third of the columns.
    const thick = (img: RenderedImage) => {
      let rows = 0;
      const mean = img.data.reduce((s, v) => s + v, 0) / img.data.length;
      for (let y = 0; y < img.height; y++) {
        let s = 0;
        for (let x = Math.floor(img.width / 3); x < (2 * img.width) / 3; x++) s += img.data[y * img.width + x] as number;
        if (s / (img.width / 3) > mean) rows++;
      }
      return rows;
    };
    const gain = SEEDS.map((seed) => thick(oct('oct-dme', seed, 0.9)) - thick(oct('oct-normal', seed)));
    expect(avg(gain)).toBeGreaterThan(2);
  });
});
