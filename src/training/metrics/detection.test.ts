import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

import { describe, expect, it } from 'vitest';

import { Rng } from '../../core/rng.js';
import { DETECTION_CLASSES } from '../../data/classes.js';
import type { ImageBoxes, ImagePredictions } from '../../data/detection/types.js';
import { cocoClassAp, detectionReport, froc, vocClassAp } from './detection.js';

const gt = (imageId: string, boxes: [number, number, number, number, number][]): ImageBoxes => ({
  imageId,
  width: 100,
  height: 100,
  boxes: boxes.map(([classId, x0, y0, x1, y1]) => ({ classId, x0, y0, x1, y1 })),
});
const pr = (imageId: string, boxes: [number, number, number, number, number, number][]): ImagePredictions => ({
  imageId,
  boxes: boxes.map(([classId, x0, y0, x1, y1, score]) => ({ classId, x0, y0, x1, y1, score })),
});

describe('detection metrics, hand-computed', () => {
  it('a false positive ranked below the only true positive costs nothing', () => {
    const t = [gt('a', [[0, 0, 0, 10, 10]])];
    const p = [
      pr('a', [
        [0, 0, 0, 10, 10, 0.9],
        [0, 20, 20, 30, 30, 0.8],
      ]),
    ];
    expect(vocClassAp(t, p, 0, 0.4).ap).toBe(1);
    expect(cocoClassAp(t, p, 0, 0.5)).toBe(1);
  });

  it('FP, TP, TP over two truth boxes: precision envelope 2/3 over all recall → AP 2/3 (VOC and COCO)', () => {
    const t = [gt('a', [[3, 0, 0, 10, 10]]), gt('b', [[3, 50, 50, 60, 60]])];
    const p = [
      pr('a', [[3, 0, 0, 10, 10, 0.8]]),
      pr('b', [
        [3, 0, 0, 5, 5, 0.9],
        [3, 50, 50, 60, 60, 0.7],
      ]),
    ];
    const voc = vocClassAp(t, p, 3, 0.4);
    expect(voc.ap).toBeCloseTo(2 / 3, 12);
    expect(voc.curve.map((c) => [c.recall, c.precision])).toEqual([
      [0, 0],
      [0.5, 0.5],
      [1, 2 / 3],
    ]);
    expect(cocoClassAp(t, p, 3, 0.5)).toBeCloseTo(2 / 3, 12);
  });

  it('IoU exactly at the threshold: VOC needs more than t, COCO at least t; a duplicate is a false positive', () => {
    const t = [gt('a', [[1, 0, 0, 10, 10]])];
    const half = [pr('a', [[1, 0, 0, 10, 20, 0.9]])]; // IoU 100/200 = 0.5
    expect(vocClassAp(t, half, 1, 0.5).ap).toBe(0);
    expect(vocClassAp(t, half, 1, 0.4).ap).toBe(1);
    expect(cocoClassAp(t, half, 1, 0.5)).toBe(1);
    expect(cocoClassAp(t, half, 1, 0.55)).toBe(0);
    const twice = [
      pr('a', [
        [1, 0, 0, 10, 10, 0.9],
        [1, 0, 0, 10, 10, 0.8],
      ]),
    ];
    expect(vocClassAp(t, twice, 1, 0.5).curve.map((c) => c.precision)).toEqual([1, 0.5]);
  });

  it('classes without truth have no AP and leave the means; a class with truth and no predictions scores 0', () => {
    const t = [
      gt('a', [
        [0, 0, 0, 10, 10],
        [2, 40, 40, 60, 60],
      ]),
    ];
    const p = [
      pr('a', [
        [0, 0, 0, 10, 10, 0.9],
        [5, 0, 0, 10, 10, 0.9],
      ]),
    ];
    const r = detectionReport(t, p, DETECTION_CLASSES);
    expect(r.perClass[5]!.ap40).toBeNull();
    expect(r.perClass[2]!.ap40).toBe(0);
    expect(r.map40).toBe(0.5);
    expect(r.mapCoco).toBe(0.5);
  });

  it('FROC: sensitivity reached within 0.5, 1, 2, 4 false positives per image', () => {
    const t = [gt('a', [[0, 0, 0, 10, 10]]), gt('b', [[0, 0, 0, 10, 10]])];
    const p = [
      pr('a', [
        [0, 0, 0, 10, 10, 0.9],
        [0, 50, 50, 60, 60, 0.8],
      ]),
      pr('b', [
        [0, 50, 50, 60, 60, 0.7],
        [0, 0, 0, 10, 10, 0.6],
      ]),
    ];
    const f = froc(t, p, 0.4);
    expect(f.sensitivity.map((s) => s.sensitivity)).toEqual([0.5, 1, 1, 1]);
    expect(f.mean).toBe(0.875);
  });
});

