import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { decodeGrayscale, readImageHeader } from '../images/decode.js';
import { preprocessImage } from '../images/preprocess.js';
import { decodeDicom } from './decode.js';
import { DicomError } from './errors.js';
import { dcmtkJpeg12Available } from './jpeg12-dcmtk.js';
import { metaDict, parseDicom, writeDicom } from './parse.js';
import { cxrDicom, ramp16, smooth8 } from './testing.js';
import { type PixelImage, WRITABLE_SYNTAXES, type WritableSyntax, writeDicomImage } from './write.js';

const fixture = (name: string) => readFileSync(new URL(`./testdata/${name}`, import.meta.url));
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};
async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'no error';
  } catch (err) {
    return err instanceof DicomError ? `${err.code} ${err.httpStatus}` : `untyped: ${String(err)}`;
  }
}

describe('decodeDicom: transfer syntaxes', () => {
  const lossy: Partial<Record<WritableSyntax, number>> = { 'jpeg-ls-near': 2, 'jpeg2000-lossy': 16, 'jpeg-baseline': 3 };
  for (const syntax of Object.keys(WRITABLE_SYNTAXES) as WritableSyntax[]) {
    it(`${syntax}: stored values ${lossy[syntax] ? `within ${lossy[syntax]}` : 'exact'}`, async () => {
      const image = syntax === 'jpeg-baseline' ? smooth8() : ramp16();
      const d = await decodeDicom(await cxrDicom(image, syntax));
      expect(d.info.transferSyntaxUid).toBe(WRITABLE_SYNTAXES[syntax]);
      expect(maxDiff(d.stored, image.pixels)).toBeLessThanOrEqual(lossy[syntax] ?? 0);
    });
  }

  it('reads DCMTK-encoded files: JPEG lossless process 14 (SV1 and SV6), RLE, JPEG-LS, big endian — exactly', async () => {
    const source = ramp16().pixels;
    for (const f of ['jpeg-lossless-sv1.dcm', 'jpeg-lossless-p14.dcm', 'rle-dcmtk.dcm', 'jpeg-ls-dcmtk.dcm', 'big-endian-dcmtk.dcm']) {
      expect(maxDiff((await decodeDicom(fixture(f))).stored, source), f).toBe(0);
    }
  });

  it('refuses 12-bit JPEG extended with a clear code when DCMTK, its decoder, is turned off or missing', async () => {
    const before = process.env.SECONDREAD_DCMTK;
    process.env.SECONDREAD_DCMTK = 'off';
    try {
      expect(await codeOf(decodeDicom(fixture('jpeg-extended-12bit.dcm')))).toBe('dicom_unsupported_transfer_syntax 415');
    } finally {
      if (before === undefined) delete process.env.SECONDREAD_DCMTK;
      else process.env.SECONDREAD_DCMTK = before;
    }
  });

  it.skipIf(!dcmtkJpeg12Available())('decodes 12-bit JPEG extended through DCMTK within the lossy tolerance of the source', async () => {
    const d = await decodeDicom(fixture('jpeg-extended-12bit.dcm'));
    expect(d.info.transferSyntaxUid).toBe('1.2.840.10008.1.2.4.51');
    // DCMTK's default quality (90) on a smooth 12-bit ramp: a few grey levels out of 4096.
    expect(maxDiff(d.stored, ramp16().pixels)).toBeLessThanOrEqual(24);
    expect(maxDiff(d.stored, ramp16().pixels)).toBeGreaterThan(0);
  });

  it('reads a bare big-endian dataset (old equipment sends them without a meta header)', async () => {
    const full = fixture('big-endian-dcmtk.dcm');
    const groupLength = new DataView(full.buffer, full.byteOffset).getUint32(140, true);
    const d = await decodeDicom(full.subarray(144 + groupLength));
    expect(d.info.transferSyntaxUid).toBe('1.2.840.10008.1.2.2');
    expect(maxDiff(d.stored, ramp16().pixels)).toBe(0);
  });

  it('reads a dataset written implicit VR under a meta header that declares explicit VR (as pydicom does)', async () => {
    const implicit = await cxrDicom(ramp16(), 'implicit-le');
    const groupLength = new DataView(implicit.buffer, implicit.byteOffset).getUint32(140, true);
    const body = implicit.subarray(144 + groupLength);
    const file = parseDicom(implicit);
    const metaOnly = writeDicom({ ...metaDict(file), '00020010': { vr: 'UI', Value: [WRITABLE_SYNTAXES['explicit-le']] } }, {});
    const lying = Buffer.concat([metaOnly, body]);
    const d = await decodeDicom(lying);
    expect(maxDiff(d.stored, ramp16().pixels)).toBe(0);
  });

  it('reads a dataset with an ISO 2022 multi-valued Specific Character Set (Japanese sites) instead of refusing it', async () => {
    const bytes = await cxrDicom(ramp16(), 'explicit-le', { SpecificCharacterSet: ['ISO 2022 IR 13', 'ISO 2022 IR 87'], StudyDescription: 'CHEST' });
    const d = await decodeDicom(bytes);
    expect(maxDiff(d.stored, ramp16().pixels)).toBe(0);
    expect(parseDicom(bytes).dataset.StudyDescription).toBe('CHEST');
  });

  it('reads a bare dataset without preamble or meta header (implicit and explicit VR)', async () => {
    for (const syntax of ['implicit-le', 'explicit-le'] as const) {
      const full = await cxrDicom(ramp16(), syntax);
      const groupLength = new DataView(full.buffer, full.byteOffset).getUint32(140, true);
      const bare = full.subarray(144 + groupLength);
      const d = await decodeDicom(bare);
      expect(d.info.transferSyntaxUid).toBe(WRITABLE_SYNTAXES[syntax]);
      expect(maxDiff(d.stored, ramp16().pixels)).toBe(0);
      expect(parseDicom(bare).hasPreamble).toBe(false);
    }
  });
});

