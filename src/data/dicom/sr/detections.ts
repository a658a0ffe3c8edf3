// The detector's boxes as a TID 1500 measurement report: one Measurement Group per box in the manner
// of TID 1410 (Planar ROI Measurements and Qualitative Evaluations) — the finding as a code, the box as
// an Image Region SCOORD (a closed POLYLINE, the rectangle's four corners and the first again) SELECTED
// FROM the original image, and the detector's score as a Certainty of Finding in percent. A PACS viewer
// that shows SR regions draws each box on the original instance and lists finding and score beside it.
// No box is a report too ("No abnormality detected"), and reader B's verdicts make a reviewed copy: the
// same groups, each with B's verdict, B as a person observer, the device-only SR as its predecessor.
//
// Coordinates: the detector's box [x0, y0, x1, y1] is in the original image's pixels with (0, 0) the
// top left corner of the top left pixel and x1, y1 the right and bottom edges (a box around the whole
// image is [0, 0, Columns, Rows]). That is DICOM's own convention for SCOORD Graphic Data (PS3.3
// C.18.6.1.2 → C.10.5.1.2: TLHC of the TLHC pixel is 0.0\0.0, BRHC of the BRHC pixel is Columns\Rows),
// so the corners are written as they are: no +0.5 (that shift is for a pixel *index* naming a pixel's
// centre, which a box edge is not).
import { type Code, codeContent, CODES, container, image, LOCAL_SCHEME, num, scoord, SrInputError, text, uidref } from './content.js';
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

export interface SrDetection {
  /** The detector's class, e.g. a VinDr-CXR finding name ('Pleural effusion'). */
  class: string;
  /** 0…1. */
  score: number;
  /** [x0, y0, x1, y1], original image pixels, edges (see the header). */
  box: readonly [number, number, number, number];
}

export interface DetectionResultSrInput {
  origin: SrOrigin;
  /** The detector that drew the boxes. */
  model: SrModel;
  /** The original instance's Columns and Rows: the space the boxes are in. */
  image: { columns: number; rows: number };
  detections: readonly SrDetection[];
  observedAt: Date;
  /** secondread's (pseudonymous) study id, in each box's tracking identifier. */
  studyId: string;
}

/** Reader B's verdicts on the boxes, for the reviewed copy of the boxes SR. */
export interface BoxReview {
  /** Who gave the verdicts, by pseudonym (never a name), as person observers. */
  reviewers: readonly string[];
  /** One per detection, in its order: true correct, false incorrect, null not marked. */
  verdicts: readonly (boolean | null)[];
  /** When the review was final (reader B's read, or a later change of a mark): the content date and time. */
  reviewedAt: Date;
}

export interface DetectionReviewSrInput extends DetectionResultSrInput {
  review: BoxReview;
}

const DETECTION_SERIES_NUMBER = 9904;
const REVIEW_SERIES_NUMBER = 9905;
const MAX_DETECTIONS = 1000;
const MAX_SIDE = 65535; // Rows and Columns are US

/**
 * Standard codes for the VinDr-CXR findings that have one in PS3.16 with the same meaning (the chest
 * CAD context groups CID 6101/6104/6105, and CID 645 for pleural effusion); checked through pydicom's
 * generated PS3.16 dictionary. The others stay in the local scheme under their VinDr name:
 * Nodule/Mass is two concepts (27925004 Nodule, 4147007 Mass) in one class; PS3.16 lists only
 * plate-like atelectasis; its Cardiomegaly value (287272002) carries a second, unrelated meaning in
 * the same dictionary, so it is not used; no code there for aortic enlargement, consolidation, ILD,
 * pleural thickening, pulmonary fibrosis or "other lesion".
 */
export const FINDING_CODES: Readonly<Record<string, Code>> = {
  Pneumothorax: { value: '36118008', scheme: 'SCT', meaning: 'Pneumothorax' }, // CID 6105
  'Pleural effusion': { value: '60046008', scheme: 'SCT', meaning: 'Pleural effusion' }, // CID 645
  'Lung Opacity': { value: '112001', scheme: 'DCM', meaning: 'Opacity' }, // CID 6104
  Infiltration: { value: '112121', scheme: 'DCM', meaning: 'Infiltrate' }, // CID 6104
  Calcification: { value: '112063', scheme: 'DCM', meaning: 'Abnormal calcifications' }, // CID 6101
};

/** The Finding code of a detector class: the standard one where FINDING_CODES has it, else the class in the local scheme. */
export function findingCode(className: string): Code {
  return FINDING_CODES[className] ?? { value: className, scheme: LOCAL_SCHEME, meaning: className };
}

