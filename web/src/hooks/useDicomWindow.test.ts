import { describe, expect, it } from 'vitest';

import { describeDicomWindow } from './useDicomWindow.js';

describe('describeDicomWindow', () => {
  it("names the DICOM's own window, its VOI LUT or the min…max fallback with their numbers", () => {
    expect(describeDicomWindow({ source: 'window', center: 2048, width: 4096 })).toBe('DICOM window 4096 / level 2048 (full range here)');
    expect(describeDicomWindow({ source: 'min-max', center: 100.4, width: 200.6 })).toBe('DICOM min…max, width 201 / level 100 (full range here)');
  });
});
