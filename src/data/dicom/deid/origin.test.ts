// readDicomOrigin reads the identified context a result needs (Contract 1), and what it reads is what
// the SR builders take (Contract 2): a result SR built from it lands in the original study.
import { describe, expect, it } from 'vitest';

import { parseDicom } from '../parse.js';
import { buildModelResultSr, type SrOrigin } from '../sr/index.js';
import { cxrDicom, ramp16 } from '../testing.js';
import { type DicomOrigin, readDicomOrigin } from './origin.js';

const ATTRS = {
  PatientName: 'Doe^Jane',
  PatientID: 'PAT-42',
  PatientBirthDate: '19700101',
  PatientSex: 'F',
  StudyInstanceUID: '1.2.826.0.1.3680043.10.1.1',
  SeriesInstanceUID: '1.2.826.0.1.3680043.10.1.2',
  SOPInstanceUID: '1.2.826.0.1.3680043.10.1.3',
  StudyDate: '20240105',
  StudyTime: '101500',
  AccessionNumber: 'ACC-7',
  StudyID: 'S1',
  ReferringPhysicianName: 'House^Greg',
};

describe('readDicomOrigin', () => {
  it('reads the patient and study modules and the instance, as sent', async () => {
    const origin = readDicomOrigin(parseDicom(await cxrDicom(ramp16(8, 8), 'rle', ATTRS)));
    expect(origin).toEqual({
      patient: { id: 'PAT-42', name: 'Doe^Jane', birthDate: '19700101', sex: 'F' },
      study: {
        studyInstanceUid: ATTRS.StudyInstanceUID,
        studyDate: '20240105',
        studyTime: '101500',
        accessionNumber: 'ACC-7',
        studyId: 'S1',
        referringPhysicianName: 'House^Greg',
      },
      series: { seriesInstanceUid: ATTRS.SeriesInstanceUID, modality: 'CR' },
      instance: { sopClassUid: '1.2.840.10008.5.1.4.1.1.1', sopInstanceUid: ATTRS.SOPInstanceUID },
    });
  });

  it('leaves absent or empty optional attributes out', async () => {
    const origin = readDicomOrigin(parseDicom(await cxrDicom(ramp16(8, 8), 'explicit-le', { PatientID: 'P', AccessionNumber: '' })));
    expect(origin.patient).toEqual({ id: 'P', name: '' });
    expect(Object.keys(origin.study)).toEqual(['studyInstanceUid']);
  });

  it('is what the SR builders take: the result SR goes into the original study, for the original patient', async () => {
    const origin: DicomOrigin = readDicomOrigin(parseDicom(await cxrDicom(ramp16(8, 8), 'explicit-le', ATTRS)));
    const asSr: SrOrigin = origin; // the two contracts' types stay assignable both ways
    const back: DicomOrigin = asSr;
    const sr = parseDicom(
      buildModelResultSr({
        origin: back,
        model: { name: 'cxr-vit', version: '3' },
        predictions: [
          { class: 'lung-normal', probability: 0.9 },
          { class: 'lung-opacity', probability: 0.1 },
        ],
        top: 'lung-normal',
        observedAt: new Date('2026-01-01T00:00:00Z'),
        studyId: 'st_1',
      }),
    ).dataset;
    expect([sr.StudyInstanceUID, sr.PatientID, sr.AccessionNumber]).toEqual([ATTRS.StudyInstanceUID, 'PAT-42', 'ACC-7']);
    expect(sr.SeriesInstanceUID).not.toBe(ATTRS.SeriesInstanceUID);
  });
});
