import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';

import { encodeGray } from './encode.js';
import { planSynthesis } from './plan.js';
import { renderTask } from './render.js';
import { synthesizeArchives, type SynthOptions } from './synthesize.js';
import { type ArchiveEntry, readTarGz, readZip } from './testdata/read-archive.js';

const dirs: string[] = [];
async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'secondread-synth-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

const SMALL: Omit<SynthOptions, 'outDir'> = { perClass: 4, seed: 3, cxrSize: 48, octWidth: 48, octHeight: 46, workers: 0 };
const files = ['COVID-19_Radiography_Dataset.zip', 'TB_Chest_Radiography_Database.zip', 'OCT2017.tar.gz', 'synth-manifest.json'];

async function bytesOf(dir: string): Promise<Buffer[]> {
  return Promise.all(files.map((f) => readFile(join(dir, f))));
}

describe('synthesizeArchives', () => {
  it('writes the three archives in the public layouts with decodable grayscale images', async () => {
    const out = await tmp();
    const progress: number[] = [];
    const result = await synthesizeArchives({ outDir: out, ...SMALL, onProgress: (e) => progress.push(e.done) });
    expect(result.archives.map((a) => a.dataset)).toEqual(['covid', 'tb', 'oct']);
    expect(progress.at(-1)).toBe(4 * 9);

    const covid = await readZip(join(out, 'COVID-19_Radiography_Dataset.zip'));
    expect(covid.map((e) => e.name)).toEqual([
      ...[1, 2, 3, 4].map((n) => `COVID/images/COVID-${n}.png`),
      ...[1, 2, 3].map((n) => `Normal/images/Normal-${n}.png`),
      ...[1, 2, 3, 4].map((n) => `Viral Pneumonia/images/Viral Pneumonia-${n}.png`),
      ...[1, 2, 3, 4].map((n) => `Lung_Opacity/images/Lung_Opacity-${n}.png`),
    ]);
    const tb = await readZip(join(out, 'TB_Chest_Radiography_Database.zip'));
    expect(tb.map((e) => e.name)).toEqual([
      ...[1, 2, 3, 4].map((n) => `TB_Chest_Radiography_Database/Tuberculosis/Tuberculosis-${n}.png`),
      'TB_Chest_Radiography_Database/Normal/Normal-1.png',
    ]);
    const oct = await readTarGz(join(out, 'OCT2017.tar.gz'));
    const octFiles = oct.filter((e) => !e.directory);
    expect(octFiles).toHaveLength(16);
    for (const e of octFiles) expect(e.name).toMatch(/^OCT2017\/(train|test)\/(CNV|DME|DRUSEN|NORMAL)\/\2-\d{6,7}-\d+\.jpeg$/);
    // Real tarballs list each directory before its files.
    expect(oct.filter((e) => e.directory).map((e) => e.name)).toEqual(
      expect.arrayContaining(['OCT2017/', 'OCT2017/train/', 'OCT2017/test/', 'OCT2017/train/CNV/']),
    );
    expect(oct.findIndex((e) => e.name === 'OCT2017/train/')).toBeLessThan(oct.findIndex((e) => e.name.startsWith('OCT2017/train/') && !e.directory));

    const check = async (e: ArchiveEntry, format: string, w: number, h: number) => {
      const meta = await sharp(e.data).metadata();
      expect([meta.format, meta.width, meta.height, meta.channels], e.name).toEqual([format, w, h, 1]);
    };
    for (const e of [...covid, ...tb]) await check(e, 'png', 48, 48);
    for (const e of octFiles) await check(e, 'jpeg', 48, 46);

    const manifest = JSON.parse(await readFile(result.manifestPath, 'utf8'));
    expect(manifest.seed).toBe(3);
    expect(manifest.classCounts).toEqual(Object.fromEntries(Object.keys(manifest.classCounts).map((k) => [k, 4])));
    expect(Object.keys(manifest.classCounts)).toHaveLength(9);
    expect(manifest.archives[0].folders).toEqual({ COVID: 4, Normal: 3, 'Viral Pneumonia': 4, Lung_Opacity: 4 });
    expect(manifest.oct.images.train + manifest.oct.images.test).toBe(16);
  });

  it('is byte-identical for the same seed (also with worker threads) and differs for another seed', async () => {
    const [a, b, c, d] = [await tmp(), await tmp(), await tmp(), await tmp()];
    await synthesizeArchives({ outDir: a, ...SMALL });
    await synthesizeArchives({ outDir: b, ...SMALL });
    await synthesizeArchives({ outDir: c, ...SMALL, workers: 2 });
    await synthesizeArchives({ outDir: d, ...SMALL, seed: 4 });
    const [ba, bb, bc, bd] = await Promise.all([a, b, c, d].map(bytesOf));
    files.forEach((f, i) => {
      expect(ba?.[i]?.equals(bb?.[i] as Buffer), f).toBe(true);
      expect(ba?.[i]?.equals(bc?.[i] as Buffer), `${f} with workers`).toBe(true);
      expect(ba?.[i]?.equals(bd?.[i] as Buffer), `${f} other seed`).toBe(false);
    });
  });

  it('flips labels at the configured rate, and a flipped file really shows the other class', async () => {
    const out = await tmp();
    const opts = { ...SMALL, perClass: 60, labelNoise: 0.25, cxrSize: 32, octWidth: 32, octHeight: 32, datasets: ['covid', 'oct'] as const };
    const { manifest } = await synthesizeArchives({ outDir: out, ...opts });
    const total = 8 * 60;
    // Binomial(480, 0.25): sd ~9.5, so +-40 is over 4 sigma.
    expect(Math.abs(manifest.flipped.length - total * 0.25)).toBeLessThan(40);
    for (const f of manifest.flipped) expect(f.shows).not.toBe(f.filedAs);

    const plan = planSynthesis({ perClass: 60, seed: 3, labelNoise: 0.25, datasets: ['covid', 'oct'] });
    const covid = await readZip(join(out, 'COVID-19_Radiography_Dataset.zip'));
    const flip = manifest.flipped.find((f) => f.archive === 'COVID-19_Radiography_Dataset.zip');
    const planned = plan.covid?.find((im) => im.entry === flip?.entry);
    const stored = covid.find((e) => e.name === flip?.entry)?.data;
    expect(planned && stored).toBeTruthy();
    if (!planned || !stored || !flip) return;
    const shown = await encodeGray(renderTask({ cls: flip.shows, seed: planned.seed, width: 32, height: 32 }), 'png');
    const filed = await encodeGray(renderTask({ cls: flip.filedAs, seed: planned.seed, width: 32, height: 32 }), 'png');
    expect(stored.equals(shown)).toBe(true);
    expect(stored.equals(filed)).toBe(false);
  });

  it('refuses a non-empty output directory unless forced, and bad options', async () => {
    const out = await tmp();
    await writeFile(join(out, 'keep.txt'), 'x');
    await expect(synthesizeArchives({ outDir: out, ...SMALL, datasets: ['tb'] })).rejects.toMatchObject({ code: 'conflict' });
    await expect(synthesizeArchives({ outDir: out, ...SMALL, datasets: ['tb'], force: true })).resolves.toBeDefined();
    expect(await readFile(join(out, 'keep.txt'), 'utf8')).toBe('x');
    const fresh = await tmp();
    await expect(synthesizeArchives({ outDir: fresh, ...SMALL, perClass: 0 })).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(synthesizeArchives({ outDir: fresh, ...SMALL, labelNoise: 0.9 })).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(synthesizeArchives({ outDir: fresh, ...SMALL, datasets: [] })).rejects.toMatchObject({ code: 'invalid_input' });
  });
});
