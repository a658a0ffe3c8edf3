// Test inputs for the SR builders: an identified origin as the dicomweb/gateway side reads it.
import type { DetectionResultSrInput, ModelResultSrInput, ReaderResultSrInput, SrOrigin } from './index.js';

export function testOrigin(over: { patientName?: string; sopInstanceUid?: string } = {}): SrOrigin {
  return {
    patient: { id: 'MRN-0042', name: over.patientName ?? 'Doe^Jane', birthDate: '19700101', sex: 'F' },
    study: {
      studyInstanceUid: '1.2.826.0.1.3680043.10.4242.1',
      studyDate: '20261201',
      studyTime: '101500',
      accessionNumber: 'ACC-77',
      studyId: 'S77',
      referringPhysicianName: 'Ref^Doc',
    },
    series: { seriesInstanceUid: '1.2.826.0.1.3680043.10.4242.2', modality: 'CR' },
    instance: { sopClassUid: '1.2.840.10008.5.1.4.1.1.1', sopInstanceUid: over.sopInstanceUid ?? '1.2.826.0.1.3680043.10.4242.3' },
  };
}

export function modelInput(over: Partial<ModelResultSrInput> = {}): ModelResultSrInput {
  return {
    origin: testOrigin(),
    model: { name: 'cxr-vit', version: '3' },
    predictions: [
      { class: 'lung-normal', probability: 0.8123456789 },
      { class: 'lung-viral-pneumonia', probability: 0.1376543211 },
      { class: 'lung-opacity', probability: 0.05 },
    ],
    top: 'lung-normal',
    decision: { decision: 'auto_finalized', reasons: ['reader A and the model agree', 'confidence 0.81 above the class threshold 0.70'] },
    observedAt: new Date('2026-12-06T03:07:48.123Z'),
    studyId: 'st_0123',
    ...over,
  };
}

export function readerInput(over: Partial<ReaderResultSrInput> = {}): ReaderResultSrInput {
  return {
    origin: testOrigin(),
    reader: { pseudonym: 'reader-7f3a', role: 'B' },
    finalLabel: 'lung-opacity',
    decidedAt: new Date('2026-12-06T04:00:00.000Z'),
    studyId: 'st_0123',
    ...over,
  };
}

/** Three boxes on a 2048×2500 image: a standard-coded finding, a local one, one whose code needs Long Code Value. */
export function detectionInput(over: Partial<DetectionResultSrInput> = {}): DetectionResultSrInput {
  return {
    origin: testOrigin(),
    model: { name: 'det-nano', version: '2' },
    image: { columns: 2048, rows: 2500 },
    detections: [
      { class: 'Pleural effusion', score: 0.873, box: [100.25, 1800, 700.5, 2400] },
      { class: 'Nodule/Mass', score: 0.41234567, box: [1311.7, 802.3, 1377.9, 866.05] },
      { class: 'Aortic enlargement', score: 0.5, box: [1000, 600, 1200, 800] },
    ],
    observedAt: new Date('2026-12-06T03:07:48.123Z'),
    studyId: 'st_0123',
    ...over,
  };
}
