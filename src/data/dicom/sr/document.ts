// What every result object we send back shares: the original patient and study (so the PACS files it
// into the study the department already has), a new series of ours, deterministic UIDs (a resend of
// the same result is the same instance, which the PACS and our exporter de-duplicate), Contributing
// Equipment naming the model (IHE AI Results), and the Part 10 write through the one DICOM writer.
import { createHash } from 'node:crypto';

import dcmjs from 'dcmjs';

import { type DicomTagDict, IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME, writeDicom } from '../parse.js';
import { EXPLICIT_VR_LE } from '../transfer-syntax.js';
import { type Code, codeContent, codeItem, CODES, container, image, LOCAL_SCHEME, type NaturalItem, pname, SrInputError, text, uidref } from './content.js';

const { DicomMetaDictionary } = dcmjs.data;

/** The identified context of the source instance (Contract 1's DicomOrigin, read before de-identification). */
export interface SrOrigin {
  patient: { id: string; name: string; birthDate?: string; sex?: string };
  study: { studyInstanceUid: string; studyDate?: string; studyTime?: string; accessionNumber?: string; studyId?: string; referringPhysicianName?: string };
  series: { seriesInstanceUid: string; modality: string };
  instance: { sopClassUid: string; sopInstanceUid: string };
}

export interface SrModel {
  name: string;
  version: string;
}

/** The same as write.ts' implementation class: one implementation writes all our files. */
const UID_PATTERN = /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$/;

/**
 * 2.25.<decimal of a 128-bit name-based UUID> (PS3.5 B.2) from the parts: SHA-256 of the
 * NUL-joined parts, first 16 bytes, version 8 (RFC 9562 custom) and the RFC variant bits set, so
 * the integer is a well-formed UUID. Same parts → same UID, which makes a resend idempotent.
 */
export function deterministicUid(...parts: string[]): string {
  const bytes = createHash('sha256')
    .update(`secondread/sr/v1\0${parts.join('\0')}`)
    .digest()
    .subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  return `2.25.${BigInt(`0x${bytes.toString('hex')}`).toString()}`;
}

/** DA and TM (UTC) of a date: YYYYMMDD and HHMMSS.ffffff. */
export function dicomDateTime(at: Date): { date: string; time: string; dateTime: string } {
  if (Number.isNaN(at.getTime())) throw new SrInputError('the result date is not a valid date');
  const iso = at.toISOString(); // 2026-12-06T03:07:48.123Z
  const date = iso.slice(0, 10).replace(/-/g, '');
  const time = `${iso.slice(11, 19).replace(/:/g, '')}.${iso.slice(20, 23)}000`;
  return { date, time, dateTime: `${date}${time}+0000` };
}

export function checkUid(what: string, uid: string): string {
  if (uid.length > 64 || !UID_PATTERN.test(uid)) throw new SrInputError(`${what} '${uid.slice(0, 80)}' is not a valid DICOM UID`);
  return uid;
}

/** The patient and study modules, copied from the origin (type 2 attributes present even when empty). */
export function patientAndStudy(origin: SrOrigin): NaturalItem {
  // Type 2 attributes mirror the original: where it had none, the result has an empty one.
  return {
    PatientName: origin.patient.name ? [{ Alphabetic: origin.patient.name }] : '',
    PatientID: origin.patient.id,
    PatientBirthDate: dicomDate(origin.patient.birthDate),
    PatientSex: ['M', 'F', 'O'].includes(origin.patient.sex ?? '') ? origin.patient.sex : '',
    StudyInstanceUID: checkUid('Study Instance UID', origin.study.studyInstanceUid),
    StudyDate: dicomDate(origin.study.studyDate),
    StudyTime: dicomTime(origin.study.studyTime),
    AccessionNumber: origin.study.accessionNumber ?? '',
    StudyID: origin.study.studyId ?? '',
    ReferringPhysicianName: origin.study.referringPhysicianName ? [{ Alphabetic: origin.study.referringPhysicianName }] : '',
  };
}

/**
 * A copied DA: YYYYMMDD as is, the old ACR-NEMA YYYY.MM.DD (or YYYY-MM-DD) rewritten, anything else
 * empty (type 2), so a malformed original date cannot make our object malformed.
 */
