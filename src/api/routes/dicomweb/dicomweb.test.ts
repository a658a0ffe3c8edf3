// DICOMweb over HTTP with the real app: STOW-RS into the workflow (per-instance outcomes and the
// response statuses of PS3.18 10.5.3), QIDO-RS over the de-identified index, WADO-RS of the stored
// instances, their metadata and rendering; authentication, UID validation, limits and negotiation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Rng } from '../../../core/rng.js';
import { DICOM_STATUS } from '../../../data/dicom/failure-reasons.js';
import { buildMultipartRelated, parseMultipartRelated } from '../../../data/dicom/multipart.js';
import { parseDicom } from '../../../data/dicom/parse.js';
import { cxrDicom, ramp16 } from '../../../data/dicom/testing.js';
import { type ApiFixture, openApiFixture } from '../../testing/fixture.js';
import { parseQidoQuery } from './qido.js';

type Json = Record<string, { vr: string; Value?: unknown[] }>;
let f: ApiFixture;

beforeAll(async () => {
  f = await openApiFixture({
    workflow: { dicom: { key: Buffer.alloc(32, 5), keepOrigin: true } },
    limits: { maxUploadBytes: 200_000, maxStowBytes: 1_000_000 },
  });
});
afterAll(async () => {
  await f.close();
});

function stow(parts: Uint8Array[], o: { url?: string; role?: Parameters<ApiFixture['auth']>[0]; type?: string } = {}) {
  const { contentType, body } = buildMultipartRelated(
    o.type ?? 'application/dicom',
    parts.map((p) => ({ contentType: o.type ?? 'application/dicom', body: p })),
  );
  return f.app.inject({
    method: 'POST',
    url: o.url ?? '/dicomweb/studies',
    headers: { ...f.auth(o.role ?? 'reader'), 'content-type': contentType },
    payload: body,
  });
}
const seq = (body: Json, tag: string) => (body[tag]?.Value ?? []) as Json[];
const v = (ds: Json, tag: string) => ds[tag]?.Value?.[0];
const get = (url: string, headers: Record<string, string> = {}) => f.app.inject({ method: 'GET', url, headers: { ...f.auth('reader'), ...headers } });
const path = (url: unknown) => new URL(String(url)).pathname;

const STUDY = '1.2.826.0.1.3680043.10.77.1';
let pa: Uint8Array;
let lat: Uint8Array;

