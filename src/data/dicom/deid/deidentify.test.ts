import { describe, expect, it } from 'vitest';

import { decodeDicom } from '../decode.js';
import { parseDicom } from '../parse.js';
import { containsMarker, cxrDicom, phiDicom, ramp16 } from '../testing.js';
import { deidentify, DicomBurnedInAnnotationError } from './deidentify.js';
import { BASIC_PROFILE } from './profile.js';

const KEY = Buffer.from('0123456789abcdef0123456789abcdef', 'hex');
const OTHER_KEY = Buffer.from('fedcba9876543210fedcba9876543210', 'hex');

describe('deidentify (PS3.15 Basic Profile)', () => {
  it('leaves the marker nowhere: every profile attribute, private tags, names in nested sequences, all syntaxes', async () => {
    for (const syntax of ['explicit-le', 'implicit-le', 'deflated', 'rle', 'jpeg-ls'] as const) {
      const input = await phiDicom('PHIMARKER', syntax);
      // (a deflated input hides the marker in compressed bytes: check what it parses to)
      expect(JSON.stringify(parseDicom(input).dict)).toContain('PHIMARKER');
      const out = deidentify(parseDicom(input), { key: KEY });
      expect(containsMarker(out.bytes, 'PHIMARKER'), syntax).toBe(false);
      // The UIDs built from the marker's digits are remapped too.
      expect(Buffer.from(out.bytes).includes(Buffer.from('1.2.826.0.1.3680043.10.'))).toBe(false);
      const back = parseDicom(out.bytes);
      expect(back.dataset.PatientIdentityRemoved).toBe('YES');
      expect(back.dataset.PatientID).toBe(out.patientKey);
      // The pixels survive untouched.
      const [a, b] = [await decodeDicom(input), await decodeDicom(out.bytes)];
      expect(Buffer.from(b.data).equals(Buffer.from(a.data))).toBe(true);
    }
  });

  it('the marker file really fills the profile (so the test above can fail)', async () => {
    const file = parseDicom(await phiDicom('PHIMARKER'));
    const filled = Object.keys(BASIC_PROFILE).filter((t) => file.dict[t] !== undefined);
    expect(filled.length).toBeGreaterThan(120);
    expect(file.dict['00091001']).toBeDefined();
  });

  it('remaps UIDs consistently under one key and differently under another', async () => {
    const input = parseDicom(await phiDicom('X'));
    const a = deidentify(input, { key: KEY });
    const b = deidentify(input, { key: KEY });
    const c = deidentify(input, { key: OTHER_KEY });
    expect(a.studyInstanceUid).toBe(b.studyInstanceUid);
    expect(a.studyInstanceUid).toMatch(/^2\.25\.\d+$/);
    expect(a.studyInstanceUid.length).toBeLessThanOrEqual(64);
    expect(c.studyInstanceUid).not.toBe(a.studyInstanceUid);
    expect(a.patientKey).toBe(b.patientKey);
    expect(c.patientKey).not.toBe(a.patientKey);
    // Standard UIDs (the SOP class, the transfer syntax) are not remapped.
    expect(parseDicom(a.bytes).dataset.SOPClassUID).toBe('1.2.840.10008.5.1.4.1.1.1');
  });

  it('refuses, quarantines or allows burned-in annotation as the policy says', async () => {
    const file = parseDicom(await cxrDicom(ramp16(), 'explicit-le', { BurnedInAnnotation: 'YES' }));
    expect(() => deidentify(file, { key: KEY })).toThrow(DicomBurnedInAnnotationError);
    expect(deidentify(file, { key: KEY, burnedIn: 'quarantine' }).quarantine).toBe(true);
    expect(deidentify(file, { key: KEY, burnedIn: 'allow' }).quarantine).toBe(false);
  });

  it('lists actions by keyword, never by value', async () => {
    const out = deidentify(parseDicom(await phiDicom('PHIMARKER')), { key: KEY });
    expect(out.actions.some((a) => /^PatientName:Z/.test(a))).toBe(true);
    expect(out.actions.join(' ')).not.toContain('PHIMARKER');
  });
});