/** The detector class a Finding code stands for (the inverse of findingCode). */
export function classOfFinding(code: { value: string; scheme: string }): string {
  if (code.scheme === LOCAL_SCHEME) return code.value;
  const hit = Object.entries(FINDING_CODES).find(([, c]) => c.value === code.value && c.scheme === code.scheme);
  if (!hit) throw new SrInputError(`(${code.value}, ${code.scheme}) is not a finding code of ours`);
  return hit[0];
}

/** The closed polyline of a box: top left, top right, bottom right, bottom left, top left (column, row). */
export function boxPolyline(box: SrDetection['box']): [number, number][] {
  const [x0, y0, x1, y1] = box;
  return [
    [x0, y0],
    [x1, y0],
    [x1, y1],
    [x0, y1],
    [x0, y0],
  ];
}

export function detectionResultSrUids(origin: SrOrigin, model: SrModel): { seriesInstanceUid: string; sopInstanceUid: string } {
  const sop = checkUid('source SOP Instance UID', origin.instance.sopInstanceUid);
  const who = `${model.name}@${model.version}`;
  return {
    seriesInstanceUid: deterministicUid('series', sop, who, 'detection-result'),
    sopInstanceUid: deterministicUid('instance', sop, who, 'detection-result'),
  };
}

/**
 * The UIDs of a reviewed copy of the boxes SR: a series of its own per source instance and detector, one
 * instance per review (reviewers, verdicts and time), so the same review resent is the same instance and a
 * changed verdict is a new one.
 */
export function detectionReviewSrUids(origin: SrOrigin, model: SrModel, review: BoxReview): { seriesInstanceUid: string; sopInstanceUid: string } {
  const sop = checkUid('source SOP Instance UID', origin.instance.sopInstanceUid);
  const who = `${model.name}@${model.version}`;
  const verdicts = review.verdicts.map((v) => (v === null ? '-' : v ? '1' : '0')).join('');
  return {
    seriesInstanceUid: deterministicUid('series', sop, who, 'detection-review'),
    sopInstanceUid: deterministicUid(
      'instance',
      sop,
      who,
      'detection-review',
      String(review.reviewers.length),
      ...review.reviewers,
      verdicts,
      dicomDateTime(review.reviewedAt).dateTime,
    ),
  };
}

/**
 * The detector's boxes as a Comprehensive SR with TID 1500 content, Part 10 bytes (explicit VR LE). With no
 * box it still says the detector ran: no Imaging Measurements, and under Qualitative Evaluations the Finding
 * "No abnormality detected" from that detector.
 */
export function buildDetectionResultSr(input: DetectionResultSrInput): Uint8Array {
  checkDetections(input.image, input.detections);
  return writeDetectionSr(input, null);
}

/**
 * The boxes SR again, with reader B's verdict on each box (a qualitative evaluation per Measurement Group)
 * and B as a person observer beside the detector; it names the device-only SR as its predecessor, which
 * stays in the PACS untouched.
 */
export function buildDetectionReviewSr(input: DetectionReviewSrInput): Uint8Array {
  checkDetections(input.image, input.detections);
  checkReview(input.detections, input.review);
  return writeDetectionSr(input, input.review);
}

function writeDetectionSr(input: DetectionResultSrInput, review: BoxReview | null): Uint8Array {
  const { origin, model } = input;
  checkModel(model);
  const sop = checkUid('source SOP Instance UID', origin.instance.sopInstanceUid);
  const sopClass = checkUid('source SOP Class UID', origin.instance.sopClassUid);
  const who = `${model.name}@${model.version}`;
  const algorithm = [text('HAS CONCEPT MOD', CODES.algorithmName, model.name), text('HAS CONCEPT MOD', CODES.algorithmVersion, model.version)];
  const groups = input.detections.map((d, i) =>
    container('CONTAINS', CODES.measurementGroup, [
      text('HAS OBS CONTEXT', CODES.trackingIdentifier, `secondread study ${input.studyId} box ${i + 1} ${d.class}`),
      uidref('HAS OBS CONTEXT', CODES.trackingUniqueIdentifier, deterministicUid('tracking', sop, who, 'box', String(i), d.class)),
      codeContent('CONTAINS', CODES.finding, findingCode(d.class)),
      scoord('CONTAINS', CODES.imageRegion, 'POLYLINE', boxPolyline(d.box), [image('SELECTED FROM', sopClass, sop)]),
      num('CONTAINS', CODES.certaintyOfFinding, d.score * 100, CODES.percent, algorithm),
      ...(review ? [codeContent('CONTAINS', CODES.boxVerdict, verdictCode(review.verdicts[i]!))] : []),
    ]),
  );
  // An Imaging Measurements container is there to hold measurement groups (an empty one would say nothing):
  // with no box, the Qualitative Evaluation alone says the detector looked and found nothing.
  const findings =
    groups.length > 0
      ? container('CONTAINS', CODES.imagingMeasurements, groups)
      : container('CONTAINS', CODES.qualitativeEvaluations, [codeContent('CONTAINS', CODES.finding, CODES.noAbnormalityDetected, algorithm)]);
  const original = detectionResultSrUids(origin, model);
  return writeSr({
    origin,
    ...(review ? detectionReviewSrUids(origin, model, review) : original),
    seriesNumber: review ? REVIEW_SERIES_NUMBER : DETECTION_SERIES_NUMBER,
    seriesDescription: review ? 'secondread AI findings (boxes), second reader verdicts' : 'secondread AI findings (boxes)',
    contentAt: review ? review.reviewedAt : input.observedAt,
    title: CODES.imagingMeasurementReport,
    template: '1500',
    observer: [...deviceObserver(model), ...(review ? review.reviewers.flatMap(personObserver) : [])],
    content: [codeContent('HAS CONCEPT MOD', CODES.procedureReported, CODES.imagingProcedure), imageLibrary(origin), findings],
    contributingEquipment: [contributingEquipment(model, input.observedAt, 'AI finding detection (secondread second reader)')],
    ...(review ? { predecessors: [original] } : {}),
  });
}

