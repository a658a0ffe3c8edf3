import sharp from 'sharp';
import { describe, expect, it } from 'vitest';

import { decodeDicom } from '../../data/dicom/decode.js';
import { cxrDicom, ramp16 } from '../../data/dicom/testing.js';
import { renderOverlay } from './overlay.js';

describe('renderOverlay', () => {
  it('draws over a DICOM rendered with its own window, like over its PNG rendering', async () => {
    const dicom = await cxrDicom(ramp16(64, 48), 'rle');
    const d = await decodeDicom(dicom);
    const png = await sharp(d.data, { raw: { width: 64, height: 48, channels: 1 } })
      .toColourspace('b-w')
      .png()
      .toBuffer();
    const heat = new Float32Array(8 * 8).fill(0);
    const a = await renderOverlay(dicom, heat, 8);
    const b = await renderOverlay(png, heat, 8);
    expect([a.width, a.height]).toEqual([64, 48]);
    const [ra, rb] = await Promise.all([a.png, b.png].map((p) => sharp(p).raw().toBuffer()));
    expect(ra!.equals(rb!)).toBe(true);
  });
});
