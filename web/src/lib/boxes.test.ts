import { describe, expect, it } from 'vitest';

import type { ModelRead } from '../api/types.js';
import { boxCaption, boxesOf, classColor, classesPresent, screenRect, toggleClass, visibleBoxes } from './boxes.js';

const read: ModelRead = {
  model: 'cxr-oct',
  version: 1,
  label: 'lung-opacity',
  top: { class: 'lung-opacity', probability: 0.8 },
  predictions: [{ class: 'lung-opacity', probability: 0.8 }],
  at: '2026-12-06T10:00:00.000Z',
  detections: [
    { class: 'Cardiomegaly', score: 0.912, box: [10, 20, 110, 80] },
    { class: 'Nodule/Mass', score: 0.6, box: [5, 5, 15, 15] },
    { class: 'Cardiomegaly', score: 0.3, box: [0, 0, 4, 4] },
  ],
  detector: { name: 'cxr-det', version: 2 },
  boxMarks: [{ index: 1, correct: false, userId: 'u1', at: '2026-12-06T10:01:00.000Z' }],
};

describe('the detector’s boxes in the viewer', () => {
  it('a read’s boxes keep their index (what marks point at) and carry their latest mark; a blinded view has none', () => {
    const boxes = boxesOf(read);
    expect(boxes.map((b) => [b.index, b.class, b.mark])).toEqual([
      [0, 'Cardiomegaly', null],
      [1, 'Nodule/Mass', false],
      [2, 'Cardiomegaly', null],
    ]);
    expect(boxesOf(undefined)).toEqual([]);
    expect(boxesOf({ ...read, detections: undefined })).toEqual([]);
  });

  it('one checkbox per class present, with its count; hiding a class hides all its boxes and only them', () => {
    const boxes = boxesOf(read);
    expect(classesPresent(boxes)).toEqual([
      { class: 'Cardiomegaly', count: 2 },
      { class: 'Nodule/Mass', count: 1 },
    ]);
    const hidden = toggleClass(new Set(), 'Cardiomegaly');
    expect(visibleBoxes(boxes, hidden).map((b) => b.index)).toEqual([1]);
    const shown = toggleClass(hidden, 'Cardiomegaly');
    expect(shown.size).toBe(0);
    expect(hidden.has('Cardiomegaly')).toBe(true); // the old state is left as it was
    expect(visibleBoxes(boxes, shown)).toHaveLength(3);
  });

  it('boxes follow the viewer’s zoom and pan: image pixel p lands at x + p·scale', () => {
    expect(screenRect([10, 20, 110, 80], { scale: 1, x: 0, y: 0 })).toEqual({ left: 10, top: 20, width: 100, height: 60 });
    expect(screenRect([10, 20, 110, 80], { scale: 0.5, x: 30, y: -4 })).toEqual({ left: 35, top: 6, width: 50, height: 30 });
  });

  it('captions name class and score; each class has its own stable colour', () => {
    expect(boxCaption(read.detections![0]!)).toBe('Cardiomegaly 0.91');
    expect(classColor('Cardiomegaly')).toBe(classColor('Cardiomegaly'));
    expect(classColor('Cardiomegaly')).not.toBe(classColor('Nodule/Mass'));
    expect(classColor('not a VinDr class')).toMatch(/^#[0-9a-f]{6}$/);
  });
});
