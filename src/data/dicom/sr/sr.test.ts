import { describe, expect, it } from 'vitest';

import { parseDicom } from '../parse.js';
import { decimalString } from './content.js';
import { buildModelResultSr, buildReaderResultSr, deterministicUid, modelResultSrUids, readerResultSrUids, SrInputError } from './index.js';
import { modelInput, readerInput, testOrigin } from './testing.js';

type Item = Record<string, unknown>;
const seq = (x: unknown): Item[] => (x === undefined ? [] : Array.isArray(x) ? (x as Item[]) : [x as Item]);
const meaning = (x: unknown): string | undefined => seq(x)[0]?.CodeMeaning as string | undefined;

/** Every content item, depth first, with its concept name's meaning and its parent's. */
function walk(items: unknown, parent = '(root)', out: { item: Item; name: string; parent: string }[] = []): { item: Item; name: string; parent: string }[] {
  for (const item of seq(items)) {
    const name = meaning(item.ConceptNameCodeSequence) ?? '';
    out.push({ item, name, parent });
    walk(item.ContentSequence, name, out);
  }
  return out;
}
const only = (tree: ReturnType<typeof walk>, name: string): Item => {
  const hits = tree.filter((t) => t.name === name);
  expect(hits, name).toHaveLength(1);
  return hits[0]!.item;
};