const PYTHON = '/usr/bin/python3';
const PEER = resolve(import.meta.dirname, '../../../bench/peers/detection_metrics.py');
const numpy = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;

describe.skipIf(!numpy)('detection metrics = the independent numpy peer (bench/peers/detection_metrics.py)', () => {
  it('agree to 1e-6 on a random set: jittered hits, misses, duplicates, false positives, tied scores', () => {
    const rng = new Rng(2024);
    const truth: ImageBoxes[] = [];
    const predictions: ImagePredictions[] = [];
    for (let i = 0; i < 60; i++) {
      const t = gt(`img${i}`, []);
      const p = pr(`img${i}`, []);
      for (let k = rng.int(0, 4); k > 0; k--) {
        const c = rng.int(0, 13);
        const [x, y, w, h] = [rng.uniform(0, 400), rng.uniform(0, 400), rng.uniform(8, 120), rng.uniform(8, 120)];
        t.boxes.push({ classId: c, x0: x, y0: y, x1: x + w, y1: y + h });
        for (let d = rng.chance(0.15) ? 2 : rng.chance(0.8) ? 1 : 0; d > 0; d--) {
          const j = () => rng.normal(0, 0.12);
          // Scores on a 0.05 grid: plenty of ties, broken by image and box order in both implementations.
          p.boxes.push({
            classId: rng.chance(0.9) ? c : rng.int(0, 13),
            x0: x + j() * w,
            y0: y + j() * h,
            x1: x + w + j() * w,
            y1: y + h + j() * h,
            score: Math.round(rng.uniform(0.05, 1) * 20) / 20,
          });
        }
      }
      for (let k = rng.int(0, 3); k > 0; k--) {
        const [x, y] = [rng.uniform(0, 400), rng.uniform(0, 400)];
        p.boxes.push({ classId: rng.int(0, 13), x0: x, y0: y, x1: x + rng.uniform(8, 80), y1: y + rng.uniform(8, 80), score: rng.uniform(0, 0.6) });
      }
      truth.push(t);
      predictions.push(p);
    }
    const ts = detectionReport(truth, predictions, DETECTION_CLASSES);
    const input = {
      classes: 14,
      froc_iou: 0.4,
      truth: truth.map((t) => ({ image_id: t.imageId, boxes: t.boxes.map((b) => [b.classId, b.x0, b.y0, b.x1, b.y1]) })),
      predictions: predictions.map((p) => ({ image_id: p.imageId, boxes: p.boxes.map((b) => [b.classId, b.x0, b.y0, b.x1, b.y1, b.score]) })),
    };
    const run = spawnSync(PYTHON, [PEER], { input: JSON.stringify(input), encoding: 'utf8' });
    expect(run.stderr).toBe('');
    const py = JSON.parse(run.stdout) as {
      per_class: { ap40: number | null; ap50: number | null; ap_coco: number | null }[];
      map40: number;
      map50: number;
      map_coco: number;
      map_coco50: number;
      froc: number[];
    };
    const close = (a: number | null, b: number | null) => {
      if (a === null || b === null) expect(a).toBe(b);
      else expect(Math.abs(a - b)).toBeLessThan(1e-6);
    };
    ts.perClass.forEach((c, i) => {
      close(c.ap40, py.per_class[i]!.ap40);
      close(c.ap50, py.per_class[i]!.ap50);
      close(c.apCoco, py.per_class[i]!.ap_coco);
    });
    close(ts.map40, py.map40);
    close(ts.map50, py.map50);
    close(ts.mapCoco, py.map_coco);
    close(ts.mapCoco50, py.map_coco50);
    ts.froc.sensitivity.forEach((s, i) => close(s.sensitivity, py.froc[i]!));
    // Not a degenerate set: the figures are neither 0 nor 1.
    expect(ts.map40!).toBeGreaterThan(0.2);
    expect(ts.map40!).toBeLessThan(0.95);
    expect(ts.mapCoco!).toBeLessThan(ts.map50!);
  });
});
