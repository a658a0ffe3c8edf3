import sharp from 'sharp';
import { describe, expect, it } from 'vitest';

import { decodeDicom } from '../decode.js';
import { parseDicom } from '../parse.js';
import { buildModelResultSr, buildSaliencySecondaryCapture, type SaliencyScInput, saliencyScUids, SrInputError } from './index.js';
import { modelInput, testOrigin } from './testing.js';

type Item = Record<string, unknown>;
const seq = (x: unknown): Item[] => (x === undefined ? [] : Array.isArray(x) ? (x as Item[]) : [x as Item]);

/** A 6×4 RGB image whose every pixel is distinct. */
function rgbPattern(width = 6, height = 4): Uint8Array {
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 11) % 256;
  return rgb;
}

function input(over: Partial<SaliencyScInput> = {}): SaliencyScInput {
  return {
    origin: testOrigin(),
    model: { name: 'cxr-vit', version: '3' },
    overlay: { rgb: rgbPattern(), width: 6, height: 4 },
    className: 'lung-opacity',
    observedAt: new Date('2026-12-06T03:07:48.123Z'),
    studyId: 'st_0123',
    ...over,
  };
}

describe('buildSaliencySecondaryCapture', () => {
  it('is a Secondary Capture in the original study, marked derived, burned-in and AI, with the model in Contributing Equipment', async () => {
    const file = parseDicom(await buildSaliencySecondaryCapture(input()));
    const d = file.dataset;
    expect(file.meta.FileMetaInformationVersion).toBeDefined();
    expect(d.SOPClassUID).toBe('1.2.840.10008.5.1.4.1.1.7');
    expect(d.StudyInstanceUID).toBe(testOrigin().study.studyInstanceUid);
    expect(d.PatientID).toBe('MRN-0042');
    expect(d.ImageType).toEqual(['DERIVED', 'SECONDARY']);
    expect(d.BurnedInAnnotation).toBe('YES');
    expect(String(d.SeriesDescription)).toContain('AI saliency overlay');
    expect(d.ConversionType).toBe('SYN');
    expect(seq(d.ContributingEquipmentSequence)[0]).toMatchObject({ Manufacturer: 'secondread', ManufacturerModelName: 'cxr-vit', SoftwareVersions: '3' });
    const source = seq(d.SourceImageSequence)[0]!;
    expect(source.ReferencedSOPInstanceUID).toBe(testOrigin().instance.sopInstanceUid);
    expect(seq(source.PurposeOfReferenceCodeSequence)[0]).toMatchObject({ CodeValue: '121322', CodingSchemeDesignator: 'DCM' });
    expect(d.SOPInstanceUID).toBe(saliencyScUids(testOrigin(), { name: 'cxr-vit', version: '3' }, 'lung-opacity').sopInstanceUid);
    // Its own series: neither the source's nor the SR's.
    const srSeries = parseDicom(buildModelResultSr(modelInput())).dataset.SeriesInstanceUID;
    expect(new Set([d.SeriesInstanceUID, srSeries, testOrigin().series.seriesInstanceUid]).size).toBe(3);
  });

  it('keeps the pixels exactly (raw RGB in, RGB out)', async () => {
    const decoded = await decodeDicom(await buildSaliencySecondaryCapture(input()));
    expect([decoded.info.columns, decoded.info.rows, decoded.info.photometric, decoded.info.burnedInAnnotation]).toEqual([6, 4, 'RGB', true]);
    const pixels = (parseDicom(await buildSaliencySecondaryCapture(input())).dataset.PixelData as ArrayBuffer[])[0]!;
    expect(Buffer.from(pixels).equals(Buffer.from(rgbPattern()))).toBe(true);
  });

  it('takes a PNG (RGBA or greyscale) and is deterministic', async () => {
    const rgba = await sharp(Buffer.from(rgbPattern()), { raw: { width: 6, height: 4, channels: 3 } })
      .ensureAlpha()
      .png()
      .toBuffer();
    const fromPng = await buildSaliencySecondaryCapture(input({ overlay: { png: rgba } }));
    expect(Buffer.from(fromPng).equals(Buffer.from(await buildSaliencySecondaryCapture(input())))).toBe(true);
    const grey = await sharp(Buffer.alloc(12, 77), { raw: { width: 4, height: 3, channels: 1 } })
      .png()
      .toBuffer();
    const d = parseDicom(await buildSaliencySecondaryCapture(input({ overlay: { png: grey } }))).dataset;
    expect([d.Columns, d.Rows, d.SamplesPerPixel, d.PhotometricInterpretation]).toEqual([4, 3, 3, 'RGB']);
  });

  it('refuses an overlay it cannot use, with a typed error', async () => {
    await expect(buildSaliencySecondaryCapture(input({ overlay: { png: new Uint8Array([1, 2, 3]) } }))).rejects.toBeInstanceOf(SrInputError);
    await expect(buildSaliencySecondaryCapture(input({ overlay: { rgb: new Uint8Array(5), width: 6, height: 4 } }))).rejects.toBeInstanceOf(SrInputError);
    await expect(buildSaliencySecondaryCapture(input({ className: ' ' }))).rejects.toBeInstanceOf(SrInputError);
  });
});
