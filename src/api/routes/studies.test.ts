// The study routes over HTTP (app.inject) with the real WorkflowService on the fixture's database:
// intake (multipart, input rules, dataset origin), blinded views per role, reads, the study list, the
// image and the audit trail. The end-to-end clinical scenarios are in src/api/workflow-e2e.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { grayPng, rgbJpeg } from '../../data/images/testing.js';
import { modelRead } from '../../workflow/testing.js';
import { type ApiFixture, openApiFixture } from '../testing/fixture.js';
import { multipartBody, pngHeaderClaiming, postRead, postStudy } from '../testing/http.js';

let f: ApiFixture;
let png: Buffer;
beforeAll(async () => {
  f = await openApiFixture({ limits: { maxUploadBytes: 256 * 1024 } });
  png = await grayPng(24, 24, (x, y) => (x * 5 + y * 3) % 256);
});
afterAll(async () => {
  await f.close();
});

type Role = keyof ApiFixture['tokens'];

const intake = (role: Role, fields: Record<string, string> = { modality: 'cxr' }, bytes: Uint8Array = png) => postStudy(f.app, f.auth(role), fields, bytes);

describe('POST /v1/studies', () => {
  it('201 with the caller’s view and a Location; the model read the stored image', async () => {
    const calls = f.model.calls.length;
    const res = await intake('reader', { modality: 'cxr', priority: 'true' });
    expect(res.statusCode).toBe(201);
    const s = res.json();
    expect(res.headers.location).toBe(`/v1/studies/${s.id}`);
    expect(s).toMatchObject({ modality: 'cxr', source: 'upload', status: 'awaiting_a', priority: true, blinded: true, reads: {}, finalLabel: null });
    expect(s).not.toHaveProperty('model');
    expect(s).not.toHaveProperty('decision');
    expect(f.model.calls.slice(calls)).toEqual([{ studyId: s.id, bytes: png.length }]);
    const img = await f.app.inject({ method: 'GET', url: `/v1/studies/${s.id}/image`, headers: f.auth('adjudicator') });
    expect(img.statusCode).toBe(200);
    expect(img.headers['content-type']).toBe('image/png');
    expect(img.headers['cache-control']).toBe('private, no-store');
    expect(Buffer.compare(img.rawPayload, png)).toBe(0);
  });

  it('takes JPEG too and answers with the image type it stored', async () => {
    const jpeg = await rgbJpeg(20, 20, (x, y) => x + y);
    const s = (await intake('admin', { modality: 'oct' }, jpeg)).json();
    const img = await f.app.inject({ method: 'GET', url: `/v1/studies/${s.id}/image`, headers: f.auth('reader') });
    expect(img.headers['content-type']).toBe('image/jpeg');
    expect(Buffer.compare(img.rawPayload, jpeg)).toBe(0);
  });

  it('applies the image input rules: type by magic bytes (415), size (413), decompression bombs (422)', async () => {
    expect((await intake('reader', { modality: 'cxr' }, Buffer.from('GIF89a not an image'))).json()).toMatchObject({ code: 'unsupported_media_type' });
    const bomb = await intake('reader', { modality: 'cxr' }, pngHeaderClaiming(100_000, 100_000));
    expect([bomb.statusCode, bomb.json().code]).toEqual([422, 'image_too_large']);
    const big = await intake('reader', { modality: 'cxr' }, Buffer.concat([png, Buffer.alloc(300 * 1024)]));
    expect([big.statusCode, big.json().code]).toEqual([413, 'payload_too_large']);
  });

  it('malformed images (garbage, truncated, bit-flipped, absurd headers) are a 4xx JSON error and register nothing', async () => {
    let seed = 7;
    const r = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const flip = (b: Buffer) => {
      const c = Buffer.from(b);
      for (let k = 0; k < 8; k++) {
        const i = 40 + Math.floor(r() * (c.length - 40));
        c[i] = c[i]! ^ (1 + Math.floor(r() * 255));
      }
      return c;
    };
    const before = (await f.tracking.t.db.selectFrom('studies').select('id').execute()).length;
    const cases = [
      Buffer.from(Array.from({ length: 300 }, () => Math.floor(r() * 256))),
      Buffer.concat([png.subarray(0, 8), Buffer.alloc(20)]),
      png.subarray(0, png.length - 20),
      png.subarray(0, 60),
      flip(png),
      flip(png),
      pngHeaderClaiming(0, 0),
      pngHeaderClaiming(2 ** 31 - 1, 3),
    ];
    for (const [i, bytes] of cases.entries()) {
      const res = await intake('reader', { modality: 'cxr' }, bytes);
      expect(res.statusCode, `case ${i}`).toBeGreaterThanOrEqual(400);
      expect(res.statusCode, `case ${i}`).toBeLessThan(500);
      expect(res.json(), `case ${i}`).toMatchObject({ code: expect.any(String), requestId: expect.any(String) });
    }
    expect((await f.tracking.t.db.selectFrom('studies').select('id').execute()).length).toBe(before);
  });

  it('400 for a missing or unknown modality, an unknown field, a repeated field; 415 for a non-multipart body', async () => {
    for (const fields of [{}, { modality: 'mri' }, { modality: 'cxr', color: 'red' }, { modality: 'cxr', priority: 'maybe' }] as Record<string, string>[]) {
      const res = await intake('reader', fields);
      expect([res.statusCode, res.json().code], JSON.stringify(fields)).toEqual([400, 'invalid_input']);
    }
    const json = await f.app.inject({ method: 'POST', url: '/v1/studies', headers: f.auth('reader'), payload: { modality: 'cxr' } });
    expect([json.statusCode, json.json().code]).toEqual([415, 'unsupported_media_type']);
    const raw = await f.app.inject({ method: 'POST', url: '/v1/studies', headers: { ...f.auth('reader'), 'content-type': 'image/png' }, payload: png });
    expect(raw.statusCode).toBe(415);
    const noFile = multipartBody([], { modality: 'cxr' });
    expect(
      (await f.app.inject({ method: 'POST', url: '/v1/studies', headers: { ...f.auth('reader'), ...noFile.headers }, payload: noFile.payload })).statusCode,
    ).toBe(400);
  });

  it('dataset origin: all three fields, ml-engineer/admin only; the truth is shown to them alone', async () => {
    const origin = { datasetVersion: 'ds-0123456789abcdef0123', datasetSha256: 'a'.repeat(64), truthClass: 'lung-covid' };
    const res = await intake('engineer', { modality: 'cxr', ...origin });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ source: 'dataset', datasetVersion: origin.datasetVersion, truthClass: 'lung-covid' });
    const id = res.json().id as string;
    expect((await f.app.inject({ method: 'GET', url: `/v1/studies/${id}`, headers: f.auth('adjudicator') })).json()).not.toHaveProperty('truthClass');
    expect((await f.app.inject({ method: 'GET', url: `/v1/studies/${id}`, headers: f.auth('admin') })).json()).toMatchObject({ truthClass: 'lung-covid' });

    const reader = await intake('reader', { modality: 'cxr', ...origin });
    expect([reader.statusCode, reader.json().code]).toEqual([403, 'forbidden']);
    const partial = await intake('admin', { modality: 'cxr', datasetVersion: origin.datasetVersion });
    expect([partial.statusCode, partial.json().message]).toEqual([400, expect.stringMatching(/go together/)]);
    const wrongClass = await intake('admin', { modality: 'oct', ...origin });
    expect([wrongClass.statusCode, wrongClass.json().message]).toEqual([400, expect.stringMatching(/not a oct class/)]);
  });

  it('a failed model read still registers the study (it will be double-read)', async () => {
    f.model.next(new Error('serving down'));
    const s = (await intake('admin')).json();
    expect(s).toMatchObject({ status: 'awaiting_a', model: null });
    expect(s.reads).not.toHaveProperty('model');
  });
});

