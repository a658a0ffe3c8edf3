// Real-world DICOM files that secondread did not make, sent to POST /v1/studies as a department would:
// the test corpus pydicom ships (python3-pydicom: files from GDCM, DCMTK, highdicom, real scanners —
// odd encodings, 12-bit JPEG, ISO 2022 character sets, truncations, RT/SR/waveform objects). Each one
// must become a readable study (201) or get a clear 4xx with a stable code; never a 5xx, never a crash,
// never "unsupported media type" for a DICOM.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { decodeDicom } from '../data/dicom/decode.js';
import { type ApiFixture, openApiFixture } from './testing/fixture.js';
import { postStudy } from './testing/http.js';

const CORPUS = '/usr/lib/python3/dist-packages/pydicom/data/test_files';
const present = existsSync(CORPUS);
if (!present && process.env.CI) throw new Error(`the DICOM corpus is missing: apt-get install python3-pydicom (looked in ${CORPUS})`);

/** Files of the corpus that hold a decodable image: they must become studies, not refusals. */
const MUST_READ = ['CT_small.dcm', 'MR_small_RLE.dcm', 'JPEG2000.dcm', 'JPGExtended.dcm', 'J2K_pixelrep_mismatch.dcm', 'SC_rgb_jpeg.dcm', 'image_dfl.dcm'];

/** Not DICOM by any reading: no_meta.dcm opens with a stray byte before its first element (pydicom reads it only with force=True). */
const NOT_DICOM = new Set(['no_meta.dcm']);

let f: ApiFixture;
beforeAll(async () => {
  f = await openApiFixture({ workflow: { dicom: { key: Buffer.alloc(32, 3), burnedIn: 'allow' } } });
});
afterAll(async () => {
  await f?.close();
});

describe.skipIf(!present)("pydicom's real-world test corpus through POST /v1/studies", () => {
  it('every file becomes a study or a clear 4xx; the decodable images are read', async () => {
    const files = readdirSync(CORPUS).filter((name) => name.endsWith('.dcm'));
    expect(files.length).toBeGreaterThan(40);
    const outcomes: Record<string, string> = {};
    for (const name of files) {
      const res = await postStudy(f.app, f.auth('reader'), { modality: 'cxr' }, readFileSync(join(CORPUS, name)));
      const code = res.statusCode === 201 ? 'study' : `${res.statusCode} ${res.json().code ?? res.json().error}`;
      outcomes[name] = code;
      expect(res.statusCode, `${name}: ${res.body.slice(0, 300)}`).toBeLessThan(500);
      if (NOT_DICOM.has(name)) continue;
      expect(code, name).not.toMatch(/unsupported_media_type/);
      if (res.statusCode !== 201) expect(res.json().code, `${name}: ${res.body.slice(0, 300)}`).toMatch(/^(dicom_|image_)/);
    }
    for (const name of MUST_READ) expect(outcomes[name], name).toBe('study');
  }, 120_000);

  it('one MR in five encodings (big endian, implicit, RLE, JPEG-LS, JPEG 2000 lossless) gives the same pixels, also after de-identification', async () => {
    const reference = (await decodeDicom(readFileSync(join(CORPUS, 'MR_small.dcm')))).stored;
    for (const name of [
      'MR_small_bigendian.dcm',
      'MR_small_expb.dcm',
      'MR_small_implicit.dcm',
      'MR_small_RLE.dcm',
      'MR_small_jpeg_ls_lossless.dcm',
      'MR_small_jp2klossless.dcm',
    ]) {
      const bytes = readFileSync(join(CORPUS, name));
      expect([...(await decodeDicom(bytes)).stored], name).toEqual([...reference]);
      const res = await postStudy(f.app, f.auth('reader'), { modality: 'cxr' }, bytes);
      expect(res.statusCode, res.body).toBe(201);
      const instance = await f.app.inject({ method: 'GET', url: `/v1/studies/${res.json().id}/instance`, headers: f.auth('adjudicator') });
      expect(instance.statusCode, instance.body.slice(0, 200)).toBe(200);
      expect([...(await decodeDicom(instance.rawPayload)).stored], `${name} de-identified`).toEqual([...reference]);
    }
  });
});