describe('buildModelResultSr', () => {
  it('is a Comprehensive SR in the original study, a new series, the patient and study modules copied', () => {
    const input = modelInput();
    const file = parseDicom(buildModelResultSr(input));
    const d = file.dataset;
    expect(file.transferSyntaxUid).toBe('1.2.840.10008.1.2.1');
    expect(file.hasPreamble).toBe(true);
    expect(d.SOPClassUID).toBe('1.2.840.10008.5.1.4.1.1.88.33');
    expect(file.meta.MediaStorageSOPClassUID).toBe(d.SOPClassUID);
    expect(file.meta.MediaStorageSOPInstanceUID).toBe(d.SOPInstanceUID);
    expect(d.Modality).toBe('SR');
    expect(d.SeriesDescription).toBe('secondread AI result');
    expect(d.StudyInstanceUID).toBe(input.origin.study.studyInstanceUid);
    expect(d.SeriesInstanceUID).not.toBe(input.origin.series.seriesInstanceUid);
    expect(d.SOPInstanceUID).not.toBe(input.origin.instance.sopInstanceUid);
    expect(seq(d.PatientName)[0]).toMatchObject({ Alphabetic: 'Doe^Jane' });
    expect([d.PatientID, d.PatientBirthDate, d.PatientSex]).toEqual(['MRN-0042', '19700101', 'F']);
    expect([d.StudyDate, d.StudyTime, d.AccessionNumber, d.StudyID]).toEqual(['20261201', '101500', 'ACC-77', 'S77']);
    expect(seq(d.ReferringPhysicianName)[0]).toMatchObject({ Alphabetic: 'Ref^Doc' });
    expect([d.ContentDate, d.ContentTime, d.TimezoneOffsetFromUTC]).toEqual(['20261206', '030748.123000', '+0000']);
    expect([d.CompletionFlag, d.VerificationFlag, d.ValueType, d.ContinuityOfContent]).toEqual(['COMPLETE', 'UNVERIFIED', 'CONTAINER', 'SEPARATE']);
    expect(seq(d.ConceptNameCodeSequence)[0]).toMatchObject({ CodeValue: '126000', CodingSchemeDesignator: 'DCM', CodeMeaning: 'Imaging Measurement Report' });
    expect(seq(d.ContentTemplateSequence)[0]).toMatchObject({ MappingResource: 'DCMR', TemplateIdentifier: '1500' });
    // All ASCII: no Specific Character Set (the default repertoire).
    expect(d.SpecificCharacterSet).toBeUndefined();
    // The evidence names the source instance.
    const evidence = seq(d.CurrentRequestedProcedureEvidenceSequence)[0]!;
    expect(evidence.StudyInstanceUID).toBe(input.origin.study.studyInstanceUid);
    const series = seq(evidence.ReferencedSeriesSequence)[0]!;
    expect(series.SeriesInstanceUID).toBe(input.origin.series.seriesInstanceUid);
    expect(seq(series.ReferencedSOPSequence)[0]).toMatchObject({
      ReferencedSOPClassUID: input.origin.instance.sopClassUid,
      ReferencedSOPInstanceUID: input.origin.instance.sopInstanceUid,
    });
  });

  it('names the model in Contributing Equipment (IHE AIR): manufacturer, model name, version, Processing Equipment', () => {
    const d = parseDicom(buildModelResultSr(modelInput())).dataset;
    const equipment = seq(d.ContributingEquipmentSequence);
    expect(equipment).toHaveLength(1);
    expect(equipment[0]).toMatchObject({ Manufacturer: 'secondread', ManufacturerModelName: 'cxr-vit', SoftwareVersions: '3' });
    expect(equipment[0]!.ContributionDateTime).toBe('20261206030748.123000+0000');
    expect(seq(equipment[0]!.PurposeOfReferenceCodeSequence)[0]).toMatchObject({
      CodeValue: '109102',
      CodingSchemeDesignator: 'DCM',
      CodeMeaning: 'Processing Equipment',
    });
  });

  it('holds TID 1500 content: language, device observer, procedure, image library, a measurement group per class, the decision', () => {
    const input = modelInput();
    const tree = walk(parseDicom(buildModelResultSr(input)).dataset.ContentSequence);
    const top = tree.filter((t) => t.parent === '(root)').map((t) => `${t.item.RelationshipType} ${t.item.ValueType} ${t.name}`);
    expect(top).toEqual([
      'HAS CONCEPT MOD CODE Language of Content Item and Descendants',
      'HAS OBS CONTEXT CODE Observer Type',
      'HAS OBS CONTEXT UIDREF Device Observer UID',
      'HAS OBS CONTEXT TEXT Device Observer Name',
      'HAS OBS CONTEXT TEXT Device Observer Manufacturer',
      'HAS OBS CONTEXT TEXT Device Observer Model Name',
      'HAS CONCEPT MOD CODE Procedure reported',
      'CONTAINS CONTAINER Image Library',
      'CONTAINS CONTAINER Imaging Measurements',
      'CONTAINS CONTAINER Qualitative Evaluations',
    ]);
    expect(seq(only(tree, 'Language of Content Item and Descendants').ConceptCodeSequence)[0]).toMatchObject({
      CodeValue: 'en-US',
      CodingSchemeDesignator: 'RFC5646',
    });
    expect(seq(only(tree, 'Observer Type').ConceptCodeSequence)[0]).toMatchObject({
      CodeValue: '121007',
      CodingSchemeDesignator: 'DCM',
      CodeMeaning: 'Device',
    });
    expect(only(tree, 'Device Observer Name').TextValue).toBe('cxr-vit');
    expect(only(tree, 'Device Observer Model Name').TextValue).toBe('cxr-vit@3');
    expect(String(only(tree, 'Device Observer UID').UID)).toMatch(/^2\.25\.\d+$/);
    const imageItem = tree.find((t) => t.item.ValueType === 'IMAGE');
    expect(imageItem?.parent).toBe('Image Library Group');
    expect(seq(imageItem!.item.ReferencedSOPSequence)[0]).toMatchObject({
      ReferencedSOPClassUID: input.origin.instance.sopClassUid,
      ReferencedSOPInstanceUID: input.origin.instance.sopInstanceUid,
    });

    const groups = tree.filter((t) => t.name === 'Measurement Group');
    expect(groups).toHaveLength(3);
    const perClass = groups.map(({ item }) => {
      const inner = walk(item.ContentSequence, 'Measurement Group');
      const finding = seq(only(inner, 'Finding').ConceptCodeSequence)[0]!;
      const numItem = only(inner, 'Certainty of Finding');
      const measured = seq(numItem.MeasuredValueSequence)[0]!;
      expect(seq(measured.MeasurementUnitsCodeSequence)[0]).toMatchObject({ CodeValue: '%', CodingSchemeDesignator: 'UCUM' });
      expect(only(inner, 'Algorithm Version').TextValue).toBe('3');
      expect(only(inner, 'Tracking Identifier').TextValue).toContain('st_0123');
      return [finding.CodeValue ?? finding.LongCodeValue, finding.CodingSchemeDesignator, Number(measured.NumericValue)];
    });
    expect(perClass).toEqual(input.predictions.map((p) => [p.class, '99SECONDREAD', Number((p.probability * 100).toPrecision(12))]));

    expect(seq(only(tree, 'Most probable class').ConceptCodeSequence)[0]).toMatchObject({ CodeValue: 'lung-normal' });
    expect(seq(only(tree, 'Second-reader policy decision').ConceptCodeSequence)[0]).toMatchObject({
      CodeValue: 'auto_finalized',
      CodingSchemeDesignator: '99SECONDREAD',
    });
    expect(tree.filter((t) => t.name === 'Second-reader policy reason').map((t) => t.item.TextValue)).toEqual(input.decision!.reasons);
    // The local scheme is declared.
    const schemes = seq(parseDicom(buildModelResultSr(input)).dataset.CodingSchemeIdentificationSequence);
    expect(schemes.map((s) => s.CodingSchemeDesignator)).toEqual(['99SECONDREAD']);
  });

  it('leaves the decision out when there is none', () => {
    const tree = walk(parseDicom(buildModelResultSr(modelInput({ decision: undefined }))).dataset.ContentSequence);
    expect(tree.filter((t) => t.name.startsWith('Second-reader policy'))).toEqual([]);
    expect(only(tree, 'Most probable class')).toBeDefined();
  });

  it('is deterministic: the same input gives the same bytes and UIDs; another model version or source instance gives others', () => {
    const a = buildModelResultSr(modelInput());
    expect(Buffer.from(buildModelResultSr(modelInput())).equals(Buffer.from(a))).toBe(true);
    const da = parseDicom(a).dataset;
    expect({ seriesInstanceUid: da.SeriesInstanceUID, sopInstanceUid: da.SOPInstanceUID }).toEqual(
      modelResultSrUids(testOrigin(), { name: 'cxr-vit', version: '3' }),
    );
    const other = parseDicom(buildModelResultSr(modelInput({ model: { name: 'cxr-vit', version: '4' } }))).dataset;
    expect(other.SOPInstanceUID).not.toBe(da.SOPInstanceUID);
    expect(other.SeriesInstanceUID).not.toBe(da.SeriesInstanceUID);
    const elsewhere = parseDicom(buildModelResultSr(modelInput({ origin: testOrigin({ sopInstanceUid: '1.2.3.4' }) }))).dataset;
    expect(elsewhere.SOPInstanceUID).not.toBe(da.SOPInstanceUID);
  });

  it('writes non-ASCII text as UTF-8 under ISO_IR 192', () => {
    const d = parseDicom(buildModelResultSr(modelInput({ origin: testOrigin({ patientName: 'Müller^Zoë' }) }))).dataset;
    expect(d.SpecificCharacterSet).toBe('ISO_IR 192');
    expect(seq(d.PatientName)[0]).toMatchObject({ Alphabetic: 'Müller^Zoë' });
  });

  it('mirrors what the original lacks (empty type 2) and normalizes or drops malformed copied dates and times', () => {
    const origin = testOrigin();
    origin.patient = { id: '', name: '', sex: 'female', birthDate: '1970.01.02' };
    origin.study = { studyInstanceUid: origin.study.studyInstanceUid, studyDate: '2026-12-01', studyTime: '10:15:00.5' };
    const d = parseDicom(buildModelResultSr(modelInput({ origin }))).dataset;
    expect([d.PatientID, d.PatientSex, d.PatientBirthDate, d.StudyDate, d.StudyTime, d.AccessionNumber]).toEqual([
      '',
      '',
      '19700102',
      '20261201',
      '101500.5',
      '',
    ]);
    expect(seq(d.PatientName)).toEqual([]);
    origin.study.studyDate = 'yesterday';
    origin.study.studyTime = '25h';
    const e = parseDicom(buildModelResultSr(modelInput({ origin }))).dataset;
    expect([e.StudyDate, e.StudyTime]).toEqual(['', '']);
  });

  it('refuses input it cannot write as a valid document, with a typed error', () => {
    const bad: [string, Parameters<typeof modelInput>[0]][] = [
      ['no predictions', { predictions: [] }],
      ['probability above 1', { predictions: [{ class: 'lung-normal', probability: 1.2 }] }],
      ['NaN probability', { predictions: [{ class: 'lung-normal', probability: Number.NaN }] }],
      ['top not predicted', { top: 'oct-cnv' }],
      ['empty model version', { model: { name: 'cxr-vit', version: '' } }],
      ['bad source UID', { origin: testOrigin({ sopInstanceUid: '1.2.03' }) }],
      ['invalid date', { observedAt: new Date('nope') }],
      [
        'a class twice',
        {
          predictions: [
            { class: 'lung-normal', probability: 0.5 },
            { class: 'lung-normal', probability: 0.5 },
          ],
        },
      ],
    ];
    for (const [what, over] of bad) {
      const err = (() => {
        try {
          buildModelResultSr(modelInput(over));
        } catch (e) {
          return e;
        }
      })();
      expect(err, what).toBeInstanceOf(SrInputError);
      expect((err as SrInputError).code, what).toBe('dicom_sr_invalid_input');
    }
  });
});

