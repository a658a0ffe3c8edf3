// DICOM through the HTTP API, and the proof that no PHI is stored: a CXR whose every PS3.15 Basic
// Profile attribute (plus private tags and names nested in sequences) carries a marker is taken in
// through POST /v1/studies, predict and STOW-RS (then searched and retrieved by QIDO-RS and WADO-RS); afterwards the marker is looked for in every API answer,
// every database row, every stored object and every log line — it must be nowhere.
import { Writable } from 'node:stream';

import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { decodeDicom } from '../data/dicom/decode.js';
import { buildMultipartRelated } from '../data/dicom/multipart.js';
import { metaDict, parseDicom, writeDicom } from '../data/dicom/parse.js';
import { containsMarker, cxrDicom, phiDicom, ramp16 } from '../data/dicom/testing.js';
import { writeDicomImage } from '../data/dicom/write.js';
import { type ApiFixture, openApiFixture } from './testing/fixture.js';
import { postStudy } from './testing/http.js';

const MARKER = 'ZQXPHIMARKER';
const logLines: string[] = [];
const answers: Buffer[] = [];
let f: ApiFixture;

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _enc, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  const logger = pino({ level: 'trace' }, sink);
  // Results-return on: the sealed origin of every instance is stored too, and must hide the marker as well.
  f = await openApiFixture({ workflow: { dicom: { key: Buffer.alloc(32, 7), keepOrigin: true }, logger } });
});
afterAll(async () => {
  await f.close();
});

const keep = <T extends { rawPayload: Buffer }>(res: T): T => {
  answers.push(res.rawPayload);
  return res;
};

