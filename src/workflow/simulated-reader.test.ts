import { describe, expect, it } from 'vitest';

import { CLASS_MODALITY, type SecondreadClass } from '../data/classes.js';
import { SimulatedReader } from './simulated-reader.js';

const keys = Array.from({ length: 4000 }, (_, i) => `study-${i}`);

function errorRate(reader: SimulatedReader, truth: SecondreadClass): number {
  return keys.filter((k) => reader.read(k, truth) !== truth).length / keys.length;
}

describe('SimulatedReader', () => {
  it('is right about as often as its accuracy says', () => {
    const r = new SimulatedReader({ accuracy: 0.9 });
    expect(errorRate(r, 'lung-covid')).toBeGreaterThan(0.08);
    expect(errorRate(r, 'lung-covid')).toBeLessThan(0.12);
    expect(errorRate(new SimulatedReader({ accuracy: 1 }), 'oct-dme')).toBe(0);
    expect(errorRate(new SimulatedReader({ accuracy: 0 }), 'oct-dme')).toBe(1);
  });

  it('answers the same label for the same study, and another seed errs on other studies', () => {
    const a = new SimulatedReader({ accuracy: 0.7, seed: 3 });
    const b = new SimulatedReader({ accuracy: 0.7, seed: 4 });
    expect(keys.map((k) => a.read(k, 'lung-opacity'))).toEqual(keys.map((k) => a.read(k, 'lung-opacity')));
    expect(keys.map((k) => a.read(k, 'lung-opacity'))).not.toEqual(keys.map((k) => b.read(k, 'lung-opacity')));
  });

  it('misses findings by default: an abnormal study read wrong is read normal', () => {
    const r = new SimulatedReader({ accuracy: 0.5 });
    const wrong = keys.map((k) => r.read(k, 'oct-drusen')).filter((l) => l !== 'oct-drusen');
    expect(new Set(wrong)).toEqual(new Set(['oct-normal']));
    const wrongOnNormal = new Set(keys.map((k) => r.read(k, 'lung-normal')).filter((l) => l !== 'lung-normal'));
    expect(wrongOnNormal.size).toBe(4);
    for (const l of wrongOnNormal) expect(CLASS_MODALITY[l]).toBe('cxr');
  });

  it('spreads errors over the modality with the uniform pattern, and honours per-class accuracy', () => {
    const r = new SimulatedReader({ accuracy: 0.5, confusion: 'uniform', perClassAccuracy: { 'oct-cnv': 1 } });
    expect(new Set(keys.map((k) => r.read(k, 'oct-drusen')).filter((l) => l !== 'oct-drusen'))).toEqual(new Set(['oct-normal', 'oct-cnv', 'oct-dme']));
    expect(errorRate(r, 'oct-cnv')).toBe(0);
  });

  it('refuses nonsense options with a clear message', () => {
    expect(() => new SimulatedReader({ accuracy: 1.2 })).toThrow(/accuracy must be a number in \[0, 1\]/);
    expect(() => new SimulatedReader({ accuracy: 0.9, perClassAccuracy: { 'lung-x': 0.5 } as never })).toThrow(/unknown class 'lung-x'/);
    expect(() => new SimulatedReader({ accuracy: 0.9, confusion: 'random' as never })).toThrow(/confusion pattern/);
  });
});
