import { describe, expect, it } from 'vitest';

import { DETECTION_CLASSES } from '../../classes.js';
import { parseDicom } from '../parse.js';
import {
  type BoxReview,
  buildDetectionResultSr,
  buildDetectionReviewSr,
  buildModelResultSr,
  classOfFinding,
  type DetectionResultSrInput,
  detectionResultSrUids,
  type DetectionReviewSrInput,
  detectionReviewSrUids,
  findingCode,
  modelResultSrUids,
  SrInputError,
} from './index.js';
import { detectionInput, modelInput, testOrigin } from './testing.js';

type Item = Record<string, unknown>;
const seq = (x: unknown): Item[] => (x === undefined ? [] : Array.isArray(x) ? (x as Item[]) : [x as Item]);
const meaning = (x: unknown): string => (seq(x)[0]?.CodeMeaning as string | undefined) ?? '';
const child = (item: Item, valueType: string, name?: string): Item[] =>
  seq(item.ContentSequence).filter((c) => c.ValueType === valueType && (name === undefined || meaning(c.ConceptNameCodeSequence) === name));

/** What a reader of the SR gets back per box: class (from the Finding code), score, box (from the polyline), the referenced image. */
function readBoxes(bytes: Uint8Array): { class: string; score: number; box: number[]; polyline: number[]; image: Item; selected: string }[] {
  const root = parseDicom(bytes).dataset as Item;
  const measurements = child(root, 'CONTAINER', 'Imaging Measurements');
  expect(measurements).toHaveLength(1);
  return child(measurements[0]!, 'CONTAINER', 'Measurement Group').map((group) => {
    const finding = seq(child(group, 'CODE', 'Finding')[0]!.ConceptCodeSequence)[0]!;
    const region = child(group, 'SCOORD', 'Image Region');
    expect(region).toHaveLength(1);
    expect(region[0]!.GraphicType).toBe('POLYLINE');
    const polyline = (region[0]!.GraphicData as number[]).map(Number);
    const xs = polyline.filter((_, i) => i % 2 === 0);
    const ys = polyline.filter((_, i) => i % 2 === 1);
    const selected = seq(region[0]!.ContentSequence);
    expect(selected).toHaveLength(1);
    const measured = seq(child(group, 'NUM', 'Certainty of Finding')[0]!.MeasuredValueSequence)[0]!;
    expect(seq(measured.MeasurementUnitsCodeSequence)[0]).toMatchObject({ CodeValue: '%', CodingSchemeDesignator: 'UCUM' });
    return {
      class: classOfFinding({ value: String(finding.CodeValue ?? finding.LongCodeValue), scheme: String(finding.CodingSchemeDesignator) }),
      score: Number(measured.NumericValue) / 100,
      box: [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)],
      polyline,
      image: seq(selected[0]!.ReferencedSOPSequence)[0]!,
      selected: `${String(selected[0]!.RelationshipType)} ${String(selected[0]!.ValueType)}`,
    };
  });
}

