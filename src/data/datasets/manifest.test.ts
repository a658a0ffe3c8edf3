import { describe, expect, it } from 'vitest';

import { ValidationError } from '../../core/errors.js';
import { encodeManifest, parseManifest } from './manifest.js';
import type { ManifestImage } from './types.js';

const image: ManifestImage = {
  sha256: 'a'.repeat(64),
  objectKey: 'datasets/ds-1/images/oct-cnv/o-oct-cnv-CNV-1-1.jpeg',
  fileName: 'o-oct-cnv-CNV-1-1.jpeg',
  dataset: 'o',
  sourceArchive: 'OCT2017.tar.gz',
  archiveSha256: 'b'.repeat(64),
  entryPath: 'OCT2017/train/CNV/CNV-1-1.jpeg',
  sourceClass: 'CNV',
  class: 'oct-cnv',
  split: 'val',
  finalEval: true,
  patientKey: 'kermany:1',
  width: 512,
  height: 496,
  bytes: 12345,
  format: 'jpeg',
  bitDepth: 8,
  meanIntensity: 61.5,
  stdIntensity: 40.25,
};

describe('manifest.jsonl', () => {
  it('round-trips, one snake_case line per image with final_eval as a boolean', () => {
    const text = encodeManifest([image, { ...image, sha256: 'c'.repeat(64), patientKey: null, finalEval: false }]);
    expect(text.split('\n')).toHaveLength(3);
    expect(JSON.parse(text.split('\n')[0]!)).toMatchObject({
      object_key: image.objectKey,
      final_eval: true,
      patient_key: 'kermany:1',
      entry_path: image.entryPath,
    });
    expect(parseManifest(text)).toEqual([image, { ...image, sha256: 'c'.repeat(64), patientKey: null, finalEval: false }]);
  });

  it('names the first bad line', () => {
    const good = encodeManifest([image]);
    expect(() => parseManifest(`${good}{"sha256":"x"}\n`, 'm.jsonl')).toThrow(/m\.jsonl:2: sha256/);
    expect(() => parseManifest(`${good}not json\n`)).toThrow(ValidationError);
    expect(() => parseManifest(good.replace('"split":"val"', '"split":"holdout"'))).toThrow(/:1: split/);
  });
});