describe('decodeDicom: pixel pipeline', () => {
  it('signed pixels with rescale, and the window decides the grey levels', async () => {
    const image = ramp16(64, 48, { signed: true });
    const d = await decodeDicom(await cxrDicom(image, 'explicit-le', { RescaleSlope: 2, RescaleIntercept: -100, WindowCenter: -100, WindowWidth: 2000 }));
    expect(Math.min(...d.stored)).toBeLessThan(0);
    // value v → modality 2v−100; window [−1100, 900] → grey
    const i = 10;
    const modality = 2 * image.pixels[i]! - 100;
    const expected = Math.round(Math.min(1, Math.max(0, (modality - (-100 - 0.5)) / 1999 + 0.5)) * 255);
    expect(Math.abs(d.data[i]! - expected)).toBeLessThanOrEqual(1);
    expect(d.info.window).toEqual({ source: 'window', center: -100, width: 2000 });
  });

  it('MONOCHROME1 is inverted so that 0 is black', async () => {
    const m2 = await decodeDicom(await cxrDicom(ramp16(), 'explicit-le', { PhotometricInterpretation: 'MONOCHROME2' }));
    const m1 = await decodeDicom(await cxrDicom(ramp16(), 'explicit-le', { PhotometricInterpretation: 'MONOCHROME1' }));
    for (let i = 0; i < m1.data.length; i++) expect(m1.data[i]).toBe(255 - m2.data[i]!);
  });

  it('without a window, the image min…max spans 0…255', async () => {
    const d = await decodeDicom(await writeDicomImage({ Modality: 'CR' }, ramp16()));
    expect(d.info.window.source).toBe('min-max');
    expect(Math.min(...d.data)).toBe(0);
    expect(Math.max(...d.data)).toBe(255);
  });

  it('RGB (interleaved and planar) becomes luminance; multi-frame reads the first frame', async () => {
    const w = 8;
    const h = 4;
    const rgb = new Uint8Array(w * h * 3);
    for (let p = 0; p < w * h; p++) rgb.set([200, 100, 50], p * 3);
    const image: PixelImage = { width: w, height: h, bitsAllocated: 8, bitsStored: 8, signed: false, samplesPerPixel: 3, pixels: rgb };
    const d = await decodeDicom(await writeDicomImage({ Modality: 'OT' }, image));
    expect(d.stored[0]).toBeCloseTo(0.299 * 200 + 0.587 * 100 + 0.114 * 50, 6);
    const planar = new Uint8Array(w * h * 3);
    planar.fill(200, 0, w * h);
    planar.fill(100, w * h, 2 * w * h);
    planar.fill(50, 2 * w * h);
    const p = await decodeDicom(await writeDicomImage({ Modality: 'OT', PlanarConfiguration: 1 }, { ...image, pixels: planar }));
    expect(p.stored[5]).toBeCloseTo(d.stored[5]!, 6);

    const two = new Uint16Array(2 * 64 * 48);
    two.set(ramp16().pixels);
    two.fill(7, 64 * 48);
    const mf = await decodeDicom(await cxrDicom({ ...ramp16(), pixels: two }, 'explicit-le', { NumberOfFrames: 2 }));
    expect(mf.info.frames).toBe(2);
    expect(maxDiff(mf.stored, ramp16().pixels)).toBe(0);
  });

  it('keeps modality, body part, view, spacing and window as study metadata', async () => {
    const d = await decodeDicom(await cxrDicom());
    expect(d.info).toMatchObject({ modality: 'CR', bodyPartExamined: 'CHEST', viewPosition: 'PA', pixelSpacingMm: [0.139, 0.139], rows: 48, columns: 64 });
  });
});