describe('buildDetectionResultSr', () => {
  it('is a TID 1500 Comprehensive SR in the original study, a series of its own, the detector as device observer and equipment', () => {
    const input = detectionInput();
    const d = parseDicom(buildDetectionResultSr(input)).dataset;
    expect(d.SOPClassUID).toBe('1.2.840.10008.5.1.4.1.1.88.33');
    expect([d.Modality, d.SeriesNumber, d.SeriesDescription]).toEqual(['SR', 9904, 'secondread AI findings (boxes)']);
    expect(d.StudyInstanceUID).toBe(input.origin.study.studyInstanceUid);
    expect(d.PatientID).toBe('MRN-0042');
    expect(seq(d.ContentTemplateSequence)[0]).toMatchObject({ MappingResource: 'DCMR', TemplateIdentifier: '1500' });
    expect(seq(d.ConceptNameCodeSequence)[0]).toMatchObject({ CodeValue: '126000', CodingSchemeDesignator: 'DCM' });
    expect(seq(d.ContributingEquipmentSequence)[0]).toMatchObject({ ManufacturerModelName: 'det-nano', SoftwareVersions: '2' });
    const top = seq(d.ContentSequence).map((c) => `${String(c.ValueType)} ${meaning(c.ConceptNameCodeSequence)}`);
    expect(top).toContain('TEXT Device Observer Model Name');
    expect(top.slice(-3)).toEqual(['CODE Procedure reported', 'CONTAINER Image Library', 'CONTAINER Imaging Measurements']);
    const uids = detectionResultSrUids(input.origin, input.model);
    expect({ seriesInstanceUid: d.SeriesInstanceUID, sopInstanceUid: d.SOPInstanceUID }).toEqual(uids);
    // Not the classifier's SR, even from a model of the same name and version.
    expect(uids.sopInstanceUid).not.toBe(modelResultSrUids(input.origin, input.model).sopInstanceUid);
    expect(uids.seriesInstanceUid).not.toBe(parseDicom(buildModelResultSr(modelInput())).dataset.SeriesInstanceUID);
  });

  it('writes each box as a closed 5-point POLYLINE on the original image, the corners as given (pixel edges, no +0.5), and reads back', () => {
    const input = detectionInput();
    const boxes = readBoxes(buildDetectionResultSr(input));
    expect(boxes.map((b) => b.class)).toEqual(input.detections.map((d) => d.class));
    for (const [i, b] of boxes.entries()) {
      const [x0, y0, x1, y1] = input.detections[i]!.box.map(Math.fround); // FL is float32
      expect(b.polyline).toEqual([x0, y0, x1, y0, x1, y1, x0, y1, x0, y0]);
      expect(b.box).toEqual([x0, y0, x1, y1]);
      expect(b.score).toBeCloseTo(input.detections[i]!.score, 9);
      expect(b.selected).toBe('SELECTED FROM IMAGE');
      expect(b.image).toMatchObject({
        ReferencedSOPClassUID: input.origin.instance.sopClassUid,
        ReferencedSOPInstanceUID: input.origin.instance.sopInstanceUid,
      });
    }
    // The whole image is [0, 0, Columns, Rows].
    const whole = readBoxes(buildDetectionResultSr(detectionInput({ detections: [{ class: 'ILD', score: 1, box: [0, 0, 2048, 2500] }] })));
    expect(whole[0]!.box).toEqual([0, 0, 2048, 2500]);
  });

  it('codes findings with the standard code where one fits, the local scheme otherwise, and maps every code back to its class', () => {
    const d = parseDicom(buildDetectionResultSr(detectionInput())).dataset as Item;
    const groups = child(child(d, 'CONTAINER', 'Imaging Measurements')[0]!, 'CONTAINER', 'Measurement Group');
    const codes = groups.map((g) => seq(child(g, 'CODE', 'Finding')[0]!.ConceptCodeSequence)[0]);
    expect(codes[0]).toMatchObject({ CodeValue: '60046008', CodingSchemeDesignator: 'SCT', CodeMeaning: 'Pleural effusion' });
    expect(codes[1]).toMatchObject({ CodeValue: 'Nodule/Mass', CodingSchemeDesignator: '99SECONDREAD', CodeMeaning: 'Nodule/Mass' });
    expect(codes[2]).toMatchObject({ LongCodeValue: 'Aortic enlargement', CodingSchemeDesignator: '99SECONDREAD', CodeMeaning: 'Aortic enlargement' });
    expect(codes[2]!.CodeValue).toBeUndefined();
    expect(String(child(groups[0]!, 'TEXT', 'Tracking Identifier')[0]!.TextValue)).toBe('secondread study st_0123 box 1 Pleural effusion');
    for (const c of DETECTION_CLASSES) expect(classOfFinding(findingCode(c))).toBe(c);
    expect(findingCode('Pneumothorax')).toEqual({ value: '36118008', scheme: 'SCT', meaning: 'Pneumothorax' });
    expect(() => classOfFinding({ value: '4147007', scheme: 'SCT' })).toThrow(SrInputError);
  });

  it('is deterministic, and another detector version makes another instance', () => {
    const a = buildDetectionResultSr(detectionInput());
    expect(Buffer.from(buildDetectionResultSr(detectionInput())).equals(Buffer.from(a))).toBe(true);
    const other = parseDicom(buildDetectionResultSr(detectionInput({ model: { name: 'det-nano', version: '3' } }))).dataset;
    expect(other.SOPInstanceUID).not.toBe(parseDicom(a).dataset.SOPInstanceUID);
  });

  it('refuses boxes and images it cannot place, with a typed error that says which box', () => {
    const box = (b: [number, number, number, number], over: Partial<DetectionResultSrInput['detections'][number]> = {}) => ({
      detections: [{ class: 'Nodule/Mass', score: 0.5, box: b, ...over }],
    });
    const bad: [string, Partial<DetectionResultSrInput>, RegExp][] = [
      ['x1 past Columns', box([10, 10, 2048.5, 20]), /outside the 2048×2500 image/],
      ['y1 past Rows', box([10, 10, 20, 2501]), /outside/],
      ['negative x0', box([-1, 10, 20, 20]), /outside/],
      ['NaN corner', box([Number.NaN, 10, 20, 20]), /four finite numbers/],
      ['infinite corner', box([0, 0, Number.POSITIVE_INFINITY, 20]), /four finite numbers/],
      ['empty box', box([10, 10, 10, 20]), /empty/],
      ['inverted box', box([10, 30, 20, 20]), /empty/],
      ['three numbers', box([1, 2, 3] as unknown as [number, number, number, number]), /four finite numbers/],
      ['score above 1', box([1, 2, 3, 4], { score: 1.5 }), /score 1.5/],
      ['NaN score', box([1, 2, 3, 4], { score: Number.NaN }), /score NaN/],
      ['empty class', box([1, 2, 3, 4], { class: ' ' }), /class/],
      ['no image size', { image: { columns: 0, rows: 2500 } }, /columns/],
      ['fractional rows', { image: { columns: 2048, rows: 10.5 } }, /rows/],
      ['bad source UID', { origin: testOrigin({ sopInstanceUid: '1.2.03' }) }, /UID/],
      ['empty detector version', { model: { name: 'det-nano', version: '' } }, /model version/],
    ];
    for (const [what, over, message] of bad) {
      let err: unknown;
      try {
        buildDetectionResultSr(detectionInput(over));
      } catch (e) {
        err = e;
      }
      expect(err, what).toBeInstanceOf(SrInputError);
      expect((err as SrInputError).code, what).toBe('dicom_sr_invalid_input');
      expect((err as Error).message, what).toMatch(message);
    }
    expect(() => buildDetectionResultSr(detectionInput(box([10, 30, 20, 20])))).toThrow(/box 1 \(Nodule\/Mass\)/);
  });

  it('with no box says the detector ran and found nothing: no Imaging Measurements, a "No abnormality detected" finding by that detector', () => {
    const input = detectionInput({ detections: [] });
    const d = parseDicom(buildDetectionResultSr(input)).dataset as Item;
    expect({ sopInstanceUid: d.SOPInstanceUID, series: d.SeriesInstanceUID }).toEqual({
      sopInstanceUid: detectionResultSrUids(input.origin, input.model).sopInstanceUid,
      series: detectionResultSrUids(input.origin, input.model).seriesInstanceUid,
    });
    expect(child(d, 'CONTAINER', 'Imaging Measurements')).toEqual([]);
    const evaluations = child(d, 'CONTAINER', 'Qualitative Evaluations');
    expect(evaluations).toHaveLength(1);
    expect(seq(evaluations[0]!.ConceptNameCodeSequence)[0]).toMatchObject({ CodeValue: 'C0034375', CodingSchemeDesignator: 'UMLS' });
    const [finding, ...more] = child(evaluations[0]!, 'CODE');
    expect(more).toEqual([]);
    expect(seq(finding!.ConceptNameCodeSequence)[0]).toMatchObject({ CodeValue: '121071', CodingSchemeDesignator: 'DCM', CodeMeaning: 'Finding' });
    expect(seq(finding!.ConceptCodeSequence)[0]).toMatchObject({
      CodeValue: '281900007',
      CodingSchemeDesignator: 'SCT',
      CodeMeaning: 'No abnormality detected',
    });
    expect(child(finding!, 'TEXT').map((t) => `${meaning(t.ConceptNameCodeSequence)}=${String(t.TextValue)}`)).toEqual([
      'Algorithm Name=det-nano',
      'Algorithm Version=2',
    ]);
    // The detector stays the observer: the PACS can tell which detector looked.
    expect(String(child(d, 'TEXT', 'Device Observer Model Name')[0]!.TextValue)).toBe('det-nano@2');
    // A box SR has no such statement.
    expect(child(parseDicom(buildDetectionResultSr(detectionInput())).dataset as Item, 'CONTAINER', 'Qualitative Evaluations')).toEqual([]);
  });
});

