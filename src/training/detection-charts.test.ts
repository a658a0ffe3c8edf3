import sharp from 'sharp';
import { describe, expect, it } from 'vitest';

import { tableSvg } from '../core/charts/index.js';
import { ValidationError } from '../core/errors.js';
import { DETECTION_CLASSES } from '../data/classes.js';
import { detectionChartsPng, prCurveCharts } from './detection-charts.js';
import { detectionReport } from './metrics/detection.js';

describe('detection charts', () => {
  const truth = DETECTION_CLASSES.map((_, c) => ({ imageId: `i${c}`, width: 64, height: 64, boxes: [{ classId: c, x0: 10, y0: 10, x1: 30, y1: 30 }] }));
  const predictions = truth.map((t, c) => ({
    imageId: t.imageId,
    boxes: [
      { classId: c, x0: 11, y0: 10, x1: 30, y1: 31, score: 0.5 + c / 40 },
      { classId: c, x0: 40, y0: 40, x1: 60, y1: 60, score: 0.9 },
    ],
  }));
  const report = detectionReport(truth, predictions, DETECTION_CLASSES);

  it('puts the 14 classes on two PR charts of 7, then the FROC', () => {
    const charts = prCurveCharts(report);
    expect(charts.map((c) => c.series.length)).toEqual([7, 7, 1]);
    expect(charts[0]!.series[0]!.name).toBe('Aortic enlargement (AP 0.500)');
  });

  it('renders the curves and the per-class table as PNGs', async () => {
    const { curves, table } = await detectionChartsPng(report);
    for (const png of [curves, table]) expect((await sharp(png).metadata()).format).toBe('png');
    expect((await sharp(table).metadata()).height).toBeGreaterThan(15 * 20);
    expect(tableSvg({ title: 't', header: ['a', 'b'], rows: [['x', '1']] })).toContain('>x</text>');
    expect(() => tableSvg({ title: 't', header: ['a', 'b'], rows: [['x']] })).toThrow(ValidationError);
  });
});
