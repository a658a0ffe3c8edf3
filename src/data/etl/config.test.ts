import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ValidationError } from '../../core/errors.js';
import { loadDatasetConfig, matchClass, parseDatasetConfig, patientKeyOf } from './config.js';

const EXAMPLE = resolve(import.meta.dirname, '../../../examples/datasets.yaml');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sr-config-'));
  for (const f of ['COVID-19_Radiography_Dataset.zip', 'TB_Chest_Radiography_Database.zip', 'OCT2017.tar.gz']) await writeFile(join(dir, f), '');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const minimal = (over: Record<string, unknown> = {}) => ({
  sources: [
    {
      dataset: 'tb',
      archive: 'TB_Chest_Radiography_Database.zip',
      format: 'zip',
      classes: [{ source: 'Tuberculosis', class: 'lung-tuberculosis', glob: '**/Tuberculosis/*.png' }],
    },
  ],
  ...over,
});

describe('dataset config', () => {
  it('loads the shipped example with its real class names, archives resolved under --raw-dir', () => {
    const c = loadDatasetConfig(EXAMPLE, { rawDir: dir });
    expect(c.sources.map((s) => s.dataset)).toEqual(['covid19-radiography', 'tb-chest-radiography', 'kermany-oct2017']);
    expect(c.sources[2]!.archivePath).toBe(join(dir, 'OCT2017.tar.gz'));
    expect(c.split).toEqual({ train: 0.7, val: 0.2, test: 0.1, finalEvalFraction: 0.5 });
    const [covid, tb, oct] = c.sources as [never, never, never];
    expect(matchClass(covid, 'COVID-19_Radiography_Dataset/Viral Pneumonia/images/Viral Pneumonia-7.png')?.class).toBe('lung-viral-pneumonia');
    expect(matchClass(covid, 'COVID-19_Radiography_Dataset/COVID/masks/COVID-1.png')).toBeUndefined();
    expect(matchClass(tb, 'TB_Chest_Radiography_Database/Normal/Normal-3.png')?.class).toBe('lung-normal');
    expect(matchClass(oct, 'OCT2017/test/DRUSEN/DRUSEN-228939-1.jpeg')?.class).toBe('oct-drusen');
    expect(matchClass(oct, '__MACOSX/OCT2017/test/DRUSEN/._DRUSEN-228939-1.jpeg')).toBeUndefined();
    expect(patientKeyOf(oct, 'OCT2017/train/CNV/CNV-1016042-1.jpeg')).toBe('kermany:1016042');
    expect(patientKeyOf(oct, 'OCT2017/train/CNV/odd-name.jpeg')).toBeNull();
    expect(patientKeyOf(covid, 'x/COVID/images/COVID-1.png')).toBeUndefined();
  });

  it('reports a missing config file and a missing archive clearly', () => {
    expect(() => loadDatasetConfig(join(dir, 'nope.yaml'))).toThrow(/dataset config not found/);
    expect(() => loadDatasetConfig(EXAMPLE, { rawDir: join(dir, 'empty') })).toThrow(
      /sources\.0\.archive: file not found: .*COVID-19_Radiography_Dataset\.zip/,
    );
  });

  it.each([
    [{ sources: [{ ...minimal().sources[0], classes: [{ source: 'X', class: 'lung-flu', glob: '*' }] }] }, /classes\.0\.class: unknown class 'lung-flu'/],
    [{ split: { train: 0.7, val: 0.2, test: 0.2 } }, /split: train \+ val \+ test must add up to 1/],
    [{ split: { train: 1.5, val: -0.3, test: -0.2 } }, /split\.train/],
    [{ sources: [{ ...minimal().sources[0], format: 'rar' }] }, /sources\.0\.format/],
    [{ sources: [{ ...minimal().sources[0], dataset: 'Bad Name' }] }, /sources\.0\.dataset: must be lowercase/],
    [{ sources: [{ ...minimal().sources[0], classes: [{ source: 'X', class: 'lung-normal' }] }] }, /exactly one of glob or regex/],
    [{ sources: [{ ...minimal().sources[0], classes: [{ source: 'X', class: 'lung-normal', regex: '(' }] }] }, /invalid regex/],
    [{ sources: [] }, /sources/],
    [{ surprise: 1 }, /Unrecognized key/],
  ])('rejects %j', (over, message) => {
    const err = (() => {
      try {
        parseDatasetConfig(minimal(over), dir);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as Error).message).toMatch(message);
  });

  it('refuses an entry that two class rules claim', () => {
    const c = parseDatasetConfig(
      minimal({
        sources: [
          {
            ...minimal().sources[0],
            classes: [
              { source: 'A', class: 'lung-normal', glob: '**/*.png' },
              { source: 'B', class: 'lung-covid', glob: 'x/*.png' },
            ],
          },
        ],
      }),
      dir,
    );
    expect(() => matchClass(c.sources[0]!, 'x/1.png')).toThrow(ValidationError);
  });
});
