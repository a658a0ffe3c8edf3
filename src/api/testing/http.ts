// What route tests send: multipart bodies, a decompression-bomb PNG header, a study posted and read
// over HTTP, and races of two adjudicators on the same studies. No vitest import.
import { crc32 } from 'node:zlib';

import type { FastifyInstance } from 'fastify';

import { grayPng } from '../../data/images/testing.js';
import type { ApiFixture } from './fixture.js';

/** POST /v1/studies with `headers` (a token) and a small PNG (or `bytes`): the response. */
export async function postStudy(
  app: FastifyInstance,
  headers: Record<string, string>,
  fields: Record<string, string> = { modality: 'cxr' },
  bytes?: Uint8Array,
) {
  const body = multipartBody([{ bytes: bytes ?? (await grayPng(16, 16, (x, y) => (x * 7 + y * 3) % 256)) }], fields);
  return app.inject({ method: 'POST', url: '/v1/studies', headers: { ...headers, ...body.headers }, payload: body.payload });
}

/** POST /v1/studies/:id/reads with `headers` (a token): the response. */
export function postRead(app: FastifyInstance, headers: Record<string, string>, id: string, label: string) {
  return app.inject({ method: 'POST', url: `/v1/studies/${encodeURIComponent(id)}/reads`, headers, payload: { label } });
}

/**
 * `races` studies sent to reader B (A disagrees with the model), each then adjudicated by two
 * adjudicators at once over HTTP — the second one through `otherApp` when given (another API process
 * on its own connection pool). Per race: both statuses (sorted) and the loser's code; per study, how
 * many B reads and `read.B` audit entries the database holds.
 */
export async function adjudicationRaces(
  f: ApiFixture,
  races: number,
  otherApp: FastifyInstance = f.app,
): Promise<{ statuses: number[][]; loserCodes: string[]; readsB: number[]; auditB: number[] }> {
  const second = { authorization: `Bearer ${(await f.users.addUser({ name: `adjudicator-${Date.now().toString(36)}`, role: 'adjudicator' })).token}` };
  const ids: string[] = [];
  for (let i = 0; i < races; i++) {
    const id = (await postStudy(f.app, f.auth('admin'))).json<{ id: string }>().id;
    const a = await postRead(f.app, f.auth('reader'), id, 'lung-covid');
    if (a.json<{ status: string }>().status !== 'awaiting_b') throw new Error(`study ${id} did not go to B: ${a.body}`);
    ids.push(id);
  }
  const out = { statuses: [] as number[][], loserCodes: [] as string[], readsB: [] as number[], auditB: [] as number[] };
  for (const id of ids) {
    const rs = await Promise.all([postRead(f.app, f.auth('adjudicator'), id, 'lung-covid'), postRead(otherApp, second, id, 'lung-normal')]);
    out.statuses.push(rs.map((r) => r.statusCode).sort());
    out.loserCodes.push(...rs.filter((r) => r.statusCode !== 200).map((r) => r.json<{ code: string }>().code));
    const db = f.tracking.t.db;
    out.readsB.push((await db.selectFrom('reads').select('label').where('study_id', '=', id).where('reader', '=', 'B').execute()).length);
    out.auditB.push((await db.selectFrom('audit_log').select('seq').where('study_id', '=', id).where('event', '=', 'read.B').execute()).length);
  }
  return out;
}

/** A multipart/form-data body with files (all in parts named `file` unless named). */
export function multipartBody(
  files: { bytes: Uint8Array; filename?: string; field?: string; type?: string }[],
  fields: Record<string, string> = {},
): { payload: Buffer; headers: Record<string, string> } {
  const boundary = `----secondread${Math.random().toString(16).slice(2)}`;
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(fields)) parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  for (const f of files) {
    parts.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${f.field ?? 'file'}"; filename="${f.filename ?? 'image.png'}"\r\nContent-Type: ${f.type ?? 'application/octet-stream'}\r\n\r\n`,
      ),
    );
    parts.push(Buffer.from(f.bytes));
    parts.push(Buffer.from('\r\n'));
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(parts), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

/** A PNG whose IHDR claims `width`×`height` (CRC fixed up) with almost no data: a decompression-bomb header. */
export function pngHeaderClaiming(width: number, height: number): Buffer {
  const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // grayscale
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  return Buffer.concat([
    sig,
    chunk('IHDR', ihdr),
    chunk('IDAT', Buffer.from([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
