import { describe, expect, it } from 'vitest';

import { CLASS_MODALITY } from '../classes.js';
import { SYNTH_DATASETS } from './layouts.js';
import { filedCounts, type PlannedImage, planSynthesis } from './plan.js';

const ALL = [...SYNTH_DATASETS];
const OCT_NAME = /^OCT2017\/(train|test)\/(CNV|DME|DRUSEN|NORMAL)\/(CNV|DME|DRUSEN|NORMAL)-(\d{6,7})-(\d+)\.jpeg$/;

describe('filedCounts', () => {
  it('gives N per class and splits lung-normal 2/3 COVID-19 DB, 1/3 TB DB', () => {
    const c = filedCounts({ perClass: 300, datasets: ALL });
    expect(c.covid).toEqual({ 'lung-covid': 300, 'lung-normal': 200, 'lung-viral-pneumonia': 300, 'lung-opacity': 300 });
    expect(c.tb).toEqual({ 'lung-tuberculosis': 300, 'lung-normal': 100 });
    expect(c.oct).toEqual({ 'oct-cnv': 300, 'oct-dme': 300, 'oct-drusen': 300, 'oct-normal': 300 });
    expect(filedCounts({ perClass: 300, datasets: ['covid'] }).covid['lung-normal']).toBe(300);
    expect(filedCounts({ perClass: 7, datasets: ['tb'] }).tb['lung-normal']).toBe(7);
  });
});

describe('planSynthesis', () => {
  const opts = { perClass: 300, seed: 5, labelNoise: 0.02, datasets: ALL };
  const plan = planSynthesis(opts);

  it('names every entry exactly as the public archives do, once each', () => {
    const covid = plan.covid ?? [];
    expect(covid.map((i) => i.entry).slice(0, 2)).toEqual(['COVID/images/COVID-1.png', 'COVID/images/COVID-2.png']);
    for (const im of covid) expect(im.entry).toMatch(/^(COVID|Normal|Viral Pneumonia|Lung_Opacity)\/images\/\1-[1-9]\d*\.png$/);
    expect(covid.map((i) => i.entry)).toContain('Viral Pneumonia/images/Viral Pneumonia-300.png');
    expect(covid.map((i) => i.entry)).toContain('Normal/images/Normal-200.png');
    for (const im of plan.tb ?? []) expect(im.entry).toMatch(/^TB_Chest_Radiography_Database\/(Tuberculosis|Normal)\/\1-[1-9]\d*\.png$/);
    for (const im of plan.oct ?? []) {
      const m = OCT_NAME.exec(im.entry);
      expect(m, im.entry).not.toBeNull();
      expect(m?.[2]).toBe(m?.[3]);
      expect(m?.[4]).toBe(im.patientId);
      expect(m?.[1]).toBe(im.split);
    }
    const names = ALL.flatMap((d) => (plan[d] ?? []).map((i) => `${d}:${i.entry}`));
    expect(new Set(names).size).toBe(names.length);
  });

  it('files exactly perClass images under each secondread class', () => {
    const filed = new Map<string, number>();
    for (const d of ALL) for (const im of plan[d] ?? []) filed.set(im.filedClass, (filed.get(im.filedClass) ?? 0) + 1);
    expect([...filed.values()]).toEqual(Array(9).fill(300));
  });

  it('groups OCT images by patient: several per patient, some patients in two classes or both splits', () => {
    const oct = plan.oct ?? [];
    const perPatientClass = new Map<string, number>();
    const classes = new Map<string, Set<string>>();
    const splits = new Map<string, Set<string>>();
    for (const im of oct) {
      const key = `${im.patientId}/${im.filedClass}`;
      perPatientClass.set(key, (perPatientClass.get(key) ?? 0) + 1);
      classes.set(im.patientId as string, (classes.get(im.patientId as string) ?? new Set()).add(im.filedClass));
      splits.set(im.patientId as string, (splits.get(im.patientId as string) ?? new Set()).add(im.split as string));
    }
    const sizes = [...perPatientClass.values()];
    expect(Math.max(...sizes)).toBeLessThanOrEqual(6);
    expect(sizes.reduce((a, b) => a + b, 0) / sizes.length).toBeGreaterThan(2);
    expect([...classes.values()].filter((s) => s.size > 1).length).toBeGreaterThan(5);
    expect([...splits.values()].filter((s) => s.size > 1).length).toBeGreaterThan(2);
    for (const folder of ['CNV', 'DME', 'DRUSEN', 'NORMAL']) {
      for (const split of ['train', 'test'])
        expect(
          oct.some((im) => im.entry.startsWith(`OCT2017/${split}/${folder}/`)),
          `${split}/${folder}`,
        ).toBe(true);
    }
    const test = oct.filter((im) => im.split === 'test').length / oct.length;
    expect(test).toBeGreaterThan(0.08);
    expect(test).toBeLessThan(0.25);
  });

  it('keeps both splits in every OCT class even with very few images', () => {
    for (let seed = 0; seed < 30; seed++) {
      const oct = planSynthesis({ perClass: 3, seed, labelNoise: 0, datasets: ['oct'] }).oct ?? [];
      for (const folder of ['CNV', 'DME', 'DRUSEN', 'NORMAL']) {
        const splits = new Set(oct.filter((im) => im.entry.includes(`/${folder}/`)).map((im) => im.split));
        expect(splits.size, `seed ${seed} ${folder}`).toBe(2);
      }
    }
  });

  it('flips labels at the requested rate, always to another class of the same modality', () => {
    const big = planSynthesis({ perClass: 2000, seed: 9, labelNoise: 0.02, datasets: ALL });
    const all: PlannedImage[] = ALL.flatMap((d) => big[d] ?? []);
    const flipped = all.filter((im) => im.shownClass !== im.filedClass);
    // 18 000 images: the standard deviation of the rate is ~0.001, so +-0.004 is 4 sigma.
    expect(flipped.length / all.length).toBeGreaterThan(0.016);
    expect(flipped.length / all.length).toBeLessThan(0.024);
    for (const im of flipped) expect(CLASS_MODALITY[im.shownClass]).toBe(CLASS_MODALITY[im.filedClass]);
    expect(planSynthesis({ perClass: 200, seed: 9, labelNoise: 0, datasets: ALL }).covid?.every((im) => im.shownClass === im.filedClass)).toBe(true);
  });

  it('is a pure function of the options', () => {
    expect(planSynthesis(opts)).toEqual(plan);
    expect(planSynthesis({ ...opts, seed: 6 }).oct?.map((i) => i.entry)).not.toEqual(plan.oct?.map((i) => i.entry));
    expect(planSynthesis({ ...opts, seed: 6 }).covid?.[0]?.seed).not.toBe(plan.covid?.[0]?.seed);
  });
});