function verdictCode(v: boolean | null): Code {
  return v === null ? CODES.verdictNotMarked : v ? CODES.verdictCorrect : CODES.verdictIncorrect;
}

/** Throws SrInputError unless the review fits the boxes: one verdict (or null) per box, at least one given, 1…16 reviewers. */
export function checkReview(detections: readonly SrDetection[], review: BoxReview): void {
  if (detections.length === 0) throw new SrInputError('a reviewed detection SR needs at least one box');
  if (!Array.isArray(review.verdicts) || review.verdicts.length !== detections.length)
    throw new SrInputError(`the review has ${String(review.verdicts?.length)} verdicts for ${detections.length} boxes`);
  if (!review.verdicts.every((v) => v === null || typeof v === 'boolean')) throw new SrInputError('a verdict must be true, false or null (not marked)');
  if (!review.verdicts.some((v) => v !== null)) throw new SrInputError('the review marks no box');
  if (!Array.isArray(review.reviewers) || review.reviewers.length === 0 || review.reviewers.length > 16)
    throw new SrInputError('a review names 1…16 reviewers (pseudonyms)');
  review.reviewers.forEach(observerPseudonym);
  dicomDateTime(review.reviewedAt);
}

/** Throws SrInputError unless the boxes make a valid detection SR of an image of that size (the checks the build makes). */
export function checkDetections(image: DetectionResultSrInput['image'], detections: readonly SrDetection[]): void {
  const { columns, rows } = image;
  for (const [what, v] of [
    ['columns', columns],
    ['rows', rows],
  ] as const)
    if (!(Number.isInteger(v) && v >= 1 && v <= MAX_SIDE)) throw new SrInputError(`the image's ${what} (${v}) is not an integer within 1…${MAX_SIDE}`);
  const n = detections.length;
  if (n > MAX_DETECTIONS) throw new SrInputError(`${n} boxes are more than the ${MAX_DETECTIONS} one SR takes`);
  detections.forEach((d, i) => {
    const which = `box ${i + 1}`;
    if (typeof d.class !== 'string' || d.class.trim() === '' || d.class.length > 64 || /[\\\0]/.test(d.class))
      throw new SrInputError(`${which}: the class must be 1…64 characters without a backslash`);
    if (!(typeof d.score === 'number' && d.score >= 0 && d.score <= 1)) throw new SrInputError(`${which} (${d.class}): the score ${d.score} is not within 0…1`);
    if (!Array.isArray(d.box) || d.box.length !== 4 || !d.box.every((v) => typeof v === 'number' && Number.isFinite(v)))
      throw new SrInputError(`${which} (${d.class}): the box must be four finite numbers [x0, y0, x1, y1]`);
    const [x0, y0, x1, y1] = d.box;
    if (!(x0 >= 0 && y0 >= 0 && x1 <= columns && y1 <= rows))
      throw new SrInputError(`${which} (${d.class}): [${d.box.join(', ')}] reaches outside the ${columns}×${rows} image`);
    if (!(x0 < x1 && y0 < y1)) throw new SrInputError(`${which} (${d.class}): [${d.box.join(', ')}] is empty (x0 < x1 and y0 < y1 are needed)`);
  });
}
