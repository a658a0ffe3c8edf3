// SR content items (PS3.3 C.17.3, the Document Content Macro) as dcmjs naturalized datasets, and the
// codes the builders use. Every code's value, scheme and meaning was checked against PS3.16 (Annex D
// for DCM, CID 7005, CID 100, TID 1500/1501/1204/1001-1004) through pydicom's generated PS3.16
// concept dictionary; the local ones live in the 99SECONDREAD scheme that each document declares in
// its Coding Scheme Identification Sequence (PS3.16 8.2: local schemes start with "99").
import { DicomError } from '../errors.js';

export interface Code {
  value: string;
  scheme: string;
  meaning: string;
}

export type NaturalItem = Record<string, unknown>;

export const LOCAL_SCHEME = '99SECONDREAD';

const dcm = (value: string, meaning: string): Code => ({ value, scheme: 'DCM', meaning });
const local = (value: string, meaning: string): Code => ({ value, scheme: LOCAL_SCHEME, meaning });

export const CODES = {
  imagingMeasurementReport: dcm('126000', 'Imaging Measurement Report'), // CID 7021, TID 1500 root
  diagnosticImagingReport: { value: '18748-4', scheme: 'LN', meaning: 'Diagnostic Imaging Report' }, // TID 2000 root
  language: dcm('121049', 'Language of Content Item and Descendants'), // TID 1204
  englishUs: { value: 'en-US', scheme: 'RFC5646', meaning: 'English (United States)' },
  observerType: dcm('121005', 'Observer Type'), // TID 1002
  device: dcm('121007', 'Device'), // CID 270
  person: dcm('121006', 'Person'), // CID 270
  deviceObserverUid: dcm('121012', 'Device Observer UID'), // TID 1004
  deviceObserverName: dcm('121013', 'Device Observer Name'),
  deviceObserverManufacturer: dcm('121014', 'Device Observer Manufacturer'),
  deviceObserverModelName: dcm('121015', 'Device Observer Model Name'),
  personObserverName: dcm('121008', 'Person Observer Name'), // TID 1003
  procedureReported: dcm('121058', 'Procedure reported'),
  imagingProcedure: { value: '363679005', scheme: 'SCT', meaning: 'Imaging procedure' }, // CID 100
  imageLibrary: dcm('111028', 'Image Library'), // TID 1600
  imageLibraryGroup: dcm('126200', 'Image Library Group'),
  imagingMeasurements: dcm('126010', 'Imaging Measurements'),
  measurementGroup: dcm('125007', 'Measurement Group'), // TID 1501
  trackingIdentifier: dcm('112039', 'Tracking Identifier'),
  trackingUniqueIdentifier: dcm('112040', 'Tracking Unique Identifier'),
  finding: dcm('121071', 'Finding'),
  imageRegion: dcm('111030', 'Image Region'), // TID 1410 row 7: the ROI as SCOORD
  certaintyOfFinding: dcm('111012', 'Certainty of Finding'), // CID 6048; a likelihood in percent as in TID 4108
  algorithmName: dcm('111001', 'Algorithm Name'), // TID 4019
  algorithmVersion: dcm('111003', 'Algorithm Version'),
  qualitativeEvaluations: { value: 'C0034375', scheme: 'UMLS', meaning: 'Qualitative Evaluations' }, // TID 1500 row 12
  impressions: dcm('121072', 'Impressions'), // CID 7001 section heading (TID 2000)
  impression: dcm('121073', 'Impression'),
  percent: { value: '%', scheme: 'UCUM', meaning: 'Percent' },
  processingEquipment: dcm('109102', 'Processing Equipment'), // CID 7005: the AI model processed the images
  sourceForProcessing: dcm('121322', 'Source image for image processing operation'), // CID 7202
  topClass: local('top-class', 'Most probable class'),
  policyDecision: local('policy-decision', 'Second-reader policy decision'),
  policyReason: local('policy-reason', 'Second-reader policy reason'),
  finalLabel: local('final-label', 'Final label'),
  // The detector looked and drew no box. SNOMED CT's finding "No abnormality detected" says exactly that
  // (something was examined, nothing abnormal detected) without claiming the image is normal, which
  // (17621005, SCT, "Normal") would; DCM 111286 "No abnormality" lives in the mammography pathology groups
  // (CID 6030/6031). Not in any PS3.16 context group, so pydicom's dictionary cannot check it (docs/dicom-sr.md).
  noAbnormalityDetected: { value: '281900007', scheme: 'SCT', meaning: 'No abnormality detected' },
  // Reader B's verdict on one of the detector's boxes: no standard concept exists for a human's acceptance
  // of an AI finding (IHE's assessment profile is not in PS3.16), so the local scheme.
  boxVerdict: local('box-verdict', 'Second reader verdict on the AI finding'),
  verdictCorrect: local('correct', 'Correct: confirmed by the second reader'),
  verdictIncorrect: local('incorrect', 'Incorrect: rejected by the second reader'),
  verdictNotMarked: local('not-marked', 'Not marked by the second reader'),
} as const;