describe('decodeDicom: bad input gets a stable 4xx code', () => {
  it('truncated, no pixel data, not an image, unsupported syntax, too large, not DICOM', async () => {
    const good = await cxrDicom();
    expect(await codeOf(decodeDicom(good.subarray(0, good.length - 500)))).toBe('dicom_truncated 422');
    expect(await codeOf(decodeDicom(await writeDicomNoPixels({ SOPClassUID: '1.2.840.10008.5.1.4.1.1.1', Modality: 'CR' })))).toBe('dicom_no_pixel_data 422');
    expect(await codeOf(decodeDicom(await writeDicomNoPixels({ SOPClassUID: '1.2.840.10008.5.1.4.1.1.88.22', Modality: 'SR' })))).toBe(
      'dicom_not_an_image 422',
    );
    expect(await codeOf(decodeDicom(await writeDicomNoPixels({ SOPClassUID: '1.2.840.10008.5.1.4.1.1.104.1', Modality: 'DOC' })))).toBe(
      'dicom_not_an_image 422',
    );
    const mpeg = Buffer.from(good);
    const at = mpeg.indexOf(Buffer.from('1.2.840.10008.1.2.1\0'));
    mpeg.write('1.2.840.10008.1.2.4.100'.slice(0, 20), at, 'latin1');
    expect(await codeOf(decodeDicom(mpeg))).toMatch(/^dicom_unsupported_transfer_syntax 415|dicom_invalid 422/);
    // 60 000² declared with a few bytes of pixel data: refused from the header, nothing allocated.
    const bomb = await writeDicomImage({ Modality: 'CR' }, { ...ramp16(4, 4), width: 60000, height: 60000 });
    expect(await codeOf(decodeDicom(bomb))).toBe('image_too_large 422');
    expect(await codeOf(decodeDicom(Buffer.from('not a dicom file at all, just text')))).toBe('dicom_invalid 422');
    const rgb: PixelImage = { width: 4, height: 4, bitsAllocated: 8, bitsStored: 8, signed: false, samplesPerPixel: 3, pixels: new Uint8Array(48) };
    expect(await codeOf(decodeDicom(await writeDicomImage({ Modality: 'OT', PhotometricInterpretation: 'YBR_FULL_422' }, rgb)))).toBe(
      'dicom_unsupported_pixels 422',
    );
  });

  it('data/images reads DICOM through the same decode and preprocessing as PNG', async () => {
    const bytes = await cxrDicom();
    expect(await readImageHeader(bytes)).toMatchObject({ format: 'dicom', width: 64, height: 48, bitDepth: 16 });
    const g = await decodeGrayscale(bytes);
    expect(g.dicom?.modality).toBe('CR');
    const sharp = (await import('sharp')).default;
    const png = await sharp(g.data, { raw: { width: g.width, height: g.height, channels: 1 } })
      .png()
      .toBuffer();
    // The tensor of the DICOM equals the tensor of its 8-bit rendering as a PNG.
    expect(Buffer.from(await preprocessImage(bytes, 32)).equals(Buffer.from(await preprocessImage(png, 32)))).toBe(true);
  });
});

async function writeDicomNoPixels(attributes: Record<string, unknown>): Promise<Uint8Array> {
  const { writeDicom } = await import('./parse.js');
  const dcmjs = (await import('dcmjs')).default;
  const ds: Record<string, unknown> = { SOPInstanceUID: '2.25.1', ...attributes };
  const meta = { MediaStorageSOPClassUID: ds.SOPClassUID, MediaStorageSOPInstanceUID: ds.SOPInstanceUID, TransferSyntaxUID: '1.2.840.10008.1.2.1' };
  return writeDicom(dcmjs.data.DicomMetaDictionary.denaturalizeDataset(meta), dcmjs.data.DicomMetaDictionary.denaturalizeDataset(ds));
}
