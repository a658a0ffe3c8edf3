// Weight quantization: ranges, rounding, per-tensor vs per-column parameters, and the error bound
// |w − dequantize(quantize(w))| ≤ scale / 2 inside the representable range.
import { describe, expect, it } from 'vitest';

import { dequantizeWeight, quantizeWeight, quantRange, roundHalfEven } from './weights.js';

/** K×N weights whose columns have very different magnitudes (column n scaled by 10^(n − 2)). */
function weights(k: number, n: number): Float32Array {
  return Float32Array.from({ length: k * n }, (_, i) => Math.sin(i * 1.7 + 0.3) * 10 ** ((i % n) - 2));
}

describe('quantizeWeight', () => {
  it('rounds half to even, like QuantizeLinear', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4, 2.6, -2.6].map(roundHalfEven)).toEqual([0, 2, 2, -0, -2, -2, 2, 3, -3]);
  });

  it('int8 is symmetric: zero point 0, largest |w| maps to ±qmax; 7-bit with reduceRange', () => {
    const w = Float32Array.of(-0.5, 0.25, 1, -0.125);
    const full = quantizeWeight(w, 2, 2, { type: 'int8', perChannel: false, reduceRange: false });
    expect(Array.from(full.zeroPoint)).toEqual([0]);
    expect(full.scale[0]).toBeCloseTo(1 / 127, 7);
    expect(Array.from(full.values)).toEqual([-64, 32, 127, -16]);
    const seven = quantizeWeight(w, 2, 2, { type: 'int8', perChannel: false, reduceRange: true });
    expect(Array.from(seven.values)).toEqual([-32, 16, 64, -8]);
    expect(quantRange('int8', true)).toEqual([-64, 64]);
  });

  it('uint8 is asymmetric over [min(w,0), max(w,0)] and keeps 0.0 exact', () => {
    const w = Float32Array.of(-1, 0, 3, 2);
    const q = quantizeWeight(w, 2, 2, { type: 'uint8', perChannel: false, reduceRange: false });
    expect(q.scale[0]).toBeCloseTo(4 / 255, 7);
    expect(q.zeroPoint[0]).toBe(64); // round(255 / 4)
    const back = dequantizeWeight(q, 2, 2);
    expect(back[1]).toBe(0);
    expect(q.values[0]).toBe(0);
    expect(q.values[2]).toBe(255);
  });

  it('per-column scales follow each column: error ≤ scale/2 per column, far below one per-tensor scale for small columns', () => {
    const [k, n] = [16, 5];
    const w = weights(k, n);
    for (const type of ['int8', 'uint8'] as const) {
      const pc = quantizeWeight(w, k, n, { type, perChannel: true, reduceRange: false });
      const pt = quantizeWeight(w, k, n, { type, perChannel: false, reduceRange: false });
      expect(pc.scale).toHaveLength(n);
      expect(pt.scale).toHaveLength(1);
      const [bpc, bpt] = [dequantizeWeight(pc, k, n), dequantizeWeight(pt, k, n)];
      for (let i = 0; i < w.length; i++) {
        expect(Math.abs(bpc[i]! - w[i]!)).toBeLessThanOrEqual(pc.scale[i % n]! / 2 + 1e-7);
        expect(Math.abs(bpt[i]! - w[i]!)).toBeLessThanOrEqual(pt.scale[0]! / 2 + 1e-7);
      }
      // Column 0 (|w| ≤ 0.01) is almost all zeros per tensor, and resolved per column.
      const col0 = (b: Float32Array) => Math.max(...Array.from({ length: k }, (_, r) => Math.abs(b[r * n]! - w[r * n]!)));
      expect(col0(bpc)).toBeLessThan(col0(bpt) / 50);
    }
  });

  it('an all-zero column gets scale 1 and quantizes to the zero point; non-finite weights are refused', () => {
    const q = quantizeWeight(Float32Array.of(0, 1, 0, -2), 2, 2, { type: 'int8', perChannel: true, reduceRange: true });
    expect(q.scale[0]).toBe(1);
    expect([q.values[0], q.values[2]]).toEqual([0, 0]);
    expect(() => quantizeWeight(Float32Array.of(0, Number.NaN), 1, 2, { type: 'int8', perChannel: false, reduceRange: false })).toThrow(/NaN or infinite/);
    expect(() => quantizeWeight(Float32Array.of(0, 1, 2), 2, 2, { type: 'int8', perChannel: false, reduceRange: false })).toThrow(/3 values, expected 2×2/);
  });
});