describe('buildReaderResultSr', () => {
  it("carries reader B's final label under a pseudonymous person observer, in the original study", () => {
    const input = readerInput();
    const d = parseDicom(buildReaderResultSr(input)).dataset;
    expect(d.SOPClassUID).toBe('1.2.840.10008.5.1.4.1.1.88.33');
    expect(d.StudyInstanceUID).toBe(input.origin.study.studyInstanceUid);
    expect(d.PatientID).toBe('MRN-0042');
    expect([d.ContentDate, d.ContentTime]).toEqual(['20261206', '040000.000000']);
    expect(seq(d.ConceptNameCodeSequence)[0]).toMatchObject({ CodeValue: '18748-4', CodingSchemeDesignator: 'LN' });
    expect(d.ContributingEquipmentSequence).toBeUndefined();
    const tree = walk(d.ContentSequence);
    expect(seq(only(tree, 'Observer Type').ConceptCodeSequence)[0]).toMatchObject({ CodeValue: '121006', CodeMeaning: 'Person' });
    expect(seq(only(tree, 'Person Observer Name').PersonName)[0]).toMatchObject({ Alphabetic: 'reader-7f3a' });
    const label = only(tree, 'Final label');
    expect(seq(label.ConceptCodeSequence)[0]).toMatchObject({ CodeValue: 'lung-opacity', CodingSchemeDesignator: '99SECONDREAD' });
    expect(tree.find((t) => t.name === 'Final label')?.parent).toBe('Impressions');
    expect(d.SOPInstanceUID).toBe(readerResultSrUids(input).sopInstanceUid);
  });

  it('is deterministic per decision, and a pseudonym cannot smuggle name components', () => {
    const a = parseDicom(buildReaderResultSr(readerInput())).dataset;
    const again = parseDicom(buildReaderResultSr(readerInput())).dataset;
    expect(again.SOPInstanceUID).toBe(a.SOPInstanceUID);
    const relabelled = parseDicom(buildReaderResultSr(readerInput({ finalLabel: 'lung-normal' }))).dataset;
    expect(relabelled.SOPInstanceUID).not.toBe(a.SOPInstanceUID);
    expect(relabelled.SeriesInstanceUID).toBe(a.SeriesInstanceUID);
    expect(relabelled.SeriesInstanceUID).not.toBe(parseDicom(buildModelResultSr(modelInput())).dataset.SeriesInstanceUID);
    const d = parseDicom(buildReaderResultSr(readerInput({ reader: { pseudonym: 'Smith^John', role: 'B' } }))).dataset;
    expect(seq(only(walk(d.ContentSequence), 'Person Observer Name').PersonName)[0]).toMatchObject({ Alphabetic: 'Smith_John' });
    expect(() => buildReaderResultSr(readerInput({ reader: { pseudonym: ' ', role: 'B' } }))).toThrow(SrInputError);
    expect(() => buildReaderResultSr(readerInput({ decidedAt: new Date('nope') }))).toThrow(SrInputError);
  });
});

describe('deterministicUid and DS values', () => {
  it('is a valid 2.25 UUID-derived UID of at most 64 characters, stable per input', () => {
    for (let i = 0; i < 200; i++) {
      const uid = deterministicUid('x', String(i));
      expect(uid).toMatch(/^2\.25\.[1-9]\d*$/);
      expect(uid.length).toBeLessThanOrEqual(64);
      const hex = BigInt(uid.slice(5)).toString(16).padStart(32, '0');
      expect(hex[12]).toBe('8'); // version 8
      expect(['8', '9', 'a', 'b']).toContain(hex[16]); // RFC variant
    }
    expect(deterministicUid('a', 'b')).toBe(deterministicUid('a', 'b'));
    expect(deterministicUid('a', 'b')).not.toBe(deterministicUid('ab'));
  });

  it('writes numbers in at most 16 characters', () => {
    for (const v of [100 / 3, 0.1 + 0.2, 1e-9, 99.99999999999, 0, 100, 12345678.123456789]) {
      const s = decimalString(v);
      expect(s.length, s).toBeLessThanOrEqual(16);
      expect(Math.abs(Number(s) - v)).toBeLessThanOrEqual(Math.abs(v) * 1e-6 + 1e-12);
    }
  });
});
