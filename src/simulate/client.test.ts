import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { ApiCallError, ApiClient, loopbackBaseUrl, NotLoopbackError } from './client.js';

type Handler = (req: IncomingMessage & { body: Buffer }, res: ServerResponse) => void;

let server: Server | undefined;

/** A loopback HTTP server answering with `handler`; returns its base URL. */
async function serve(handler: Handler): Promise<string> {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handler(Object.assign(req, { body: Buffer.concat(chunks) }), res));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterEach(async () => {
  if (server) {
    server.closeAllConnections();
    await new Promise((r) => server!.close(r));
    server = undefined;
  }
});

const TOKEN = `sr_${'a'.repeat(43)}`;
const json = (res: ServerResponse, status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));

describe('loopbackBaseUrl', () => {
  it('accepts loopback addresses and normalizes the base', () => {
    expect(loopbackBaseUrl('http://127.0.0.1:8080/')).toBe('http://127.0.0.1:8080');
    expect(loopbackBaseUrl('http://127.1.2.3:80')).toBe('http://127.1.2.3');
    expect(loopbackBaseUrl('http://[::1]:9000')).toBe('http://[::1]:9000');
    expect(loopbackBaseUrl('http://localhost:9000/api/')).toBe('http://localhost:9000/api');
    expect(loopbackBaseUrl('https://127.0.0.1:8443')).toBe('https://127.0.0.1:8443');
  });

  it('refuses anything that is not loopback, with a message naming the rule', () => {
    for (const [url, why] of [
      ['http://10.0.0.5:8080', /10\.0\.0\.5 is not a loopback address/],
      ['http://0.0.0.0:8080', /0\.0\.0\.0 is not a loopback/],
      ['http://example.com', /example\.com is not a loopback/],
      ['http://127.0.0.1.nip.io', /not a loopback/],
      ['http://[::2]:80', /::2 is not a loopback/],
      ['http://[::ffff:10.0.0.1]:80', /not a loopback/],
      ['ftp://127.0.0.1', /protocol ftp: is not http/],
      ['http://u:p@127.0.0.1', /credentials/],
      ['http://127.0.0.1/?x=1', /no query/],
      ['127.0.0.1:8080', /protocol|not a URL/],
      ['not a url', /not a URL/],
    ] as const) {
      let caught: unknown;
      try {
        loopbackBaseUrl(url);
      } catch (err) {
        caught = err;
      }
      expect(caught, url).toBeInstanceOf(NotLoopbackError);
      expect((caught as Error).message, url).toMatch(why);
      expect((caught as NotLoopbackError).httpStatus).toBe(400);
    }
  });

  it('the client refuses a non-loopback base before sending anything', () => {
    let called = false;
    const fake = (async () => {
      called = true;
      return new Response('{}');
    }) as typeof fetch;
    expect(() => new ApiClient({ baseUrl: 'http://192.168.1.20:8080', token: TOKEN, fetch: fake })).toThrow(NotLoopbackError);
    expect(called).toBe(false);
  });
});

