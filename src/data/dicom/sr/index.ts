// The DICOM objects secondread sends back to the PACS, into the original study (IHE AI Results):
// the model's read as a TID 1500 measurement report, reader B's final label as a diagnostic imaging
// report (TID 2000 style), the detector's boxes as a TID 1500 report with image regions (detections.ts). Pure functions: bytes in memory, no I/O; the gateway sends them.
import { classCode, codeContent, CODES, container, decisionCode, type NaturalItem, num, SrInputError, text, uidref } from './content.js';
import {
  checkModel,
  checkUid,
  contributingEquipment,
  deterministicUid,
  deviceObserver,
  dicomDateTime,
  imageLibrary,
  observerPseudonym,
  personObserver,
  type SrModel,
  type SrOrigin,
  writeSr,
} from './document.js';

export { SrInputError } from './content.js';
export { deterministicUid, type SrModel, type SrOrigin } from './document.js';
export {
  boxPolyline,
  type BoxReview,
  buildDetectionResultSr,
  buildDetectionReviewSr,
  checkDetections,
  checkReview,
  type DetectionReviewSrInput,
  detectionReviewSrUids,
  classOfFinding,
  type DetectionResultSrInput,
  detectionResultSrUids,
  FINDING_CODES,
  findingCode,
  type SrDetection,
} from './detections.js';
export { buildSaliencySecondaryCapture, type SaliencyScInput, saliencyScUids } from './saliency.js';

export interface ModelResultSrInput {
  origin: SrOrigin;
  model: SrModel;
  predictions: { class: string; probability: number }[];
  top: string;
  decision?: { decision: string; reasons?: string[] };
  observedAt: Date;
  /** secondread's (pseudonymous) study id, written as the tracking identifier so a reader can find the study in secondread. */
  studyId: string;
}

export interface ReaderResultSrInput {
  origin: SrOrigin;
  reader: { pseudonym: string; role: 'B' };
  finalLabel: string;
  decidedAt: Date;
  studyId: string;
}

export interface SrUids {
  seriesInstanceUid: string;
  sopInstanceUid: string;
}

const MODEL_SERIES_NUMBER = 9901;
const READER_SERIES_NUMBER = 9902;

/** The UIDs of the model result SR for this source instance and model version (the exporter's idempotency key). */
export function modelResultSrUids(origin: SrOrigin, model: SrModel): SrUids {
  const sop = checkUid('source SOP Instance UID', origin.instance.sopInstanceUid);
  const who = `${model.name}@${model.version}`;
  return { seriesInstanceUid: deterministicUid('series', sop, who, 'model-result'), sopInstanceUid: deterministicUid('instance', sop, who, 'model-result') };
}

/** The UIDs of reader B's SR: one series per source instance, one instance per decision (label and time). */
export function readerResultSrUids(input: Pick<ReaderResultSrInput, 'origin' | 'reader' | 'finalLabel' | 'decidedAt'>): SrUids {
  const sop = checkUid('source SOP Instance UID', input.origin.instance.sopInstanceUid);
  const decision = [input.reader.role, input.reader.pseudonym, input.finalLabel, dicomDateTime(input.decidedAt).dateTime];
  return {
    seriesInstanceUid: deterministicUid('series', sop, 'reader-result'),
    sopInstanceUid: deterministicUid('instance', sop, 'reader-result', ...decision),
  };
}

/** The model's read as a Comprehensive SR with TID 1500 content, Part 10 bytes (explicit VR LE). */
export function buildModelResultSr(input: ModelResultSrInput): Uint8Array {
  const { origin, model } = input;
  checkModel(model);
  if (input.predictions.length === 0) throw new SrInputError('a model result SR needs at least one class prediction');
  for (const p of input.predictions)
    if (!(p.probability >= 0 && p.probability <= 1)) throw new SrInputError(`the probability of '${p.class}' is not within 0…1 (${p.probability})`);
  if (new Set(input.predictions.map((p) => p.class)).size !== input.predictions.length) throw new SrInputError('a class is predicted more than once');
  if (!input.predictions.some((p) => p.class === input.top)) throw new SrInputError(`the top class '${input.top}' is not among the predictions`);
  const uids = modelResultSrUids(origin, model);
  const who = `${model.name}@${model.version}`;
  const algorithm = [text('HAS CONCEPT MOD', CODES.algorithmName, model.name), text('HAS CONCEPT MOD', CODES.algorithmVersion, model.version)];
  const groups = input.predictions.map((p) =>
    container('CONTAINS', CODES.measurementGroup, [
      text('HAS OBS CONTEXT', CODES.trackingIdentifier, `secondread study ${input.studyId} ${p.class}`),
      uidref('HAS OBS CONTEXT', CODES.trackingUniqueIdentifier, deterministicUid('tracking', origin.instance.sopInstanceUid, who, p.class)),
      codeContent('CONTAINS', CODES.finding, classCode(p.class)),
      num('CONTAINS', CODES.certaintyOfFinding, p.probability * 100, CODES.percent, algorithm),
    ]),
  );
  const evaluations: NaturalItem[] = [codeContent('CONTAINS', CODES.topClass, classCode(input.top))];
  if (input.decision) {
    evaluations.push(codeContent('CONTAINS', CODES.policyDecision, decisionCode(input.decision.decision)));
    for (const reason of input.decision.reasons ?? []) evaluations.push(text('CONTAINS', CODES.policyReason, reason));
  }
  return writeSr({
    origin,
    ...uids,
    seriesNumber: MODEL_SERIES_NUMBER,
    seriesDescription: 'secondread AI result',
    contentAt: input.observedAt,
    title: CODES.imagingMeasurementReport,
    template: '1500',
    observer: deviceObserver(model),
    content: [
      codeContent('HAS CONCEPT MOD', CODES.procedureReported, CODES.imagingProcedure),
      imageLibrary(origin),
      container('CONTAINS', CODES.imagingMeasurements, groups),
      container('CONTAINS', CODES.qualitativeEvaluations, evaluations),
    ],
    contributingEquipment: [contributingEquipment(model, input.observedAt, 'AI model read (secondread second reader)')],
  });
}

/** Reader B's final label as a Comprehensive SR (TID 2000 style); the observer is a pseudonym, never a name. */
export function buildReaderResultSr(input: ReaderResultSrInput): Uint8Array {
  const { origin } = input;
  if (input.reader.role !== 'B') throw new SrInputError(`reader result SRs are for reader B (got '${String(input.reader.role)}')`);
  const pseudonym = observerPseudonym(input.reader.pseudonym);
  return writeSr({
    origin,
    ...readerResultSrUids(input),
    seriesNumber: READER_SERIES_NUMBER,
    seriesDescription: 'secondread second reader result',
    contentAt: input.decidedAt,
    title: CODES.diagnosticImagingReport,
    observer: personObserver(pseudonym),
    content: [
      codeContent('HAS CONCEPT MOD', CODES.procedureReported, CODES.imagingProcedure),
      imageLibrary(origin),
      container('CONTAINS', CODES.impressions, [
        codeContent('CONTAINS', CODES.finalLabel, classCode(input.finalLabel)),
        text('CONTAINS', CODES.impression, `Final label ${input.finalLabel} by second reader ${pseudonym} (secondread study ${input.studyId})`),
      ]),
    ],
    contributingEquipment: [],
  });
}