describe('STOW-RS', () => {
  it('stores each instance as a workflow study and answers per instance: 202 when some fail', async () => {
    pa = await cxrDicom(ramp16(), 'explicit-le', {
      StudyInstanceUID: STUDY,
      SeriesInstanceUID: `${STUDY}.1`,
      SOPInstanceUID: `${STUDY}.1.1`,
      PatientID: 'PAT-1',
    });
    lat = await cxrDicom(ramp16(), 'rle', {
      StudyInstanceUID: STUDY,
      SeriesInstanceUID: `${STUDY}.2`,
      SOPInstanceUID: `${STUDY}.2.1`,
      PatientID: 'PAT-1',
      Modality: 'DX',
    });
    const mr = await cxrDicom(ramp16(), 'explicit-le', { Modality: 'MR', SOPInstanceUID: '1.2.3.9' });
    const calls = f.model.calls.length;
    const res = await stow([pa, lat, mr, new TextEncoder().encode('garbage, not DICOM')]);
    expect(res.statusCode, res.body).toBe(202);
    expect(res.headers['content-type']).toMatch(/^application\/dicom\+json/);
    const body = res.json<Json>();
    const stored = seq(body, '00081199');
    expect(stored.map((s) => v(s, '00081155'))).toEqual([`${STUDY}.1.1`, `${STUDY}.2.1`]);
    expect(stored.every((s) => v(s, '00081196') === DICOM_STATUS.coercionOfDataElements && v(s, '00081150') === '1.2.840.10008.5.1.4.1.1.1')).toBe(true);
    // RetrieveURLs point at the de-identified instance; the answer's study URL at its study.
    const url = path(v(stored[0]!, '00081190'));
    expect(url).toMatch(/^\/dicomweb\/studies\/2\.25\.\d+\/series\/2\.25\.\d+\/instances\/2\.25\.\d+$/);
    expect(path(v(body, '00081190'))).toBe(url.split('/series/')[0]);
    const failed = seq(body, '00081198');
    expect(failed.map((s) => [v(s, '00081155'), v(s, '00081197')])).toEqual([
      ['1.2.3.9', DICOM_STATUS.sopClassNotSupported],
      [undefined, DICOM_STATUS.cannotUnderstand],
    ]);
    expect(f.model.calls.length - calls).toBe(2);
  });

  it('200 when all are stored (a resend answers the same studies), 409 when none is', async () => {
    const before = (await f.app.inject({ method: 'GET', url: '/v1/studies?limit=500', headers: f.auth('admin') })).json().studies.length;
    const again = await stow([pa]);
    expect(again.statusCode).toBe(200);
    expect(seq(again.json(), '00081199')).toHaveLength(1);
    expect((await f.app.inject({ method: 'GET', url: '/v1/studies?limit=500', headers: f.auth('admin') })).json().studies.length).toBe(before);

    const none = await stow([await cxrDicom(ramp16(), 'explicit-le', { BurnedInAnnotation: 'YES' })]);
    expect(none.statusCode).toBe(409);
    expect(v(seq(none.json(), '00081198')[0]!, '00081197')).toBe(DICOM_STATUS.processingFailure);
  });

  it('/studies/{uid} refuses instances of another study (A900)', async () => {
    const other = await cxrDicom(ramp16(), 'explicit-le', { StudyInstanceUID: '1.2.3.555', SOPInstanceUID: '1.2.3.555.1' });
    const res = await stow([other], { url: `/dicomweb/studies/${STUDY}` });
    expect(res.statusCode).toBe(409);
    expect(v(seq(res.json(), '00081198')[0]!, '00081197')).toBe(DICOM_STATUS.dataSetDoesNotMatchSopClass);
    const ok = await stow([await cxrDicom(ramp16(), 'explicit-le', { StudyInstanceUID: STUDY, SOPInstanceUID: `${STUDY}.9`, PatientID: 'PAT-1' })], {
      url: `/dicomweb/studies/${STUDY}`,
    });
    expect(ok.statusCode).toBe(200);
  });

  it('refuses bad requests whole: media types, multipart syntax, sizes, auth', async () => {
    const codes = async (res: Awaited<ReturnType<typeof stow>>) => [res.statusCode, res.json().code];
    expect(await codes(await stow([pa], { type: 'application/dicom+json' }))).toEqual([415, 'unsupported_media_type']);
    const json = await f.app.inject({ method: 'POST', url: '/dicomweb/studies', headers: f.auth(), payload: { a: 1 } });
    expect(json.statusCode).toBe(415);
    const cut = await f.app.inject({
      method: 'POST',
      url: '/dicomweb/studies',
      headers: { ...f.auth(), 'content-type': 'multipart/related; type="application/dicom"; boundary=b' },
      payload: Buffer.from('--b\r\n\r\nDICM cut off'),
    });
    expect(await codes(cut)).toEqual([400, 'multipart_invalid']);
    const empty = await f.app.inject({
      method: 'POST',
      url: '/dicomweb/studies',
      headers: { ...f.auth(), 'content-type': 'multipart/related; type="application/dicom"; boundary=b' },
      payload: Buffer.from('--b--\r\n'),
    });
    expect(await codes(empty)).toEqual([400, 'multipart_invalid']);
    const big = await cxrDicom(ramp16(400, 300));
    expect(big.length).toBeGreaterThan(200_000);
    expect(await codes(await stow([big]))).toEqual([413, 'payload_too_large']);
    expect((await stow(Array.from({ length: 6 }, () => big.subarray(0, 190_000)))).statusCode).toBe(413); // body over maxStowBytes
    expect((await f.app.inject({ method: 'POST', url: '/dicomweb/studies', payload: 'x' })).statusCode).toBe(401);
    expect(await codes(await stow([pa], { role: 'adjudicator' }))).toEqual([403, 'forbidden']);
    expect((await stow([pa], { url: '/dicomweb/studies/..%2F..%2Fetc' })).statusCode).toBe(400);
    // The answer is DICOM JSON only: a client that reads only XML is told so before anything is stored.
    const { contentType, body } = buildMultipartRelated('application/dicom', [{ contentType: 'application/dicom', body: pa }]);
    const xml = await f.app.inject({
      method: 'POST',
      url: '/dicomweb/studies',
      headers: { ...f.auth(), 'content-type': contentType, accept: 'application/dicom+xml' },
      payload: body,
    });
    expect([xml.statusCode, xml.json().code]).toEqual([406, 'not_acceptable']);
  });
});

