// The DICOM intake of the workflow (Contract 3) and its index and sealed origin (Contract 1), run on
// SQLite by dicom-intake.test.ts and on PostgreSQL by dicom-intake.integration.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ramp16 } from '../data/dicom/testing.js';
import { containsMarker, cxrDicom, phiDicom } from '../data/dicom/testing.js';
import type { DbDialect } from '../storage/db.js';
import type { DicomQuery } from './dicom-index.js';
import { type DicomPreparer, pooledDicomPreparer } from './dicom-prepare.js';
import type { WorkflowService } from './service.js';
import type { DicomIntakeSettings } from './study-image.js';
import { openWorkflowFixture, type WorkflowFixture } from './testing.js';

const KEY = Buffer.alloc(32, 9);
const MARKER = 'QQPHIMARKERQQ';
const q = (o: Partial<DicomQuery> = {}): DicomQuery => ({ limit: 100, offset: 0, ...o });

/** `workers`: prepare every instance in a worker pool of that size (as `serve` does) instead of inline. */
export function dicomIntakeSuite(dialect: DbDialect, o: { workers?: number } = {}): void {
  describe(`DICOM intake, index and sealed origin (${dialect}${o.workers ? `, ${o.workers} preparation workers` : ''})`, () => {
    let f: WorkflowFixture;
    let kept: WorkflowService;
    let plain: WorkflowService;
    const preparers: DicomPreparer[] = [];
    const withPreparer = (dicom: DicomIntakeSettings) => {
      if (!o.workers) return { dicom };
      const dicomPreparer = pooledDicomPreparer(dicom, o.workers, { inlineBelowBytes: 0 });
      preparers.push(dicomPreparer);
      return { dicom, dicomPreparer };
    };
    beforeAll(async () => {
      f = await openWorkflowFixture(dialect);
      kept = f.service(withPreparer({ key: KEY, keepOrigin: true }));
      plain = f.service(withPreparer({ key: KEY }));
    });
    afterAll(async () => {
      for (const p of preparers) await p.close();
      await f?.close();
    });

    it('takes a CR in as a cxr study, indexes it de-identified and keeps its origin only sealed', async () => {
      const bytes = await phiDicom(MARKER, 'explicit-le');
      const r = await kept.intakeDicomInstance(f.users.admin, bytes, { via: 'stow', remoteAddress: '10.0.0.7' });
      if (!r.ok) throw new Error(`${r.code}: ${r.reason}`);
      expect(r.study.modality).toBe('cxr');
      expect(r.duplicate).toBe(false);
      expect(r.sopInstanceUid).toMatch(/^1\.2\.826\.0\.1\.3680043\.10\./);
      expect(r.stored.sopInstanceUid).toMatch(/^2\.25\./);
      expect(r.stored.studyInstanceUid).toMatch(/^2\.25\./);

      const row = await f.t.db.selectFrom('dicom_studies').selectAll().where('study_id', '=', r.study.id).executeTakeFirstOrThrow();
      expect(row).toMatchObject({
        study_instance_uid: r.stored.studyInstanceUid,
        series_instance_uid: r.stored.seriesInstanceUid,
        sop_instance_uid: r.stored.sopInstanceUid,
        sop_class_uid: '1.2.840.10008.5.1.4.1.1.1',
        modality: 'CR',
        study_date: null,
        rows: 48,
        columns: 64,
      });
      expect(row.patient_key).toMatch(/^[0-9a-f]{24}$/);

      const sealed = await f.t.db.selectFrom('study_origins').selectAll().where('study_id', '=', r.study.id).executeTakeFirstOrThrow();
      expect(sealed.via).toBe('stow');
      expect(sealed.sealed).toMatch(/^v1\./);
      expect(containsMarker(Buffer.from(JSON.stringify(sealed)), MARKER)).toBe(false);
      const origin = await kept.getStudyOrigin(r.study.id);
      expect(origin).toMatchObject({
        // phiDicom's profile values (the marker everywhere, UIDs under its own root): what was sent, unchanged.
        patient: { id: MARKER, name: `${MARKER}^Name` },
        study: { studyInstanceUid: expect.stringMatching(/^1\.2\.826\.0\.1\.3680043\.10\./), accessionNumber: MARKER },
        series: { seriesInstanceUid: expect.stringMatching(/^1\.2\.826\.0\.1\.3680043\.10\./), modality: 'CR' },
        instance: { sopClassUid: '1.2.840.10008.5.1.4.1.1.1', sopInstanceUid: r.sopInstanceUid },
      });
      // Another key cannot open it.
      await expect(f.service({ dicom: { key: Buffer.alloc(32, 1) } }).getStudyOrigin(r.study.id)).rejects.toMatchObject({ code: 'seal_invalid' });

      const audit = await f.t.db
        .selectFrom('audit_log')
        .select('payload_json')
        .where('study_id', '=', r.study.id)
        .where('event', '=', 'study.intake')
        .executeTakeFirstOrThrow();
      expect(JSON.parse(audit.payload_json)).toMatchObject({ dicom: { originKept: true }, via: { via: 'stow', callingAe: null, remoteAddress: '10.0.0.7' } });
      expect(audit.payload_json.includes(MARKER)).toBe(false);
    });

    it('keeps no origin when results-return is off, and says so in the audit trail', async () => {
      const r = await plain.intakeDicomInstance(f.users.admin, await cxrDicom(ramp16(), 'rle', { Modality: 'DX', StudyInstanceUID: '1.2.3.4.100' }), {
        via: 'dimse',
        callingAe: 'MODALITY1',
      });
      if (!r.ok) throw new Error(r.code);
      expect(await plain.getStudyOrigin(r.study.id)).toBeNull();
      expect(await f.t.db.selectFrom('study_origins').selectAll().where('study_id', '=', r.study.id).execute()).toEqual([]);
      const audit = await f.t.db
        .selectFrom('audit_log')
        .select('payload_json')
        .where('study_id', '=', r.study.id)
        .where('event', '=', 'study.intake')
        .executeTakeFirstOrThrow();
      expect(JSON.parse(audit.payload_json)).toMatchObject({ dicom: { originKept: false }, via: { via: 'dimse', callingAe: 'MODALITY1' } });
    });

    it('OPT is read as oct; other modalities, non-images and bad bytes are refused with stable codes, never thrown', async () => {
      const opt = await kept.intakeDicomInstance(f.users.admin, await cxrDicom(ramp16(), 'explicit-le', { Modality: 'OPT', StudyInstanceUID: '1.2.3.4.200' }), {
        via: 'stow',
      });
      expect(opt.ok && opt.study.modality).toBe('oct');
      const before = (await f.t.db.selectFrom('studies').select('id').execute()).length;
      const good = await cxrDicom(ramp16(), 'explicit-le', { StudyInstanceUID: '1.2.3.4.300' });
      const cases: [Uint8Array, string][] = [
        [await cxrDicom(ramp16(), 'explicit-le', { Modality: 'MR' }), 'dicom_modality_not_accepted'],
        [await cxrDicom(ramp16(), 'explicit-le', { Modality: '' }), 'dicom_modality_not_accepted'],
        [await cxrDicom(ramp16(), 'explicit-le', { SOPClassUID: '1.2.840.10008.5.1.4.1.1.88.33', Modality: 'CR' }), 'dicom_not_an_image'],
        [good.subarray(0, good.length - 100), 'dicom_truncated'],
        [new TextEncoder().encode('not a dicom file at all, just text'), 'dicom_invalid'],
        [await cxrDicom(ramp16(), 'explicit-le', { BurnedInAnnotation: 'YES' }), 'dicom_burned_in_annotation'],
      ];
      for (const [bytes, code] of cases) {
        const r = await kept.intakeDicomInstance(f.users.admin, bytes, { via: 'stow' });
        expect(r.ok ? 'ok' : r.code, code).toBe(code);
      }
      const mr = await kept.intakeDicomInstance(f.users.admin, cases[0]![0], { via: 'stow' });
      expect(mr).toMatchObject({ ok: false, sopClassUid: '1.2.840.10008.5.1.4.1.1.1', sopInstanceUid: expect.stringMatching(/^\d/) });
      expect((await f.t.db.selectFrom('studies').select('id').execute()).length).toBe(before);
    });

    it('a resend (even concurrent) answers the first study and makes no second one', async () => {
      const bytes = await cxrDicom(ramp16(), 'explicit-le', { StudyInstanceUID: '1.2.3.4.400', SeriesInstanceUID: '1.2.3.4.400.1' });
      const [a, b] = await Promise.all([
        kept.intakeDicomInstance(f.users.admin, bytes, { via: 'stow' }),
        kept.intakeDicomInstance(f.users.admin, bytes, { via: 'dimse' }),
      ]);
      const c = await kept.intakeDicomInstance(f.users.admin, bytes, { via: 'stow' });
      if (!a.ok || !b.ok || !c.ok) throw new Error('refused');
      expect(new Set([a.study.id, b.study.id, c.study.id]).size).toBe(1);
      expect([a.duplicate, b.duplicate, c.duplicate].filter(Boolean).length).toBe(2);
      expect((await f.t.db.selectFrom('dicom_studies').selectAll().where('sop_instance_uid', '=', a.stored.sopInstanceUid).execute()).length).toBe(1);
    });

    it('QIDO queries: by study, patient, modality, date range, with limit and offset', async () => {
      // Two instances (PA + lateral) of one study, one of another, one OPT of a third patient.
      const study = '1.2.3.4.500';
      const ids: string[] = [];
      for (const [extra, date] of [
        [{ StudyInstanceUID: study, SeriesInstanceUID: `${study}.1`, PatientID: 'P1' }, '20240105'],
        [{ StudyInstanceUID: study, SeriesInstanceUID: `${study}.2`, PatientID: 'P1', Modality: 'DX' }, '20240105'],
        [{ StudyInstanceUID: '1.2.3.4.600', PatientID: 'P2' }, '20240301'],
      ] as const) {
        const r = await plain.intakeDicomInstance(f.users.admin, await cxrDicom(ramp16(), 'explicit-le', extra), { via: 'stow' });
        if (!r.ok) throw new Error(r.code);
        ids.push(r.study.id);
        // The profile empties StudyDate; set one as a date-keeping de-identification option would.
        await f.t.db.updateTable('dicom_studies').set({ study_date: date }).where('study_id', '=', r.study.id).execute();
      }
      const rows = await plain.searchDicomInstances(q({ studyInstanceUids: [] }));
      const mine = rows.filter((r) => ids.includes(r.study_id));
      const deidStudy = mine[0]!.study_instance_uid;
      const p1 = mine[0]!.patient_key;

      const studies = await plain.searchDicomStudies(q({ studyInstanceUids: [deidStudy] }));
      expect(studies).toEqual([{ studyInstanceUid: deidStudy, patientKey: p1, studyDate: '20240105', modalities: ['CR', 'DX'], series: 2, instances: 2 }]);
      expect((await plain.searchDicomStudies(q({ patientKey: p1 }))).map((s) => s.studyInstanceUid)).toEqual([deidStudy]);
      expect((await plain.searchDicomStudies(q({ modalities: ['DX'] }))).map((s) => s.studyInstanceUid)).toContain(deidStudy);
      expect((await plain.searchDicomStudies(q({ modalities: ['DX'] }))).every((s) => s.modalities.includes('DX'))).toBe(true);
      expect((await plain.searchDicomStudies(q({ studyDate: { from: '20240201' } }))).map((s) => s.studyDate)).toEqual(['20240301']);
      expect((await plain.searchDicomStudies(q({ studyDate: { from: '20240101', to: '20240131' } }))).map((s) => s.studyInstanceUid)).toEqual([deidStudy]);
      expect(await plain.searchDicomStudies(q({ studyDate: { to: '20231231' } }))).toEqual([]);

      const all = await plain.searchDicomStudies(q());
      const page = await plain.searchDicomStudies(q({ limit: 2, offset: 1 }));
      expect(page).toEqual(all.slice(1, 3));
      // Newest first.
      expect(all[0]!.studyDate).toBe('20240301');

      const series = await plain.searchDicomSeries(q({ studyInstanceUids: [deidStudy] }));
      expect(series.map((s) => [s.modality, s.instances])).toEqual([
        ['CR', 1],
        ['DX', 1],
      ]);
      expect(await plain.searchDicomSeries(q({ studyInstanceUids: [deidStudy], modalities: ['DX'] }))).toHaveLength(1);
      const instances = await plain.searchDicomInstances(q({ studyInstanceUids: [deidStudy], seriesInstanceUids: [series[1]!.seriesInstanceUid] }));
      expect(instances.map((i) => i.study_id)).toEqual([ids[1]]);
    });
  });
}
