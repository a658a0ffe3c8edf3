import { describe, expect, it } from 'vitest';

import type { ManifestImage } from '../datasets/types.js';
import { parseAnnotations } from '../detection/annotations.js';
import { FUSION_DEFAULTS } from '../detection/fusion.js';
import { encodeAnnotations } from '../etl/annotations.js';
import { confirmedBoxAnnotation } from './build.js';
import type { BoxLabel } from './types.js';

const image: ManifestImage = {
  sha256: 'a'.repeat(64),
  objectKey: 'datasets/ds-1/images/lung-opacity/feedback-lung-opacity-st-1.png',
  fileName: 'feedback-lung-opacity-st-1.png',
  dataset: 'feedback',
  sourceArchive: 'studies',
  archiveSha256: '',
  entryPath: 'studies/st-1/image.png',
  sourceClass: 'B',
  class: 'lung-opacity',
  split: 'train',
  finalEval: false,
  patientKey: null,
  width: 200,
  height: 160,
  bytes: 1234,
  format: 'png',
  bitDepth: 8,
  meanIntensity: 100,
  stdIntensity: 20,
};

const mark = (cls: string, box: BoxLabel['box'], correct = true): BoxLabel => ({ class: cls, score: 0.8, box, correct, detector: { name: 'det', version: 1 } });

describe('feedback annotations.jsonl (the ETL encoder with a given reference)', () => {
  const marks = [
    mark('Cardiomegaly', [50, 60, 150, 120]),
    mark('Lung Opacity', [10, 10, 40, 40]),
    mark('Nodule/Mass', [5, 5, 9, 9], false),
    mark('Not a finding', [1, 1, 2, 2]),
  ];

  it('writes the confirmed boxes as reader B and as the reference with score 1, byte for byte', () => {
    const text = encodeAnnotations([image], new Map([[image.objectKey, confirmedBoxAnnotation(marks)!]]));
    expect(text).toBe(
      `{"object_key":"${image.objectKey}","sha256":"${image.sha256}","width":200,"height":160,` +
        `"source_labels":["Cardiomegaly","Lung Opacity"],"readers":["B"],` +
        `"boxes":[{"label":"Cardiomegaly","reader":"B","box":[50,60,150,120]},{"label":"Lung Opacity","reader":"B","box":[10,10,40,40]}],` +
        `"reference":[{"label":"Cardiomegaly","class_id":3,"box":[50,60,150,120],"readers":["B"],"score":1},` +
        `{"label":"Lung Opacity","class_id":7,"box":[10,10,40,40],"readers":["B"],"score":1}]}\n`,
    );
    expect(parseAnnotations(text)[0]!.reference).toEqual([
      { classId: 3, x0: 50, y0: 60, x1: 150, y1: 120, readers: ['B'], score: 1 },
      { classId: 7, x0: 10, y0: 10, x1: 40, y1: 40, readers: ['B'], score: 1 },
    ]);
  });

  it('emits the same line as an ETL build that fuses the same boxes of one reader B', () => {
    const confirmed = confirmedBoxAnnotation(marks)!;
    const { reference: _given, ...readerBoxes } = confirmed;
    for (const fusion of Object.values(FUSION_DEFAULTS)) {
      const fused = encodeAnnotations([image], new Map([[image.objectKey, readerBoxes]]), { ...fusion, minReaders: 1 });
      expect(encodeAnnotations([image], new Map([[image.objectKey, confirmed]]))).toBe(fused);
    }
  });

  it('a given reference overrides the fusion config', () => {
    const confirmed = confirmedBoxAnnotation([mark('Lung Opacity', [-5, 10, 400, 40])])!;
    const line = JSON.parse(encodeAnnotations([image], new Map([[image.objectKey, confirmed]]), FUSION_DEFAULTS.wbf)) as { reference: unknown[] };
    // Fused, the box would be clipped to the image (x0 0, x1 200); the given one is written as B marked it.
    expect(line.reference).toEqual([{ label: 'Lung Opacity', class_id: 7, box: [-5, 10, 400, 40], readers: ['B'], score: 1 }]);
  });

  it('no confirmed box, no annotation', () => {
    expect(confirmedBoxAnnotation([mark('Lung Opacity', [10, 10, 40, 40], false), mark('Not a finding', [1, 1, 2, 2])])).toBeUndefined();
    expect(confirmedBoxAnnotation([])).toBeUndefined();
  });
});