describe('GET /v1/studies/:id', () => {
  it('400 for a malformed id, 404 for an unknown one', async () => {
    expect((await f.app.inject({ method: 'GET', url: '/v1/studies/..%2Fetc', headers: f.auth() })).statusCode).toBe(400);
    const res = await f.app.inject({ method: 'GET', url: '/v1/studies/st_nope', headers: f.auth() });
    expect([res.statusCode, res.json().code]).toEqual([404, 'not_found']);
    expect((await f.app.inject({ method: 'GET', url: '/v1/studies/st_nope/image', headers: f.auth() })).statusCode).toBe(404);
    expect((await f.app.inject({ method: 'GET', url: '/v1/studies/st_nope/audit', headers: f.auth('admin') })).statusCode).toBe(404);
  });

  it('the adjudicator sees the model read before read A; the reader sees it after committing', async () => {
    f.model.next(modelRead('lung-covid', 0.7));
    const id = (await intake('reader')).json().id as string;
    const adj = (await f.app.inject({ method: 'GET', url: `/v1/studies/${id}`, headers: f.auth('adjudicator') })).json();
    expect(adj).toMatchObject({
      blinded: false,
      model: { name: 'cxr-oct', version: 1 },
      reads: { model: { label: 'lung-covid', top: { class: 'lung-covid', probability: 0.7 } } },
    });
    expect(adj.reads.model.predictions).toHaveLength(5);
    const read = await postRead(f.app, f.auth('reader'), id, 'lung-normal');
    expect(read.statusCode).toBe(200);
    expect(read.json()).toMatchObject({
      status: 'awaiting_b',
      blinded: false,
      reads: { A: { label: 'lung-normal' }, model: { label: 'lung-covid' } },
      decision: { decision: 'second_read' },
    });
  });
});

