import { describe, expect, it } from 'vitest';

import { ValidationError } from '../../../core/errors.js';
import { Rng } from '../../../core/rng.js';
import { readLabelSheets } from '../../etl/labels.js';
import type { ImageBoxes } from '../types.js';
import { formatAnnotationsCsv } from '../vindr-csv.js';
import { fromCoco, toCoco } from './coco.js';
import { fromLabelStudioTasks, labelingConfig, toLabelStudioTasks } from './label-studio.js';
import { fromYoloLabels, toYoloLabels, yoloNames } from './yolo.js';

function randomImages(seed: number): ImageBoxes[] {
  const rng = new Rng(seed);
  return Array.from({ length: 8 }, (_, i) => {
    const [width, height] = [rng.int(200, 3000), rng.int(200, 3000)];
    const boxes = Array.from({ length: rng.int(0, 5) }, () => {
      const x0 = rng.uniform(0, width - 20);
      const y0 = rng.uniform(0, height - 20);
      return { classId: rng.int(0, 13), x0, y0, x1: rng.uniform(x0 + 1, width), y1: rng.uniform(y0 + 1, height) };
    });
    return { imageId: `img${i}`, width, height, boxes };
  });
}

function expectSameBoxes(a: ImageBoxes['boxes'], b: ImageBoxes['boxes'], tol: number) {
  expect(a.length).toBe(b.length);
  a.forEach((x, i) => {
    expect(b[i]!.classId).toBe(x.classId);
    for (const k of ['x0', 'y0', 'x1', 'y1'] as const) expect(Math.abs(b[i]![k] - x[k])).toBeLessThan(tol);
  });
}

describe('COCO JSON', () => {
  it('round-trips boxes through the file (bbox x, y, w, h; categories 1…14)', () => {
    const images = randomImages(1);
    const coco = JSON.parse(JSON.stringify(toCoco(images))) as unknown;
    const back = fromCoco(coco);
    expect(back.map((i) => [i.imageId, i.width, i.height])).toEqual(images.map((i) => [i.imageId, i.width, i.height]));
    back.forEach((im, i) => expectSameBoxes(images[i]!.boxes, im.boxes, 1e-9));
  });

  it("maps another tool's category ids by name, and rejects what it cannot read", () => {
    const file = {
      images: [{ id: 7, file_name: 'a.png', width: 100, height: 80 }],
      categories: [{ id: 42, name: 'Nodule/Mass' }],
      annotations: [{ id: 1, image_id: 7, category_id: 42, bbox: [10, 20, 5, 6], area: 30, iscrowd: 0 }],
    };
    expect(fromCoco(file)[0]!.boxes).toEqual([{ classId: 8, x0: 10, y0: 20, x1: 15, y1: 26 }]);
    expect(() => fromCoco({ ...file, categories: [{ id: 42, name: 'Dog' }] })).toThrow(/'Dog' is not one of the 14/);
    expect(() => fromCoco({ ...file, annotations: [{ ...file.annotations[0], bbox: [1, 2, 0, 3] }] })).toThrow(ValidationError);
    expect(() => fromCoco({ images: [] })).toThrow(ValidationError);
  });
});

describe('YOLO text labels', () => {
  it('round-trips within a thousandth of a pixel', () => {
    for (const im of randomImages(2)) expectSameBoxes(im.boxes, fromYoloLabels(toYoloLabels(im), im.width, im.height), 1e-3);
    expect(toYoloLabels({ imageId: 'x', width: 200, height: 100, boxes: [{ classId: 3, x0: 50, y0: 25, x1: 150, y1: 75 }] })).toBe('3 0.5 0.5 0.5 0.5\n');
    expect(yoloNames()).toContain('8: "Nodule/Mass"');
  });

  it('rejects malformed lines with their line number', () => {
    expect(() => fromYoloLabels('0 0.5 0.5 0.1\n', 10, 10)).toThrow(/line 1/);
    expect(() => fromYoloLabels('\n14 0.5 0.5 0.1 0.1\n', 10, 10)).toThrow(/line 2: class 14/);
  });
});

describe('Label Studio', () => {
  it('exports predictions in percent; corrected tasks come back as VinDr rows the ETL reads', () => {
    const tasks = toLabelStudioTasks(
      [
        {
          imageId: 'a',
          imageUrl: '/data/a.png',
          width: 400,
          height: 200,
          boxes: [
            { classId: 10, x0: 40, y0: 100, x1: 120, y1: 180, score: 0.8 },
            { classId: 8, x0: 0, y0: 0, x1: 10, y1: 10, score: 0.3 },
          ],
        },
        { imageId: 'b', imageUrl: '/data/b.png', width: 300, height: 300, boxes: [{ classId: 3, x0: 90, y0: 150, x1: 210, y1: 240, score: 0.9 }] },
        { imageId: 'c', imageUrl: '/data/c.png', width: 300, height: 300, boxes: [] },
      ],
      'det-nano@3',
    );
    const first = tasks[0]!.predictions![0]!.result[0]!;
    expect(first.value).toEqual({ x: 10, y: 50, width: 20, height: 40, rotation: 0, rectanglelabels: ['Pleural effusion'] });
    expect(labelingConfig()).toContain('<Label value="Pulmonary fibrosis"/>');
    // The radiologist: keeps the effusion but widens it, deletes the false nodule; rejects b's only box; skips c.
    const exported = JSON.parse(JSON.stringify(tasks)) as typeof tasks;
    exported[0]!.annotations = [
      { was_cancelled: true, result: [] },
      { completed_by: { email: 'dr.a@example.org' }, updated_at: '2026-12-06T07:00:00Z', result: [{ ...first, value: { ...first.value, width: 25 } }] },
    ];
    exported[1]!.annotations = [{ completed_by: 3, result: [] }];
    const rows = fromLabelStudioTasks(exported);
    expect(rows).toEqual([
      { imageId: 'a', className: 'Pleural effusion', classId: 10, radId: 'ls:dr.a@example.org', xMin: 40, yMin: 100, xMax: 140, yMax: 180 },
      { imageId: 'b', className: 'No finding', classId: 14, radId: 'ls:3', xMin: null, yMin: null, xMax: null, yMax: null },
    ]);
    const sheet = readLabelSheets('vindr', { name: 'annotations_train.csv', text: formatAnnotationsCsv(rows) });
    expect(sheet.byImage.get('a')!.boxes).toEqual([{ label: 'Pleural effusion', reader: 'ls:dr.a@example.org', box: [40, 100, 140, 180] }]);
    expect([...sheet.byImage.get('b')!.labels]).toEqual(['No finding']);
    expect(sheet.byImage.has('c')).toBe(false);
  });

  it('rejects labels outside the 14 findings and tasks without an image id', () => {
    const bad = [
      {
        data: { image: 'x', image_id: 'x' },
        annotations: [
          {
            result: [
              { type: 'rectanglelabels', original_width: 10, original_height: 10, value: { x: 0, y: 0, width: 1, height: 1, rectanglelabels: ['Cat'] } },
            ],
          },
        ],
      },
    ];
    expect(() => fromLabelStudioTasks(bad)).toThrow(/'Cat' is not one of the 14/);
    expect(() => fromLabelStudioTasks([{ data: {} }])).toThrow(/no data.image_id/);
    expect(() => fromLabelStudioTasks({})).toThrow(ValidationError);
  });
});
