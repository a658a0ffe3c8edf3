// Our DICOM decoding against independent peers on the same files (`npm run test:integration`):
// DCMTK's dcmdrle / dcmdjpls / dcmdjpeg / dcmconv decompress each file to explicit VR little endian,
// and our stored values must equal theirs exactly for every lossless syntax (and for JPEG-LS
// near-lossless: the same bitstream decodes to the same samples); JPEG baseline within 2 grey levels
// (IDCT implementations may round differently). DCMTK has no JPEG 2000 decoder, so JPEG 2000 is
// compared with pydicom (Pillow/OpenJPEG). pydicom also reads our de-identified instances.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { commandAvailable, PYTHON, pythonHas } from '../../../test/integration/helpers/peers.js';
import { decodeDicom } from './decode.js';
import { deidentify } from './deid/deidentify.js';
import { parseDicom } from './parse.js';
import { cxrDicom, phiDicom, ramp16, smooth8 } from './testing.js';
import type { WritableSyntax } from './write.js';

const dir = mkdtempSync(join(tmpdir(), 'sr-dicom-peers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const DCMTK_DECODER: Partial<Record<WritableSyntax | 'jpeg-lossless' | 'explicit-be', string[]>> = {
  rle: ['dcmdrle'],
  'jpeg-ls': ['dcmdjpls'],
  'jpeg-ls-near': ['dcmdjpls'],
  'jpeg-baseline': ['dcmdjpeg'],
  'jpeg-lossless': ['dcmdjpeg'],
  deflated: ['dcmconv', '+te'],
  'explicit-be': ['dcmconv', '+te'],
  'implicit-le': ['dcmconv', '+te'],
};

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe.runIf(commandAvailable('dcmdump', 'apt-get install dcmtk'))('DICOM decoding vs DCMTK', () => {
  const cases: [string, WritableSyntax | 'jpeg-lossless' | 'explicit-be', () => Promise<Uint8Array>, number][] = [
    ['RLE', 'rle', () => cxrDicom(ramp16(256, 200), 'rle'), 0],
    ['JPEG-LS lossless', 'jpeg-ls', () => cxrDicom(ramp16(256, 200), 'jpeg-ls'), 0],
    ['JPEG-LS near-lossless', 'jpeg-ls-near', () => cxrDicom(ramp16(256, 200), 'jpeg-ls-near'), 0],
    ['JPEG baseline 8-bit', 'jpeg-baseline', () => cxrDicom(smooth8(256, 200), 'jpeg-baseline'), 2],
    ['JPEG lossless SV1 (DCMTK-encoded)', 'jpeg-lossless', async () => readFileSync(new URL('./testdata/jpeg-lossless-sv1.dcm', import.meta.url)), 0],
    [
      'JPEG lossless process 14 SV6 (DCMTK-encoded)',
      'jpeg-lossless',
      async () => readFileSync(new URL('./testdata/jpeg-lossless-p14.dcm', import.meta.url)),
      0,
    ],
    ['deflated explicit VR LE', 'deflated', () => cxrDicom(ramp16(256, 200), 'deflated'), 0],
    ['explicit VR big endian (DCMTK-encoded)', 'explicit-be', async () => readFileSync(new URL('./testdata/big-endian-dcmtk.dcm', import.meta.url)), 0],
    ['implicit VR LE', 'implicit-le', () => cxrDicom(ramp16(256, 200, { signed: true }), 'implicit-le'), 0],
  ];
  for (const [name, syntax, make, tolerance] of cases) {
    it(`${name}: our stored values ${tolerance ? `within ${tolerance} of` : 'equal'} DCMTK's`, async () => {
      const bytes = await make();
      const src = join(dir, `${syntax}-${name.length}.dcm`);
      const out = `${src}.dec.dcm`;
      writeFileSync(src, bytes);
      const [cmd, ...flags] = DCMTK_DECODER[syntax]!;
      const r = spawnSync(cmd!, [...flags, src, out], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const theirs = await decodeDicom(readFileSync(out));
      expect(theirs.info.transferSyntaxUid).toBe('1.2.840.10008.1.2.1');
      const ours = await decodeDicom(bytes);
      expect(maxDiff(ours.stored, theirs.stored)).toBeLessThanOrEqual(tolerance);
    });
  }
});

describe.runIf(pythonHas('pydicom', 'numpy'))('DICOM vs pydicom', () => {
  const pydicomPixels = (file: string): Float64Array => {
    const raw = `${file}.f64`;
    const r = spawnSync(
      PYTHON,
      ['-c', `import pydicom, numpy; pydicom.dcmread(${JSON.stringify(file)}).pixel_array.astype(numpy.float64).tofile(${JSON.stringify(raw)})`],
      { encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
    const b = readFileSync(raw);
    return new Float64Array(b.buffer, b.byteOffset, b.byteLength / 8);
  };

  for (const [syntax, tolerance] of [
    ['jpeg2000', 0],
    ['jpeg2000-lossy', 0],
  ] as const) {
    it(`${syntax}: our stored values ${tolerance ? `within ${tolerance} of` : 'equal'} pydicom's (DCMTK has no JPEG 2000 decoder)`, async () => {
      const bytes = await cxrDicom(ramp16(256, 200), syntax);
      const file = join(dir, `${syntax}.dcm`);
      writeFileSync(file, bytes);
      expect(maxDiff((await decodeDicom(bytes)).stored, pydicomPixels(file))).toBeLessThanOrEqual(tolerance);
    });
  }

  it('pydicom reads our de-identified instances, pixels intact and identity removed', async () => {
    for (const syntax of ['explicit-le', 'rle', 'jpeg-ls', 'deflated'] as const) {
      const out = deidentify(parseDicom(await phiDicom('PHIMARKER', syntax)), { key: Buffer.alloc(32, 3) });
      const file = join(dir, `deid-${syntax}.dcm`);
      writeFileSync(file, out.bytes);
      const r = spawnSync(
        PYTHON,
        ['-c', `import pydicom; d = pydicom.dcmread(${JSON.stringify(file)}); print(d.PatientIdentityRemoved, d.PatientID, d.StudyInstanceUID)`],
        { encoding: 'utf8' },
      );
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout.trim()).toBe(`YES ${out.patientKey} ${out.studyInstanceUid}`);
      // pydicom here has no JPEG-LS decoder (CharPyLS is not packaged): headers only for that one.
      if (syntax !== 'jpeg-ls') expect(maxDiff(pydicomPixels(file), ramp16().pixels)).toBe(0);
    }
  });
});
