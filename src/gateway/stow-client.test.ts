// The STOW-RS client against a local HTTP server: what it posts (multipart/related of one application/dicom
// part, Accept, Authorization) and how it reads each answer — stored, stored with warnings, our instance
// failed, refused (not retryable), busy or down (retryable).
import { createServer, type IncomingMessage, type Server } from 'node:http';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { parseMultipartRelated } from '../data/dicom/multipart.js';
import { PacsSendError } from './errors.js';
import { stowRs } from './stow-client.js';

let server: Server;
let url: string;
let answer: { status: number; body?: unknown } = { status: 200 };
let seen: { url: string; headers: IncomingMessage['headers']; body: Buffer }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(answer.status, { 'content-type': 'application/dicom+json' });
      res.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}/dicom-web/`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const FILE = new Uint8Array([1, 2, 3, 4, 5, 6]);
const UID = '2.25.1234';
const failed = (uid: string, reason: number) => ({
  '00081198': { vr: 'SQ', Value: [{ '00081155': { vr: 'UI', Value: [uid] }, '00081197': { vr: 'US', Value: [reason] } }] },
});

async function failure(): Promise<PacsSendError> {
  try {
    await stowRs({ name: 'pacs', url }, FILE, UID);
  } catch (err) {
    return err as PacsSendError;
  }
  throw new Error('expected a failure');
}

describe('stowRs', () => {
  it('posts one application/dicom part to <url>/studies with the credentials', async () => {
    seen = [];
    answer = { status: 200, body: {} };
    expect(await stowRs({ name: 'pacs', url, auth: { basic: { user: 'u', password: 'p' } } }, FILE, UID)).toEqual({ status: 200 });
    const req = seen[0]!;
    expect(req.url).toBe('/dicom-web/studies');
    expect(req.headers.accept).toBe('application/dicom+json');
    expect(req.headers.authorization).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
    const { type, parts } = parseMultipartRelated(req.headers['content-type']!, req.body, { maxParts: 10, maxPartBytes: 1024 });
    expect(type.type).toBe('application/dicom');
    expect(parts).toHaveLength(1);
    expect(parts[0]!.contentType.type).toBe('application/dicom');
    expect([...parts[0]!.body]).toEqual([...FILE]);
    await stowRs({ name: 'pacs', url, auth: { bearer: 'tok' } }, FILE, UID);
    expect(seen[1]!.headers.authorization).toBe('Bearer tok');
  });

  it('202 is stored with warnings unless our instance failed', async () => {
    answer = { status: 202, body: { '00081196': { vr: 'US', Value: [0xb000] } } };
    expect(await stowRs({ name: 'pacs', url }, FILE, UID)).toEqual({ status: 202, warning: '0xB000' });
    answer = { status: 202, body: failed(UID, 0x0122) };
    const err = await failure();
    expect(err).toBeInstanceOf(PacsSendError);
    expect(err.message).toContain('failure reason 0x0122');
    expect(err.retryable).toBe(false);
  });

  it('a refusal is not retryable; busy, overloaded or out of resources is', async () => {
    answer = { status: 409, body: failed(UID, 0xc000) };
    expect((await failure()).retryable).toBe(false);
    answer = { status: 409, body: failed(UID, 0xa700) };
    expect((await failure()).retryable).toBe(true);
    answer = { status: 400, body: {} };
    expect((await failure()).retryable).toBe(false);
    for (const status of [408, 429, 500, 503]) {
      answer = { status };
      expect((await failure()).retryable, String(status)).toBe(true);
    }
  });

  it('credentials in the URL become Basic auth and never appear in an error; a network failure is retryable', async () => {
    seen = [];
    answer = { status: 200, body: {} };
    await stowRs({ name: 'pacs', url: url.replace('http://', 'http://user:pw@') }, FILE, UID);
    expect(seen[0]!.headers.authorization).toBe(`Basic ${Buffer.from('user:pw').toString('base64')}`);
    const err = await stowRs({ name: 'down', url: 'http://user:secret@127.0.0.1:1/dicom-web' }, FILE, UID).catch((e: PacsSendError) => e);
    expect(err).toBeInstanceOf(PacsSendError);
    expect((err as PacsSendError).retryable).toBe(true);
    expect((err as PacsSendError).message).not.toContain('secret');
  });
});