export function dicomDate(value: string | undefined): string {
  const v = (value ?? '').trim();
  if (/^\d{8}$/.test(v)) return v;
  const m = /^(\d{4})[-.](\d{2})[-.](\d{2})$/.exec(v);
  return m ? `${m[1]}${m[2]}${m[3]}` : '';
}

/** A copied TM: HH[MM[SS[.F{1,6}]]] as is, HH:MM[:SS[.F]] rewritten, anything else empty. */
export function dicomTime(value: string | undefined): string {
  const v = (value ?? '').trim();
  if (/^\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?$/.test(v)) return v;
  const m = /^(\d{2}):(\d{2})(?::(\d{2}(\.\d{1,6})?))?$/.exec(v);
  return m ? `${m[1]}${m[2]}${m[3] ?? ''}` : '';
}

export function contributingEquipment(model: SrModel, at: Date, description: string): NaturalItem {
  return {
    Manufacturer: 'secondread',
    ManufacturerModelName: model.name,
    SoftwareVersions: model.version,
    PurposeOfReferenceCodeSequence: [codeItem(CODES.processingEquipment)],
    ContributionDateTime: dicomDateTime(at).dateTime,
    ContributionDescription: description,
  };
}

/** TID 1002/1004: the model as a device observer (UID from name@version, so it is stable across reports). */
export function deviceObserver(model: SrModel): NaturalItem[] {
  const who = `${model.name}@${model.version}`;
  return [
    codeContent('HAS OBS CONTEXT', CODES.observerType, CODES.device),
    uidref('HAS OBS CONTEXT', CODES.deviceObserverUid, deterministicUid('device', who)),
    text('HAS OBS CONTEXT', CODES.deviceObserverName, model.name),
    text('HAS OBS CONTEXT', CODES.deviceObserverManufacturer, 'secondread'),
    text('HAS OBS CONTEXT', CODES.deviceObserverModelName, who),
  ];
}

/**
 * A reader's pseudonym as a Person Observer Name: never a name, and with PN's component separators
 * (`^`, `=`, `\`) replaced so it cannot read as family^given name. Throws when empty or over 64 characters.
 */
export function observerPseudonym(pseudonym: string): string {
  const p = pseudonym.replace(/[\\^=]/g, '_').trim();
  if (p === '' || p.length > 64) throw new SrInputError('the reader pseudonym is empty or longer than 64 characters');
  return p;
}

/** TID 1002/1003: a person observer, named by pseudonym (observerPseudonym). */
export function personObserver(pseudonym: string): NaturalItem[] {
  return [codeContent('HAS OBS CONTEXT', CODES.observerType, CODES.person), pname('HAS OBS CONTEXT', CODES.personObserverName, observerPseudonym(pseudonym))];
}

/** TID 1600: the one source instance the report is about. */
export function imageLibrary(origin: SrOrigin): NaturalItem {
  return container('CONTAINS', CODES.imageLibrary, [
    container('CONTAINS', CODES.imageLibraryGroup, [image('CONTAINS', origin.instance.sopClassUid, origin.instance.sopInstanceUid)]),
  ]);
}

export function checkModel(model: SrModel): void {
  for (const [what, value] of [
    ['model name', model.name],
    ['model version', model.version],
  ] as const)
    if (value.trim() === '' || value.length > 64 || /[\\\0]/.test(value)) throw new SrInputError(`the ${what} must be 1…64 characters without a backslash`);
}

export interface SrDocument {
  origin: SrOrigin;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  seriesNumber: number;
  seriesDescription: string;
  contentAt: Date;
  title: Code;
  template?: string;
  observer: NaturalItem[];
  content: NaturalItem[];
  contributingEquipment: NaturalItem[];
  /** Earlier SRs of ours whose content this one wholly includes (Predecessor Documents Sequence, PS3.3 C.17.2.3). */
  predecessors?: readonly { seriesInstanceUid: string; sopInstanceUid: string }[];
}

const COMPREHENSIVE_SR = '1.2.840.10008.5.1.4.1.1.88.33';