describe('DICOM intake over HTTP', () => {
  it('a DICOM study is de-identified, rendered with its own window and read by the model', async () => {
    const dicom = await phiDicom(MARKER, 'jpeg-ls');
    const res = keep(await postStudy(f.app, f.auth('reader'), { modality: 'cxr' }, dicom));
    expect(res.statusCode, res.body).toBe(201);
    const id = res.json().id;

    const img = keep(await f.app.inject({ method: 'GET', url: `/v1/studies/${id}/image`, headers: f.auth('adjudicator') }));
    expect(img.headers['content-type']).toBe('image/png');
    const sharp = (await import('sharp')).default;
    const { data } = await sharp(img.rawPayload).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
    expect(Buffer.from(data).equals(Buffer.from((await decodeDicom(dicom)).data))).toBe(true);
    // The model read the rendering: the same pixels (hence the same tensor) as the DICOM itself.
    expect(f.model.calls.at(-1)).toEqual({ studyId: id, bytes: img.rawPayload.length });

    const facts = keep(await f.app.inject({ method: 'GET', url: `/v1/studies/${id}/dicom`, headers: f.auth('reader') }));
    expect(facts.statusCode).toBe(200);
    expect(facts.json()).toMatchObject({
      modality: 'CR',
      bodyPartExamined: 'CHEST',
      viewPosition: 'PA',
      window: { source: 'window', center: 2048, width: 4096 },
    });
    expect(facts.json().studyInstanceUid).toMatch(/^2\.25\./);

    const instance = keep(await f.app.inject({ method: 'GET', url: `/v1/studies/${id}/instance`, headers: f.auth('reader') }));
    expect(instance.headers['content-type']).toBe('application/dicom');
    expect(parseDicom(instance.rawPayload).dataset.PatientIdentityRemoved).toBe('YES');

    const png = await (await import('../data/images/testing.js')).grayPng(8, 8, () => 9);
    const pngStudy = keep(await postStudy(f.app, f.auth('reader'), { modality: 'cxr' }, png)).json();
    expect((await f.app.inject({ method: 'GET', url: `/v1/studies/${pngStudy.id}/dicom`, headers: f.auth('reader') })).statusCode).toBe(404);
  });

  it('predict takes DICOM as a raw body and as a multipart file', async () => {
    const dicom = await phiDicom(MARKER, 'explicit-le');
    const raw = keep(
      await f.app.inject({
        method: 'POST',
        url: '/v1/models/cxr/predict',
        headers: { ...f.auth(), 'content-type': 'application/dicom' },
        payload: Buffer.from(dicom),
      }),
    );
    expect(raw.statusCode, raw.body).toBe(200);
  });

  it('bad DICOM gets its stable 4xx code and registers nothing', async () => {
    const before = (await f.app.inject({ method: 'GET', url: '/v1/studies?limit=200', headers: f.auth('admin') })).json().studies.length;
    const good = await cxrDicom(ramp16(), 'rle');
    const cases: [Uint8Array, number, string][] = [
      [good.subarray(0, good.length - 300), 422, 'dicom_truncated'],
      [
        await writeDicomImage({ SOPClassUID: '1.2.840.10008.5.1.4.1.1.7', Modality: 'OT' }, { ...ramp16(4, 4), width: 30000, height: 30000 }),
        422,
        'image_too_large',
      ],
      [await cxrDicom(ramp16(), 'explicit-le', { BurnedInAnnotation: 'YES' }), 422, 'dicom_burned_in_annotation'],
    ];
    for (const [bytes, status, code] of cases) {
      const res = keep(await postStudy(f.app, f.auth('reader'), { modality: 'cxr' }, bytes));
      expect([res.statusCode, res.json().code], code).toEqual([status, code]);
    }
    const after = (await f.app.inject({ method: 'GET', url: '/v1/studies?limit=200', headers: f.auth('admin') })).json().studies.length;
    expect(after).toBe(before);
  });

  it('STOW-RS takes a PHI-filled instance in; QIDO-RS and WADO-RS answer with de-identified values only', async () => {
    // Another SOP Instance UID than the instance uploaded above, so STOW makes (and seals the origin of) a new study.
    const file = parseDicom(await phiDicom(MARKER, 'rle'));
    file.dict['00080018'] = { vr: 'UI', Value: ['1.2.826.0.1.3680043.10.99.3'] };
    const dicom = writeDicom(metaDict(file), file.dict, { allowInvalidVRLength: true });
    const { contentType, body } = buildMultipartRelated('application/dicom', [{ contentType: 'application/dicom', body: dicom }]);
    const stow = keep(
      await f.app.inject({ method: 'POST', url: '/dicomweb/studies', headers: { ...f.auth('reader'), 'content-type': contentType }, payload: body }),
    );
    expect(stow.statusCode, stow.body).toBe(200);
    expect((await f.tracking.t.db.selectFrom('study_origins').selectAll().where('via', '=', 'stow').execute()).length).toBe(1);
    const url = new URL(String(stow.json()['00081199'].Value[0]['00081190'].Value[0])).pathname;
    const studies = keep(await f.app.inject({ method: 'GET', url: '/dicomweb/studies', headers: f.auth('reader') }));
    expect(studies.json().length).toBeGreaterThan(0);
    const study = url.split('/series/')[0]!;
    for (const u of [`${study}/series`, `${study}/instances`, `${study}/metadata`, url, `${url}/metadata`, `${url}/rendered`]) {
      const res = keep(await f.app.inject({ method: 'GET', url: u, headers: f.auth('reader') }));
      expect(res.statusCode, u).toBe(200);
    }
  });

  it('the marker appears in no API answer, no database row, no stored object, no log line', async () => {
    expect(answers.length).toBeGreaterThan(5);
    for (const a of answers) expect(containsMarker(a, MARKER)).toBe(false);

    const db = f.tracking.t.db;
    const tables = await db.introspection.getTables();
    let rows = 0;
    for (const t of tables) {
      const all = await db
        .selectFrom(t.name as never)
        .selectAll()
        .execute();
      rows += all.length;
      expect(JSON.stringify(all).includes(MARKER), t.name).toBe(false);
    }
    expect(rows).toBeGreaterThan(0);
    // The identified origins are there (sealed), so the search above covered them.
    expect((await db.selectFrom('study_origins').selectAll().execute()).length).toBeGreaterThan(0);

    let objects = 0;
    for await (const o of f.tracking.objects.list('')) {
      objects++;
      expect(containsMarker(await f.tracking.objects.getBytes(o.key), MARKER), o.key).toBe(false);
    }
    expect(objects).toBeGreaterThanOrEqual(3);

    expect(logLines.length).toBeGreaterThan(0);
    expect(logLines.join('\n').includes(MARKER)).toBe(false);
  });
});