const DECISIONS: Record<string, string> = {
  auto_finalized: 'Auto-finalized: first reader and model agree',
  second_read: 'Sent to a second human reader',
  adjudicated: 'Adjudicated by a second human reader',
};

/** A model class (e.g. `lung-opacity`) as a code of the local scheme. */
export function classCode(name: string): Code {
  return local(name, name);
}

export function decisionCode(decision: string): Code {
  return local(decision, DECISIONS[decision] ?? decision);
}

/** A Code Sequence item. Values longer than SH's 16 characters go in Long Code Value (PS3.3 8.8). */
export function codeItem(code: Code): NaturalItem {
  if (code.value === '' || /[\\\0]/.test(code.value)) throw new SrInputError(`code value '${code.value}' is empty or holds a backslash`);
  if (code.meaning.length > 64) throw new SrInputError(`code meaning '${code.meaning.slice(0, 20)}…' is longer than 64 characters`);
  const value = code.value.length <= 16 ? { CodeValue: code.value } : { LongCodeValue: code.value };
  return { ...value, CodingSchemeDesignator: code.scheme, CodeMeaning: code.meaning };
}

type Relationship = 'CONTAINS' | 'HAS OBS CONTEXT' | 'HAS CONCEPT MOD' | 'HAS PROPERTIES' | 'INFERRED FROM' | 'HAS ACQ CONTEXT' | 'SELECTED FROM';

function item(relationship: Relationship, valueType: string, concept: Code | undefined, rest: NaturalItem): NaturalItem {
  return {
    RelationshipType: relationship,
    ValueType: valueType,
    ...(concept ? { ConceptNameCodeSequence: [codeItem(concept)] } : {}),
    ...rest,
  };
}

export function container(relationship: Relationship, concept: Code, children: NaturalItem[]): NaturalItem {
  return item(relationship, 'CONTAINER', concept, { ContinuityOfContent: 'SEPARATE', ContentSequence: children });
}

export function codeContent(relationship: Relationship, concept: Code, value: Code, children: NaturalItem[] = []): NaturalItem {
  return item(relationship, 'CODE', concept, { ConceptCodeSequence: [codeItem(value)], ...(children.length ? { ContentSequence: children } : {}) });
}

export function text(relationship: Relationship, concept: Code, value: string): NaturalItem {
  if (value === '') throw new SrInputError(`the ${concept.meaning} text is empty`);
  return item(relationship, 'TEXT', concept, { TextValue: value });
}

export function uidref(relationship: Relationship, concept: Code, uid: string): NaturalItem {
  return item(relationship, 'UIDREF', concept, { UID: uid });
}

export function pname(relationship: Relationship, concept: Code, name: string): NaturalItem {
  return item(relationship, 'PNAME', concept, { PersonName: [{ Alphabetic: name }] });
}

/** A NUM item; `value` is written as a DS of at most 16 characters. */
export function num(relationship: Relationship, concept: Code, value: number, unit: Code, children: NaturalItem[] = []): NaturalItem {
  const measured = { NumericValue: decimalString(value), MeasurementUnitsCodeSequence: [codeItem(unit)] };
  return item(relationship, 'NUM', concept, { MeasuredValueSequence: [measured], ...(children.length ? { ContentSequence: children } : {}) });
}

/**
 * A SCOORD item (PS3.3 C.18.6): `points` are (column, row) pairs in the referenced image's pixel space,
 * (0, 0) the top left corner of the top left pixel (C.10.5.1.2), written as FL. Its children say which
 * image (a SELECTED FROM IMAGE item).
 */
export function scoord(
  relationship: Relationship,
  concept: Code,
  graphicType: 'POINT' | 'MULTIPOINT' | 'POLYLINE' | 'CIRCLE' | 'ELLIPSE',
  points: readonly (readonly [number, number])[],
  children: NaturalItem[],
): NaturalItem {
  const data = points.flat();
  if (data.length === 0 || !data.every(Number.isFinite)) throw new SrInputError(`the ${concept.meaning} coordinates are missing or not finite`);
  return item(relationship, 'SCOORD', concept, { GraphicData: data, GraphicType: graphicType, ContentSequence: children });
}

export function image(relationship: Relationship, sopClassUid: string, sopInstanceUid: string): NaturalItem {
  return item(relationship, 'IMAGE', undefined, { ReferencedSOPSequence: [{ ReferencedSOPClassUID: sopClassUid, ReferencedSOPInstanceUID: sopInstanceUid }] });
}

/** DS is at most 16 characters (PS3.5 6.2): shorten the precision until the number fits. */
export function decimalString(value: number): string {
  if (!Number.isFinite(value)) throw new SrInputError(`a numeric value is not finite (${value})`);
  for (let digits = 12; digits >= 1; digits--) {
    const s = String(Number(value.toPrecision(digits)));
    if (s.length <= 16 && !s.includes('e')) return s;
  }
  return value.toExponential(6);
}

/** Input the SR builders cannot turn into a valid document. */
export class SrInputError extends DicomError {
  constructor(message: string) {
    super('dicom_sr_invalid_input', message, 422);
  }
}