/** Comprehensive SR (1.2.840.10008.5.1.4.1.1.88.33) Part 10 bytes, explicit VR little endian. */
export function writeSr(doc: SrDocument): Uint8Array {
  const { origin } = doc;
  const { date, time } = dicomDateTime(doc.contentAt);
  const source = {
    ReferencedSOPClassUID: checkUid('source SOP Class UID', origin.instance.sopClassUid),
    ReferencedSOPInstanceUID: checkUid('source SOP Instance UID', origin.instance.sopInstanceUid),
  };
  const dataset: NaturalItem = {
    InstanceCreationDate: date,
    InstanceCreationTime: time,
    TimezoneOffsetFromUTC: '+0000',
    // Comprehensive SR: TID 1500 content without spatial coordinates fits it, it is the SR class
    // PACS and viewers store and show most widely, and its relationship rules allow all of TID 1500
    // (by-reference items too, which Enhanced SR forbids). A detector's boxes in 3D coordinates
    // (SCOORD3D) would need Comprehensive 3D SR.
    SOPClassUID: COMPREHENSIVE_SR,
    SOPInstanceUID: doc.sopInstanceUid,
    ...patientAndStudy(origin),
    Modality: 'SR',
    SeriesInstanceUID: doc.seriesInstanceUid,
    SeriesNumber: doc.seriesNumber,
    SeriesDate: date,
    SeriesTime: time,
    SeriesDescription: doc.seriesDescription,
    ReferencedPerformedProcedureStepSequence: [],
    Manufacturer: 'secondread',
    ...(doc.contributingEquipment.length ? { ContributingEquipmentSequence: doc.contributingEquipment } : {}),
    InstanceNumber: 1,
    ContentDate: date,
    ContentTime: time,
    CompletionFlag: 'COMPLETE',
    VerificationFlag: 'UNVERIFIED',
    PerformedProcedureCodeSequence: [],
    ...(doc.predecessors?.length
      ? {
          PredecessorDocumentsSequence: [
            {
              StudyInstanceUID: origin.study.studyInstanceUid,
              ReferencedSeriesSequence: doc.predecessors.map((p) => ({
                SeriesInstanceUID: p.seriesInstanceUid,
                ReferencedSOPSequence: [{ ReferencedSOPClassUID: COMPREHENSIVE_SR, ReferencedSOPInstanceUID: p.sopInstanceUid }],
              })),
            },
          ],
        }
      : {}),
    CurrentRequestedProcedureEvidenceSequence: [
      {
        StudyInstanceUID: origin.study.studyInstanceUid,
        ReferencedSeriesSequence: [
          { SeriesInstanceUID: checkUid('source Series Instance UID', origin.series.seriesInstanceUid), ReferencedSOPSequence: [source] },
        ],
      },
    ],
    CodingSchemeIdentificationSequence: [
      {
        CodingSchemeDesignator: LOCAL_SCHEME,
        CodingSchemeName: 'secondread model classes and policy terms',
        CodingSchemeResponsibleOrganization: 'secondread',
      },
    ],
    ValueType: 'CONTAINER',
    ConceptNameCodeSequence: [codeItem(doc.title)],
    ContinuityOfContent: 'SEPARATE',
    ...(doc.template ? { ContentTemplateSequence: [{ MappingResource: 'DCMR', TemplateIdentifier: doc.template }] } : {}),
    ContentSequence: [codeContent('HAS CONCEPT MOD', CODES.language, CODES.englishUs), ...doc.observer, ...doc.content],
  };
  // The default repertoire when everything is ASCII (what every reader handles); UTF-8 otherwise
  // (names and reasons may be in any language; dcmjs writes strings as UTF-8).
  if (/[\u0080-\uffff]/.test(JSON.stringify(dataset))) dataset.SpecificCharacterSet = 'ISO_IR 192';
  const meta = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: dataset.SOPClassUID,
    MediaStorageSOPInstanceUID: dataset.SOPInstanceUID,
    TransferSyntaxUID: EXPLICIT_VR_LE,
    ImplementationClassUID: IMPLEMENTATION_CLASS_UID,
    ImplementationVersionName: IMPLEMENTATION_VERSION_NAME,
  };
  return guardWrite(() =>
    writeDicom(DicomMetaDictionary.denaturalizeDataset(meta) as DicomTagDict, DicomMetaDictionary.denaturalizeDataset(dataset) as DicomTagDict),
  );
}

/** dcmjs refuses values its VR cannot hold (e.g. a copied accession number over 16 characters): a typed error, not dcmjs' own. */
export function guardWrite<T>(write: () => T): T {
  try {
    return write();
  } catch (err) {
    if (err instanceof SrInputError) throw err;
    throw new SrInputError(`the result cannot be written as DICOM: ${String(err instanceof Error ? err.message : err).slice(0, 200)}`);
  }
}