describe('buildDetectionReviewSr', () => {
  const review = (over: Partial<BoxReview> = {}): BoxReview => ({
    reviewers: ['reader-7f3a'],
    verdicts: [true, false, null],
    reviewedAt: new Date('2026-12-06T05:00:00.000Z'),
    ...over,
  });
  const reviewInput = (over: Partial<BoxReview> = {}): DetectionReviewSrInput => ({ ...detectionInput(), review: review(over) });
  const verdicts = (d: Item): (string | undefined)[] =>
    child(child(d, 'CONTAINER', 'Imaging Measurements')[0]!, 'CONTAINER', 'Measurement Group').map((g) => {
      const v = child(g, 'CODE', 'Second reader verdict on the AI finding');
      expect(v.length).toBeLessThanOrEqual(1);
      return seq(v[0]?.ConceptCodeSequence)[0]?.CodeValue as string | undefined;
    });

  it("is the boxes SR again with B's verdict per box, B beside the detector as observer, the device-only SR as predecessor", () => {
    const input = reviewInput();
    const bytes = buildDetectionReviewSr(input);
    const d = parseDicom(bytes).dataset as Item;
    const original = detectionResultSrUids(input.origin, input.model);
    expect({ seriesInstanceUid: d.SeriesInstanceUID, sopInstanceUid: d.SOPInstanceUID }).toEqual(
      detectionReviewSrUids(input.origin, input.model, input.review),
    );
    expect(d.SOPInstanceUID).not.toBe(original.sopInstanceUid);
    expect(d.SeriesInstanceUID).not.toBe(original.seriesInstanceUid);
    expect([d.SOPClassUID, d.SeriesNumber, d.SeriesDescription]).toEqual([
      '1.2.840.10008.5.1.4.1.1.88.33',
      9905,
      'secondread AI findings (boxes), second reader verdicts',
    ]);
    expect([d.ContentDate, d.ContentTime]).toEqual(['20261206', '050000.000000']);
    const predecessor = seq(d.PredecessorDocumentsSequence);
    expect(predecessor).toHaveLength(1);
    expect(predecessor[0]!.StudyInstanceUID).toBe(input.origin.study.studyInstanceUid);
    const series = seq(predecessor[0]!.ReferencedSeriesSequence)[0]!;
    expect(series.SeriesInstanceUID).toBe(original.seriesInstanceUid);
    expect(seq(series.ReferencedSOPSequence)[0]).toMatchObject({
      ReferencedSOPClassUID: '1.2.840.10008.5.1.4.1.1.88.33',
      ReferencedSOPInstanceUID: original.sopInstanceUid,
    });
    // Observers: the detector (device) then reader B (person, by pseudonym).
    const types = child(d, 'CODE', 'Observer Type').map((c) => seq(c.ConceptCodeSequence)[0]!.CodeMeaning);
    expect(types).toEqual(['Device', 'Person']);
    const person = child(d, 'PNAME', 'Person Observer Name');
    expect(person.map((p) => (seq(p.PersonName)[0] as { Alphabetic?: string } | undefined)?.Alphabetic ?? p.PersonName)).toEqual(['reader-7f3a']);
    // The boxes read back the same as from the device-only SR, each with its verdict (or "not marked").
    expect(readBoxes(bytes)).toEqual(readBoxes(buildDetectionResultSr(detectionInput())));
    expect(verdicts(d)).toEqual(['correct', 'incorrect', 'not-marked']);
    const groups = child(child(d, 'CONTAINER', 'Imaging Measurements')[0]!, 'CONTAINER', 'Measurement Group');
    expect(seq(child(groups[1]!, 'CODE', 'Second reader verdict on the AI finding')[0]!.ConceptCodeSequence)[0]).toMatchObject({
      CodingSchemeDesignator: '99SECONDREAD',
      CodeMeaning: 'Incorrect: rejected by the second reader',
    });
    // The same finding is tracked across both documents.
    const originalGroups = child(
      child(parseDicom(buildDetectionResultSr(detectionInput())).dataset as Item, 'CONTAINER', 'Imaging Measurements')[0]!,
      'CONTAINER',
      'Measurement Group',
    );
    const uid = (g: Item): unknown => child(g, 'UIDREF', 'Tracking Unique Identifier')[0]!.UID;
    expect(groups.map(uid)).toEqual(originalGroups.map(uid));
  });

  it('is deterministic; other verdicts, reviewers or time make another instance in the same series', () => {
    const a = buildDetectionReviewSr(reviewInput());
    expect(Buffer.from(buildDetectionReviewSr(reviewInput())).equals(Buffer.from(a))).toBe(true);
    const uid = (o: Partial<BoxReview>): string => detectionReviewSrUids(testOrigin(), { name: 'det-nano', version: '2' }, review(o)).sopInstanceUid;
    const uids = [uid({}), uid({ verdicts: [true, true, null] }), uid({ reviewers: ['reader-0000'] }), uid({ reviewedAt: new Date('2026-12-06T05:00:01Z') })];
    expect(new Set(uids).size).toBe(4);
    const series = (o: Partial<BoxReview>): string => detectionReviewSrUids(testOrigin(), { name: 'det-nano', version: '2' }, review(o)).seriesInstanceUid;
    expect(series({ verdicts: [false, null, null] })).toBe(series({}));
  });

  it('refuses a review that does not fit the boxes', () => {
    const bad: [string, DetectionReviewSrInput, RegExp][] = [
      ['too few verdicts', reviewInput({ verdicts: [true] }), /1 verdicts for 3 boxes/],
      ['nothing marked', reviewInput({ verdicts: [null, null, null] }), /marks no box/],
      ['no reviewer', reviewInput({ reviewers: [] }), /reviewers/],
      ['empty pseudonym', reviewInput({ reviewers: [' '] }), /pseudonym/],
      ['a verdict that is not a boolean', reviewInput({ verdicts: ['yes', null, null] as unknown as boolean[] }), /true, false or null/],
      ['no boxes', { ...detectionInput({ detections: [] }), review: review({ verdicts: [] }) }, /at least one box/],
    ];
    for (const [what, input, message] of bad) expect(() => buildDetectionReviewSr(input), what).toThrow(message);
    expect(() => buildDetectionReviewSr(reviewInput({ verdicts: [true] }))).toThrow(SrInputError);
  });
});