describe('POST /v1/studies/:id/reads', () => {
  it('400 for a label outside the modality or a bad body', async () => {
    const id = (await intake('reader')).json().id as string;
    for (const payload of [{ label: 'oct-cnv' }, { label: '' }, {}, { label: 'lung-normal', extra: 1 }, { label: 7 }]) {
      const res = await f.app.inject({ method: 'POST', url: `/v1/studies/${id}/reads`, headers: f.auth('reader'), payload });
      expect([res.statusCode, res.json().code], JSON.stringify(payload)).toEqual([400, 'invalid_input']);
    }
  });
});

describe('GET /v1/studies', () => {
  it('newest first, filtered by status, paged with before', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await intake('admin', { modality: 'oct' })).json().id as string);
    const all = (await f.app.inject({ method: 'GET', url: '/v1/studies?limit=500', headers: f.auth('engineer') })).json().studies as {
      id: string;
      createdAt: string;
    }[];
    const sorted = [...all].sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id));
    expect(all.map((s) => s.id)).toEqual(sorted.map((s) => s.id));
    expect(all.slice(0, 3).map((s) => s.id)).toEqual([...ids].reverse());
    const page1 = (await f.app.inject({ method: 'GET', url: '/v1/studies?limit=2', headers: f.auth('admin') })).json().studies as { id: string }[];
    const page2 = (await f.app.inject({ method: 'GET', url: `/v1/studies?limit=2&before=${page1[1]!.id}`, headers: f.auth('admin') })).json().studies as {
      id: string;
    }[];
    expect([...page1, ...page2].map((s) => s.id)).toEqual(all.slice(0, 4).map((s) => s.id));
    const waitingB = (await f.app.inject({ method: 'GET', url: '/v1/studies?status=awaiting_b', headers: f.auth('adjudicator') })).json().studies as {
      status: string;
    }[];
    expect(waitingB.length).toBeGreaterThan(0);
    expect(waitingB.every((s) => s.status === 'awaiting_b')).toBe(true);
    for (const q of ['status=done', 'limit=0', 'limit=501', 'before=..', 'sort=asc']) {
      expect((await f.app.inject({ method: 'GET', url: `/v1/studies?${q}`, headers: f.auth('admin') })).statusCode, q).toBe(400);
    }
  });
});

describe('GET /v1/studies/:id/audit', () => {
  it('the study’s entries in seq order, linked by their hashes', async () => {
    const id = (await intake('reader')).json().id as string;
    await postRead(f.app, f.auth('reader'), id, 'lung-normal');
    const res = await f.app.inject({ method: 'GET', url: `/v1/studies/${id}/audit`, headers: f.auth('adjudicator') });
    expect(res.statusCode).toBe(200);
    const entries = res.json().entries as {
      seq: number;
      event: string;
      studyId: string;
      actor: string;
      prevHash: string;
      hash: string;
      payload: Record<string, unknown>;
    }[];
    expect(entries.map((e) => e.event)).toEqual(['study.intake', 'read.model', 'read.A', 'decision']);
    expect(entries.every((e) => e.studyId === id)).toBe(true);
    expect(entries.map((e) => e.seq)).toEqual([...entries.map((e) => e.seq)].sort((a, b) => a - b));
    expect(entries[0]).toMatchObject({ actor: 'user:rita', payload: { modality: 'cxr', imageSha256: expect.stringMatching(/^[0-9a-f]{64}$/) } });
    expect(entries[1]!.payload).toMatchObject({ model: 'cxr-oct', top: { class: 'lung-normal' } });
    expect(entries[3]!.payload).toMatchObject({ decision: 'second_read', reasons: ['no_policy'], qaDraw: 0.99 });
  });
});
