// 12-bit JPEG extended (process 2 & 4, 1.2.840.10008.1.2.4.51 with 12-bit precision) through DCMTK's
// `dcmdjpeg`, the IJG 12-bit codec DCMTK builds in. No maintained JavaScript/WebAssembly package decodes
// 12-bit lossy JPEG (the cornerstone libjpeg-turbo build is 8-bit only) and a hand-written codec is not an
// option, so a server with DCMTK installed (`apt-get install dcmtk`; the Dockerfile and .ci/run install it)
// decodes such frames through it; without DCMTK they stay a clear 415.
//
// What reaches the disk: a minimal DICOM holding only the pixel module and the one compressed frame (no
// patient, study or device attribute of the original), in a private temporary directory removed at once.
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import dcmjs from 'dcmjs';

import { DicomPixelDecodeError } from './errors.js';
import { IMPLEMENTATION_CLASS_UID, parseDicom, writeDicom } from './parse.js';

const { DicomMetaDictionary } = dcmjs.data;
const JPEG_EXTENDED = '1.2.840.10008.1.2.4.51';
const SECONDARY_CAPTURE = '1.2.840.10008.5.1.4.1.1.7';
/** A 2048×2048 frame takes ~100 ms; a frame that takes this long is not one we want. */
const TIMEOUT_MS = 30_000;

let available: boolean | undefined;

/** Whether `dcmdjpeg` runs here (checked once per process; SECONDREAD_DCMTK=off turns the fallback off). */
export function dcmtkJpeg12Available(): boolean {
  if (process.env.SECONDREAD_DCMTK === 'off') return false;
  available ??= spawnSync('dcmdjpeg', ['--version'], { stdio: 'ignore', timeout: 5000 }).status === 0;
  return available;
}

export interface Jpeg12Frame {
  rows: number;
  columns: number;
  samplesPerPixel: number;
  precision: number;
}

/** Decodes one 12-bit JPEG frame to little-endian 16-bit samples, pixel-interleaved. */
export async function decodeJpeg12WithDcmtk(uid: string, frame: Uint8Array, g: Jpeg12Frame): Promise<Uint8Array> {
  const sopInstanceUid = DicomMetaDictionary.uid();
  const dataset = {
    SOPClassUID: SECONDARY_CAPTURE,
    SOPInstanceUID: sopInstanceUid,
    Rows: g.rows,
    Columns: g.columns,
    BitsAllocated: 16,
    BitsStored: g.precision,
    HighBit: g.precision - 1,
    PixelRepresentation: 0,
    SamplesPerPixel: g.samplesPerPixel,
    PhotometricInterpretation: g.samplesPerPixel === 3 ? 'RGB' : 'MONOCHROME2',
    ...(g.samplesPerPixel === 3 ? { PlanarConfiguration: 0 } : {}),
    PixelData: [frame.buffer.slice(frame.byteOffset, frame.byteOffset + frame.byteLength)],
    _vrMap: { PixelData: 'OB' },
  };
  const meta = {
    MediaStorageSOPClassUID: SECONDARY_CAPTURE,
    MediaStorageSOPInstanceUID: sopInstanceUid,
    TransferSyntaxUID: JPEG_EXTENDED,
    ImplementationClassUID: IMPLEMENTATION_CLASS_UID,
  };
  const dir = await mkdtemp(join(tmpdir(), 'sr-jpeg12-'));
  try {
    const input = join(dir, 'in.dcm');
    const output = join(dir, 'out.dcm');
    await writeFile(input, writeDicom(DicomMetaDictionary.denaturalizeDataset(meta), DicomMetaDictionary.denaturalizeDataset(dataset)), { mode: 0o600 });
    // +cn: no colour conversion (a YCbCr frame stays as coded, like our 8-bit path's photometric handling);
    // +te: write explicit VR little endian, so the output reads like any uncompressed file.
    await new Promise<void>((resolve, reject) =>
      execFile('dcmdjpeg', ['+te', input, output], { timeout: TIMEOUT_MS, maxBuffer: 64 * 1024 }, (err, _stdout, stderr) =>
        err ? reject(new DicomPixelDecodeError(uid, `DCMTK's dcmdjpeg refused the 12-bit JPEG frame: ${firstLine(stderr) || err.message}`)) : resolve(),
      ),
    );
    const decoded = parseDicom(await readFile(output));
    const pixels = decoded.dict['7FE00010']?.Value?.[0];
    if (!(pixels instanceof ArrayBuffer)) throw new DicomPixelDecodeError(uid, 'dcmdjpeg wrote no pixel data');
    const expected = g.rows * g.columns * g.samplesPerPixel * 2;
    if (pixels.byteLength < expected) throw new DicomPixelDecodeError(uid, `dcmdjpeg returned ${pixels.byteLength} bytes, ${expected} expected`);
    return new Uint8Array(pixels, 0, expected);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function firstLine(text: string): string {
  return (
    text
      .split('\n')
      .find((l) => l.trim())
      ?.trim()
      .slice(0, 200) ?? ''
  );
}
