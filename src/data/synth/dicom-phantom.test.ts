import { describe, expect, it } from 'vitest';

import { decodeDicom } from '../dicom/decode.js';
import { deidentify } from '../dicom/deid/deidentify.js';
import { parseDicom } from '../dicom/parse.js';
import { encodeDicomPhantom } from './dicom-phantom.js';

const image = (w: number, h: number) => {
  const data = new Uint8Array(w * h);
  for (let i = 0; i < data.length; i++) data[i] = (i * 13) % 256;
  return { width: w, height: h, data };
};

describe('encodeDicomPhantom (data synth --format dicom)', () => {
  it('CXR: 12-bit CR in six syntaxes, MONOCHROME1 and 2, whose window gives back the rendered grey levels exactly', async () => {
    const img = image(40, 32);
    const seen = new Set<string>();
    for (let index = 0; index < 6; index++) {
      const file = await encodeDicomPhantom(img, { modality: 'cxr', index, seed: 77 });
      const d = await decodeDicom(file);
      seen.add(`${d.info.transferSyntaxUid} ${d.info.photometric}`);
      expect(d.info).toMatchObject({ modality: 'CR', bodyPartExamined: 'CHEST', bitsStored: 12 });
      expect(Buffer.from(d.data).equals(Buffer.from(img.data)), `image ${index}`).toBe(true);
    }
    expect(seen.size).toBe(6);
    expect([...seen].some((s) => s.endsWith('MONOCHROME1'))).toBe(true);
  });

  it('OCT: 8-bit OPT; lossy JPEG within a few grey levels', async () => {
    const img = image(48, 40);
    for (let index = 0; index < 4; index++) {
      const d = await decodeDicom(await encodeDicomPhantom(img, { modality: 'oct', index, seed: 5, patientId: '1234' }));
      expect(d.info.modality).toBe('OPT');
      const lossy = d.info.transferSyntaxUid === '1.2.840.10008.1.2.4.50';
      if (!lossy) expect(Buffer.from(d.data).equals(Buffer.from(img.data))).toBe(true);
    }
  });

  it('carries fake PHI in the profile attributes, which de-identification removes', async () => {
    const file = parseDicom(await encodeDicomPhantom(image(16, 16), { modality: 'cxr', index: 0, seed: 9 }));
    expect(file.dataset.InstitutionName).toBe('Synthetic General Hospital');
    expect(JSON.stringify(file.dataset.PatientName)).toMatch(/\^/);
    expect(Object.keys(file.dataset).length).toBeGreaterThan(100);
    const out = deidentify(file, { key: Buffer.alloc(32, 1) });
    expect(Buffer.from(out.bytes).includes(Buffer.from('Synthetic General Hospital'))).toBe(false);
  });
});