describe('STOW-RS under hostile bodies', () => {
  it('random cuts, byte flips and boundary damage: always a 2xx/4xx answer, never a 5xx', async () => {
    const rng = new Rng(17);
    const good = await cxrDicom(ramp16(16, 12), 'explicit-le', { StudyInstanceUID: '1.2.3.800', PatientID: 'FUZZ' });
    const { contentType, body } = buildMultipartRelated('application/dicom', [
      { contentType: 'application/dicom', body: good },
      { contentType: 'application/dicom', body: good.subarray(0, 400) },
    ]);
    const statuses = new Set<number>();
    for (let i = 0; i < 60; i++) {
      const b = Buffer.from(body);
      const kind = i % 3;
      let payload: Buffer = b;
      if (kind === 0) payload = b.subarray(0, Math.floor(rng.next() * b.length));
      else for (let k = 0; k < 1 + (i % 7); k++) b[Math.floor(rng.next() * b.length)] = Math.floor(rng.next() * 256);
      if (kind === 2) payload = Buffer.concat([b.subarray(0, 60), Buffer.from('\r\n--'), b.subarray(60)]);
      const res = await f.app.inject({ method: 'POST', url: '/dicomweb/studies', headers: { ...f.auth(), 'content-type': contentType }, payload });
      statuses.add(res.statusCode);
      expect(res.statusCode, `case ${i}: ${res.body.slice(0, 200)}`).toBeLessThan(500);
    }
    expect(statuses.size).toBeGreaterThan(1);
  });
});

