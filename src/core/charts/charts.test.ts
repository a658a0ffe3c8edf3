import sharp from 'sharp';
import { describe, expect, it } from 'vitest';

import { ValidationError } from '../errors.js';
import { cellColour, confusionMatrixLayout, confusionMatrixSvg, renderConfusionMatrixPng } from './confusion-matrix.js';
import { lineChartLayout, niceTicks, PALETTE, renderChartsPng, renderLineChartPng } from './line-chart.js';

async function pixels(png: Buffer) {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const at = (x: number, y: number): [number, number, number] => {
    const i = (Math.round(y) * info.width + Math.round(x)) * info.channels;
    return [data[i]!, data[i + 1]!, data[i + 2]!];
  };
  return { info, at };
}

function hex(c: string): [number, number, number] {
  return [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16)) as [number, number, number];
}

describe('confusion matrix chart', () => {
  const opts = {
    classNames: ['lung-normal', 'lung-covid', 'oct-<dme>'],
    matrix: [
      [90, 10, 0],
      [5, 45, 50],
      [0, 0, 7],
    ],
  };

  it('renders a valid PNG of the layout size, with cell colour following the count', async () => {
    const png = await renderConfusionMatrixPng(opts);
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    const L = confusionMatrixLayout(opts);
    const { info, at } = await pixels(png);
    expect([info.width, info.height]).toEqual([L.width, L.height]);
    // Sample each cell near its top-left corner (away from the text in its middle).
    const sample = (r: number, c: number) => {
      const { x, y } = L.cellOrigin(r, c);
      return at(x + 4, y + 4);
    };
    for (const [r, c] of [
      [0, 0],
      [0, 1],
      [1, 2],
      [2, 0],
    ] as const) {
      const total = opts.matrix[r]!.reduce((a, b) => a + b, 0);
      const want = cellColour(opts.matrix[r]![c]!, total);
      const got = sample(r, c);
      for (let k = 0; k < 3; k++) expect(Math.abs(got[k]! - want[k]!)).toBeLessThanOrEqual(2);
    }
    // 90 of 100 is darker than 10 of 100; an empty cell is the lightest.
    const lum = (p: number[]) => p[0]! + p[1]! + p[2]!;
    expect(lum(sample(0, 0))).toBeLessThan(lum(sample(0, 1)));
    expect(lum(sample(0, 1))).toBeLessThan(lum(sample(0, 2)));
  });

  it('labels classes (escaped) and counts in the SVG', () => {
    const svg = confusionMatrixSvg(opts);
    expect(svg).toContain('>lung-covid<');
    expect(svg).toContain('oct-&lt;dme&gt;');
    expect(svg).toContain('>50<');
    expect(svg).toContain('predicted class');
  });

  it('rejects a matrix that does not match the classes', () => {
    expect(() => confusionMatrixSvg({ classNames: ['a', 'b'], matrix: [[1, 2]] })).toThrow(ValidationError);
    expect(() => confusionMatrixSvg({ classNames: ['a'], matrix: [[-1]] })).toThrow(ValidationError);
  });
});

describe('line charts', () => {
  const loss = {
    title: 'Loss',
    xLabel: 'epoch',
    yLabel: 'loss',
    series: [
      { name: 'train', points: [0, 1, 2, 3, 4].map((x) => ({ x, y: 2 / (x + 1) })) },
      { name: 'val', points: [0, 1, 2, 3, 4].map((x) => ({ x, y: 2.2 / (x + 1) + 0.1 })) },
    ],
  };

  it('draws each series in its colour at the scaled position', async () => {
    const png = await renderLineChartPng({ ...loss, width: 500, height: 300 });
    const { info, at } = await pixels(png);
    expect([info.width, info.height]).toEqual([500, 300]);
    const L = lineChartLayout({ ...loss, width: 500, height: 300 });
    // At x = 2 (a vertex of both polylines) the series' colour is within 2 px of sy(y).
    const near = (colour: string, x: number, y: number) => {
      const want = hex(colour);
      for (let dy = -2; dy <= 2; dy++) {
        const p = at(L.sx(x), L.sy(y) + dy);
        if (p.every((v, k) => Math.abs(v - want[k]!) < 40)) return true;
      }
      return false;
    };
    expect(near(PALETTE[0], 2, 2 / 3)).toBe(true);
    expect(near(PALETTE[1], 2, 2.2 / 3 + 0.1)).toBe(true);
    expect(near(PALETTE[0], 2, 1.6)).toBe(false); // nothing drawn where there is no data
  });

  it('lays several charts side by side and survives NaN points', async () => {
    const acc = {
      title: 'Accuracy',
      yMin: 0,
      yMax: 1,
      series: [
        {
          name: 'val',
          points: [
            { x: 0, y: 0.3 },
            { x: 1, y: Number.NaN },
            { x: 2, y: 0.8 },
          ],
        },
      ],
    };
    const png = await renderChartsPng([loss, acc]);
    const meta = await sharp(png).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 1280, 400]);
  });

  it('picks round ticks', () => {
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0.13, 2.4)).toEqual([0.5, 1, 1.5, 2]);
  });
});
