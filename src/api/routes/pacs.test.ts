// GET /v1/pacs/exports and POST /v1/pacs/exports/:id/retry over HTTP, on the real export store: listing
// by status (the dead letters), camelCase fields, roles, retry of a dead export, 409 for a sent one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { PacsExportStore } from '../../gateway/exports-store.js';
import { type ApiFixture, openApiFixture } from '../testing/fixture.js';

let f: ApiFixture;
let store: PacsExportStore;
const NOW = '2026-01-02T03:04:05.000Z';

beforeAll(async () => {
  f = await openApiFixture({ deps: { pacs: { list: (o) => store.list(o), retry: (id) => store.retry(id, NOW) } } });
  store = new PacsExportStore(f.tracking.t.db);
  const base = { kind: 'model-result' as const, studyId: 'st_1', auditSeq: 4, payload: { kind: 'model-result' } };
  await store.record(
    [
      { ...base, node: 'orthanc', sopInstanceUid: '2.25.1', status: 'pending' },
      { ...base, node: 'archive', sopInstanceUid: '2.25.1', status: 'pending' },
      { ...base, node: 'other', sopInstanceUid: null, status: 'skipped', reason: 'no origin' },
    ],
    0,
    4,
    '2026-01-01T00:00:00.000Z',
  );
  const rows = await store.list();
  await store.markSent(rows.find((r) => r.node === 'orthanc')!.id, 1, '2026-01-01T00:00:01.000Z');
  await store.markFailed(rows.find((r) => r.node === 'archive')!.id, 5, 'association rejected', null, '2026-01-01T00:00:02.000Z');
});
afterAll(async () => {
  await f.close();
});

describe('pacs exports', () => {
  it('lists exports and the dead letters, camelCase', async () => {
    const all = await f.app.inject({ method: 'GET', url: '/v1/pacs/exports', headers: f.auth('engineer') });
    expect(all.statusCode).toBe(200);
    expect(all.json().exports).toHaveLength(3);
    const dead = (await f.app.inject({ method: 'GET', url: '/v1/pacs/exports?status=dead', headers: f.auth('admin') })).json().exports;
    expect(dead).toEqual([
      {
        id: expect.stringMatching(/^px_/),
        node: 'archive',
        kind: 'model-result',
        studyId: 'st_1',
        auditSeq: 4,
        sopInstanceUid: '2.25.1',
        status: 'dead',
        attempts: 5,
        nextAttemptAt: null,
        lastError: 'association rejected',
        createdAt: '2026-01-01T00:00:00.000Z',
        updatedAt: '2026-01-01T00:00:02.000Z',
        sentAt: null,
      },
    ]);
    const skipped = (await f.app.inject({ method: 'GET', url: '/v1/pacs/exports?status=skipped&studyId=st_1', headers: f.auth('admin') })).json().exports;
    expect(skipped).toEqual([expect.objectContaining({ node: 'other', sopInstanceUid: null, lastError: 'no origin' })]);
  });

  it('retries a dead export; 409 for a sent one, 404 for an unknown one, 400 for a bad status', async () => {
    const dead = (await store.list({ status: 'dead' }))[0]!;
    const r = await f.app.inject({ method: 'POST', url: `/v1/pacs/exports/${dead.id}/retry`, headers: f.auth('admin') });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ id: dead.id, status: 'pending', attempts: 0, nextAttemptAt: NOW });
    const sent = (await store.list({ status: 'sent' }))[0]!;
    expect((await f.app.inject({ method: 'POST', url: `/v1/pacs/exports/${sent.id}/retry`, headers: f.auth('admin') })).statusCode).toBe(409);
    expect((await f.app.inject({ method: 'POST', url: '/v1/pacs/exports/px_nope/retry', headers: f.auth('admin') })).statusCode).toBe(404);
    expect((await f.app.inject({ method: 'GET', url: '/v1/pacs/exports?status=lost', headers: f.auth('admin') })).statusCode).toBe(400);
  });

  it('is for ml-engineers and admins', async () => {
    expect((await f.app.inject({ method: 'GET', url: '/v1/pacs/exports' })).statusCode).toBe(401);
    expect((await f.app.inject({ method: 'GET', url: '/v1/pacs/exports', headers: f.auth('reader') })).statusCode).toBe(403);
    expect((await f.app.inject({ method: 'POST', url: '/v1/pacs/exports/px_abc/retry', headers: f.auth('adjudicator') })).statusCode).toBe(403);
  });
});