describe('ApiClient', () => {
  it('sends the study as multipart with the bearer token and the dataset origin fields', async () => {
    let seen: { method?: string; url?: string; auth?: string; type?: string; body?: string } = {};
    const base = await serve((req, res) => {
      seen = { method: req.method, url: req.url, auth: req.headers.authorization, type: req.headers['content-type'], body: req.body.toString('latin1') };
      json(res, 201, { id: 'st_1', status: 'awaiting_a' });
    });
    const client = new ApiClient({ baseUrl: base, token: TOKEN });
    const image = Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);
    const view = await client.createStudy({
      image,
      contentType: 'image/png',
      modality: 'cxr',
      dataset: { version: 'ds-abc', sha256: 'f'.repeat(64), truthClass: 'lung-covid' },
    });
    expect(view).toEqual({ id: 'st_1', status: 'awaiting_a' });
    expect(seen.method).toBe('POST');
    expect(seen.url).toBe('/v1/studies');
    expect(seen.auth).toBe(`Bearer ${TOKEN}`);
    expect(seen.type).toMatch(/^multipart\/form-data; boundary=/);
    for (const [name, value] of [
      ['modality', 'cxr'],
      ['priority', 'false'],
      ['datasetVersion', 'ds-abc'],
      ['datasetSha256', 'f'.repeat(64)],
      ['truthClass', 'lung-covid'],
    ]) {
      expect(seen.body).toMatch(new RegExp(`name="${name}"\\r\\n\\r\\n${value}\\r\\n`));
    }
    expect(seen.body).toContain(`name="file"; filename="image.png"\r\nContent-Type: image/png\r\n\r\n${image.toString('latin1')}\r\n`);
  });

  it('posts reads as JSON, fetches images and metrics with their query', async () => {
    const seen: { method?: string; url?: string; type?: string; body: string }[] = [];
    const base = await serve((req, res) => {
      seen.push({ method: req.method, url: req.url, type: req.headers['content-type'], body: req.body.toString() });
      if (req.url!.endsWith('/image')) return res.writeHead(200, { 'content-type': 'image/png' }).end(Buffer.from([1, 2, 3]));
      json(res, 200, { ok: true });
    });
    const client = new ApiClient({ baseUrl: `${base}/`, token: TOKEN });
    await client.commitRead('st_9', 'lung-normal');
    expect(await client.getStudyImage('st_9')).toEqual({ bytes: Buffer.from([1, 2, 3]), contentType: 'image/png' });
    await client.workflowMetrics('2026-01-01T00:00:00.000Z');
    await client.getStudy('st/../x');
    expect(seen).toEqual([
      { method: 'POST', url: '/v1/studies/st_9/reads', type: 'application/json', body: '{"label":"lung-normal"}' },
      { method: 'GET', url: '/v1/studies/st_9/image', type: undefined, body: '' },
      { method: 'GET', url: '/v1/workflow/metrics?since=2026-01-01T00%3A00%3A00.000Z', type: undefined, body: '' },
      { method: 'GET', url: '/v1/studies/st%2F..%2Fx', type: undefined, body: '' },
    ]);
  });

  it('turns the server’s JSON error into a message with its code and request id', async () => {
    const base = await serve((_req, res) =>
      json(res, 409, { code: 'illegal_transition', message: "study 'st_1' is adjudicated: read_b is not allowed", requestId: 'req_42' }),
    );
    const err = await new ApiClient({ baseUrl: base, token: TOKEN }).commitRead('st_1', 'lung-normal').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiCallError);
    expect((err as ApiCallError).message).toBe(
      "POST /v1/studies/st_1/reads → 409 illegal_transition: study 'st_1' is adjudicated: read_b is not allowed (request req_42)",
    );
    expect(err).toMatchObject({ status: 409, apiCode: 'illegal_transition', code: 'api_error', httpStatus: 502 });
  });

  it('says so when the answer is not a secondread error (another server on the port)', async () => {
    const base = await serve((_req, res) => res.writeHead(404, { 'content-type': 'text/html' }).end('<html>\n  <body>Not Found</body></html>'));
    const err = (await new ApiClient({ baseUrl: base, token: TOKEN }).workflowMetrics().catch((e: unknown) => e)) as ApiCallError;
    expect(err.message).toMatch(/^GET \/v1\/workflow\/metrics → 404 Not Found: <html> <body>Not Found<\/body><\/html> \(not a secondread JSON error/);
    expect(err.apiCode).toBe('bad_response');
  });

  it('names an unreachable server and a server that does not answer in time', async () => {
    const base = await serve(() => {
      /* never answers */
    });
    const slow = await new ApiClient({ baseUrl: base, token: TOKEN, timeoutMs: 150 }).getStudy('st_1').catch((e: unknown) => e);
    expect(slow).toMatchObject({ apiCode: 'timeout', status: 0, message: expect.stringMatching(/no answer from http:\/\/127\.0\.0\.1:\d+ within 0\.15 s/) });

    server!.closeAllConnections();
    await new Promise((r) => server!.close(r));
    server = undefined;
    const down = await new ApiClient({ baseUrl: base, token: TOKEN }).getStudy('st_1').catch((e: unknown) => e);
    expect(down).toMatchObject({ apiCode: 'unreachable', message: expect.stringMatching(/cannot reach .*ECONNREFUSED.*is the server running/) });
  });

  it('a cancelled request says cancelled', async () => {
    const base = await serve(() => {});
    const ctl = new AbortController();
    const p = new ApiClient({ baseUrl: base, token: TOKEN }).getStudy('st_1', ctl.signal).catch((e: unknown) => e);
    setTimeout(() => ctl.abort(), 20);
    expect(await p).toMatchObject({ apiCode: 'cancelled' });
  });
});
