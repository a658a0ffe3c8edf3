import { describe, expect, it } from 'vitest';

import { attr, toDicomJson } from './json-model.js';
import { parseDicom } from './parse.js';
import { cxrDicom, ramp16 } from './testing.js';

describe('DICOM JSON model', () => {
  it('converts a parsed file: tag keys, numbers for DS/IS/US, person names, sequences, inline binary, Pixel Data left out', async () => {
    const file = parseDicom(
      await cxrDicom(ramp16(8, 8), 'explicit-le', {
        PatientName: 'Doe^Jane',
        StudyInstanceUID: '1.2.3',
        ReferencedImageSequence: [{ ReferencedSOPClassUID: '1.2.840.10008.5.1.4.1.1.1', ReferencedSOPInstanceUID: '1.2.3.4' }],
        StudyDescription: '',
      }),
    );
    const json = toDicomJson(file.dict, { omit: new Set(['7FE00010']) });
    const keys = Object.keys(json);
    expect(keys).toEqual([...keys].sort());
    expect(keys.every((k) => /^[0-9A-F]{8}$/.test(k))).toBe(true);
    expect(json['00100010']).toEqual({ vr: 'PN', Value: [{ Alphabetic: 'Doe^Jane' }] });
    expect(json['00280010']).toEqual({ vr: 'US', Value: [8] });
    expect(json['00281050']).toEqual({ vr: 'DS', Value: [2048] });
    expect(json['00280030']).toEqual({ vr: 'DS', Value: [0.139, 0.139] });
    expect(json['00081140']).toEqual({
      vr: 'SQ',
      Value: [{ '00081150': { vr: 'UI', Value: ['1.2.840.10008.5.1.4.1.1.1'] }, '00081155': { vr: 'UI', Value: ['1.2.3.4'] } }],
    });
    expect(json['00081030']).toEqual({ vr: 'LO' });
    expect(json['7FE00010']).toBeUndefined();
    // Small binary values are inlined; Pixel Data unless omitted is too large to inline here.
    expect(toDicomJson({ '00091010': { vr: 'OB', Value: [new Uint8Array([1, 2]).buffer] } })).toEqual({ '00091010': { vr: 'OB', InlineBinary: 'AQI=' } });
    expect(toDicomJson(file.dict, { maxInlineBinary: 16 })['7FE00010']).toBeUndefined();
  });

  it('attr builds attributes, empty ones without Value', () => {
    expect(attr('UI', '1.2')).toEqual({ vr: 'UI', Value: ['1.2'] });
    expect(attr('DA')).toEqual({ vr: 'DA' });
    expect(attr('US', 0x0110)).toEqual({ vr: 'US', Value: [272] });
  });
});