describe('QIDO-RS', () => {
  let study: string;
  let patient: string;
  beforeAll(async () => {
    const opt = await stow([await cxrDicom(ramp16(), 'explicit-le', { Modality: 'OPT', StudyInstanceUID: '1.2.3.700', PatientID: 'PAT-2' })]);
    expect(opt.statusCode).toBe(200);
    const res = (await get(`/dicomweb/studies?limit=1000`)).json<Json[]>();
    const mine = res.find((s) => v(s, '00201208') === 3)!; // PA, lateral and the one sent to /studies/{uid}
    study = String(v(mine, '0020000D'));
    patient = String(v(mine, '00100020'));
  });

  it('studies: by PatientID (the pseudonym), UID, modality; counts, RetrieveURL; limit and offset', async () => {
    expect(study).toMatch(/^2\.25\./);
    expect(patient).toMatch(/^[0-9a-f]{24}$/);
    const byPatient = await get(`/dicomweb/studies?PatientID=${patient}`);
    expect(byPatient.headers['content-type']).toMatch(/^application\/dicom\+json/);
    const [s] = byPatient.json<Json[]>();
    expect(byPatient.json<Json[]>()).toHaveLength(1);
    expect(s).toMatchObject({
      '0020000D': { vr: 'UI', Value: [study] },
      '00080061': { vr: 'CS', Value: ['CR', 'DX'] },
      '00201206': { vr: 'IS', Value: [3] },
      '00080020': { vr: 'DA' },
    });
    expect(path(v(s!, '00081190'))).toBe(`/dicomweb/studies/${study}`);
    expect((await get(`/dicomweb/studies?0020000D=${study}`)).json()).toHaveLength(1);
    expect((await get(`/dicomweb/studies?ModalitiesInStudy=DX`)).json<Json[]>().map((x) => v(x, '0020000D'))).toEqual([study]);
    const opt = (await get(`/dicomweb/studies?ModalitiesInStudy=OPT,MR`)).json<Json[]>();
    expect(opt.map((x) => [v(x, '00080061'), v(x, '00201208')])).toEqual([['OPT', 1]]);
    expect(v(opt[0]!, '00100020')).not.toBe(patient);
    expect((await get(`/dicomweb/studies?PatientID=${patient}&StudyDate=20200101-20201231`)).json()).toEqual([]);
    const all = (await get('/dicomweb/studies')).json<Json[]>();
    expect(all.length).toBeGreaterThanOrEqual(2);
    expect((await get('/dicomweb/studies?limit=1&offset=1')).json()).toEqual(all.slice(1, 2));
  });

  it('series and instances of a study', async () => {
    const series = (await get(`/dicomweb/studies/${study}/series`)).json<Json[]>();
    expect(series.map((x) => v(x, '00080060')).sort()).toEqual(['CR', 'CR', 'DX']);
    const dx = series.find((x) => v(x, '00080060') === 'DX')!;
    const inSeries = (await get(`/dicomweb/studies/${study}/series/${v(dx, '0020000E')}/instances`)).json<Json[]>();
    expect(inSeries).toHaveLength(1);
    expect(inSeries[0]).toMatchObject({ '00280010': { Value: [48] }, '00280011': { Value: [64] }, '00083002': { Value: ['1.2.840.10008.1.2.5'] } });
    expect((await get(`/dicomweb/studies/${study}/instances?Modality=CR`)).json()).toHaveLength(2);
    expect((await get(`/dicomweb/studies/${study}/series?Modality=DX`)).json()).toHaveLength(1);
    expect((await get(`/dicomweb/studies/1.2.3/series`)).json()).toEqual([]);
    // Across studies.
    expect((await get(`/dicomweb/series?PatientID=${patient}`)).json()).toHaveLength(3);
    expect((await get(`/dicomweb/series?PatientID=${patient}&Modality=DX`)).json()).toHaveLength(1);
    expect((await get(`/dicomweb/instances?StudyInstanceUID=${study}`)).json()).toHaveLength(3);
    expect((await get(`/dicomweb/instances?Modality=OPT`)).json<Json[]>().map((x) => v(x, '00080060'))).toEqual(['OPT']);
    expect((await get(`/dicomweb/instances?SOPInstanceUID=${v(inSeries[0]!, '00080018')}`)).json()).toEqual(inSeries);
  });

  it('validates keys, warns about unsupported ones, negotiates', async () => {
    for (const q of [
      'StudyInstanceUID=1.2.x',
      'StudyDate=2024',
      'StudyDate=20240101-20230101',
      'PatientID=a*b',
      'limit=0',
      'offset=-1',
      'ModalitiesInStudy=C;R',
    ])
      expect((await get(`/dicomweb/studies?${q}`)).statusCode, q).toBe(400);
    const warned = await get('/dicomweb/studies?includefield=all&PatientName=Doe&toString=1');
    expect(warned.statusCode).toBe(200);
    expect(warned.headers.warning).toMatch(/^299 secondread ".*includefield, PatientName, toString/);
    expect((await get('/dicomweb/studies', { accept: 'application/dicom+xml' })).statusCode).toBe(406);
    expect((await get('/dicomweb/studies', { accept: 'application/dicom+xml, application/dicom+json' })).statusCode).toBe(200);
    expect((await f.app.inject({ method: 'GET', url: '/dicomweb/studies' })).statusCode).toBe(401);
    expect((await get('/dicomweb/studies?limit=5000')).statusCode).toBe(200);
    expect(parseQidoQuery({ limit: '5000', '0020000d': '1.2.3,1.2.4', StudyDate: '20240101-', PatientID: 'abc' }, 'study')).toEqual({
      query: { limit: 1000, offset: 0, studyInstanceUids: ['1.2.3', '1.2.4'], studyDate: { from: '20240101' }, patientKey: 'abc' },
      ignored: [],
      capped: true,
    });
    expect(parseQidoQuery({ PatientID: '*', ModalitiesInStudy: '' }, 'study').query).toEqual({ limit: 100, offset: 0 });
    // Keys of another level are ignored there, not matched.
    expect(parseQidoQuery({ SOPInstanceUID: '1.2' }, 'study').ignored).toEqual(['SOPInstanceUID']);
  });
});

describe('WADO-RS', () => {
  let base: string;
  let studyId: string;
  beforeAll(async () => {
    const [s] = (await get(`/dicomweb/studies?ModalitiesInStudy=DX`)).json<Json[]>();
    const [i] = (await get(`/dicomweb/studies/${v(s!, '0020000D')}/instances?Modality=DX`)).json<Json[]>();
    base = path(v(i!, '00081190'));
    const rows = await f.tracking.t.db
      .selectFrom('dicom_studies')
      .select('study_id')
      .where('sop_instance_uid', '=', String(v(i!, '00080018')))
      .execute();
    studyId = rows[0]!.study_id;
  });

  it('an instance as multipart/related application/dicom: the de-identified stored instance', async () => {
    const res = await get(base, { accept: 'multipart/related; type="application/dicom"' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['cache-control']).toBe('private, no-store');
    const { parts } = parseMultipartRelated(String(res.headers['content-type']), res.rawPayload, { maxParts: 10, maxPartBytes: 1e7 });
    expect(parts).toHaveLength(1);
    expect(parts[0]!.contentType.params['transfer-syntax']).toBe('1.2.840.10008.1.2.5');
    const stored = (await f.app.inject({ method: 'GET', url: `/v1/studies/${studyId}/instance`, headers: f.auth() })).rawPayload;
    expect(Buffer.compare(parts[0]!.body, stored)).toBe(0);
    const ds = parseDicom(parts[0]!.body).dataset;
    expect(ds.PatientIdentityRemoved).toBe('YES');
    expect(base.endsWith(String(ds.SOPInstanceUID))).toBe(true);
    // A study: all three instances.
    const study = await get(base.split('/series/')[0]!);
    expect(parseMultipartRelated(String(study.headers['content-type']), study.rawPayload, { maxParts: 10, maxPartBytes: 1e7 }).parts).toHaveLength(3);
  });

  it('metadata (DICOM JSON without Pixel Data) and the PNG rendering', async () => {
    const meta = await get(`${base}/metadata`);
    expect(meta.statusCode).toBe(200);
    const [m] = meta.json<Json[]>();
    expect(v(m!, '00100020')).toMatch(/^[0-9a-f]{24}$/);
    expect(v(m!, '00120062')).toBe('YES');
    expect(v(m!, '00080060')).toBe('DX');
    expect(m!['7FE00010']).toBeUndefined();
    expect((await get(`${base.split('/instances/')[0]}/metadata`)).json()).toHaveLength(1);

    const png = await get(`${base}/rendered`, { accept: 'image/png' });
    expect(png.headers['content-type']).toBe('image/png');
    const image = await f.app.inject({ method: 'GET', url: `/v1/studies/${studyId}/image`, headers: f.auth() });
    expect(Buffer.compare(png.rawPayload, image.rawPayload)).toBe(0);
  });

  it('404 for unknown UIDs, 400 for what is not a UID, 406 for what we cannot send', async () => {
    expect((await get(`${base}9`)).statusCode).toBe(404);
    expect((await get(`/dicomweb/studies/1.2.3/metadata`)).statusCode).toBe(404);
    expect((await get(`/dicomweb/studies/1.2.3/series/1.2/instances/${'1'.repeat(65)}`)).statusCode).toBe(400);
    expect((await get(`/dicomweb/studies/..%2F..%2Fstudies/metadata`)).statusCode).toBe(400);
    expect((await get(base, { accept: 'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.1' })).statusCode).toBe(406);
    expect((await get(base, { accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' })).statusCode).toBe(200);
    expect((await get(base, { accept: 'application/json' })).statusCode).toBe(406);
    expect((await get(`${base}/rendered`, { accept: 'image/jpeg' })).statusCode).toBe(406);
  });
});
