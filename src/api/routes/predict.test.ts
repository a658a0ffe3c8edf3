import { once } from 'node:events';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { SecondreadError } from '../../core/errors.js';
import { grayPng, rgbJpeg, truncated } from '../../data/images/testing.js';
import { FAKE_CLASSES, FAKE_DETECTOR, FAKE_DETECTOR_CLASSES } from '../testing/fakes.js';
import { type ApiFixture, openApiFixture } from '../testing/fixture.js';
import { multipartBody, pngHeaderClaiming } from '../testing/http.js';

const MAX_UPLOAD = 256 * 1024;
let f: ApiFixture;
let png: Buffer;
let jpeg: Buffer;
beforeAll(async () => {
  f = await openApiFixture({ limits: { maxUploadBytes: MAX_UPLOAD, maxImagePixels: 4096 * 4096, maxBatchFiles: 4 } });
  png = await grayPng(40, 30, (x, y) => (x * 7 + y * 3) % 256);
  jpeg = await rgbJpeg(24, 24, (x) => x * 10);
});
afterAll(async () => {
  await f.close();
});

const url = '/v1/models/cxr/predict';

function expectError(res: { statusCode: number; json(): unknown; body: string; headers: Record<string, unknown> }, status: number, code: string): void {
  expect({ status: res.statusCode, body: res.json() }).toMatchObject({
    status,
    body: { code, message: expect.any(String), requestId: res.headers['x-request-id'] },
  });
  expect(res.body).not.toMatch(/\n\s+at |node_modules|\.ts:\d+/);
}

describe('POST /v1/models/:name/predict', () => {
  it("a detector answers boxes in the original image's pixels (single and batch); the OpenAPI document describes both shapes", async () => {
    const res = await f.app.inject({
      method: 'POST',
      url: `/v1/models/${FAKE_DETECTOR}/predict`,
      headers: { ...f.auth(), 'content-type': 'image/png' },
      payload: png,
    });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body).toEqual({
      model: FAKE_DETECTOR,
      version: 2,
      route: 'production',
      task: 'detect',
      detections: [{ class: FAKE_DETECTOR_CLASSES[0], score: expect.any(Number), box: [0, 0, 20, 15] }],
      image: { width: 40, height: 30 },
      latencyMs: 1.5,
      requestId: res.headers['x-request-id'],
    });
    expect(body.predictions).toBeUndefined();
    const mp = multipartBody([
      { bytes: png, filename: 'a.png', type: 'image/png' },
      { bytes: jpeg, filename: 'b.jpg', type: 'image/jpeg' },
    ]);
    const batch = await f.app.inject({
      method: 'POST',
      url: `/v1/models/${FAKE_DETECTOR}/predict/batch`,
      headers: { ...f.auth(), ...mp.headers },
      payload: mp.payload,
    });
    expect(batch.statusCode, batch.body).toBe(200);
    expect(
      batch
        .json()
        .results.map((r: { index: number; filename: string; task: string; image: unknown; detections: { box: number[] }[] }) => [
          r.index,
          r.filename,
          r.task,
          r.image,
          r.detections[0]!.box,
        ]),
    ).toEqual([
      [0, 'a.png', 'detect', { width: 40, height: 30 }, [0, 0, 20, 15]],
      [1, 'b.jpg', 'detect', { width: 24, height: 24 }, [0, 0, 12, 12]],
    ]);
    const doc = (await f.app.inject({ method: 'GET', url: '/docs/json' })).json();
    const schema = JSON.stringify(doc.paths['/v1/models/{name}/predict'].post.responses['200']);
    expect(schema).toContain('"detections"');
    expect(schema).toContain('"predictions"');
    expect(JSON.stringify(doc.paths['/v1/models/{name}/predict/batch'].post.responses['200'])).toContain('"detections"');
  });

  it('scores a multipart upload: model, version, all classes by probability, top, latency, request id', async () => {
    const mp = multipartBody([{ bytes: png, filename: 'chest.png', type: 'image/png' }]);
    const ok = await f.app.inject({ method: 'POST', url, headers: { ...f.auth(), ...mp.headers }, payload: mp.payload });
    expect(ok.statusCode).toBe(200);
    const body = ok.json();
    expect(body).toMatchObject({ model: 'cxr', version: 2, route: 'production', latencyMs: 1.5, requestId: ok.headers['x-request-id'] });
    expect(body.predictions.map((p: { class: string }) => p.class).sort()).toEqual([...FAKE_CLASSES].sort());
    expect(body.top).toEqual(body.predictions[0]);
    const probs = body.predictions.map((p: { probability: number }) => p.probability);
    expect(probs).toEqual([...probs].sort((a, b) => b - a));
    expect(probs.reduce((a: number, b: number) => a + b, 0)).toBeCloseTo(1, 6);
    const call = f.serving.calls.at(-1)!;
    expect(call).toMatchObject({ method: 'predictImages', name: 'cxr', images: 1, options: { requestId: ok.headers['x-request-id'] } });
    expect((call.options as { signal?: unknown }).signal).toBeInstanceOf(AbortSignal);
  });

  it('takes the raw body (PNG, JPEG, octet-stream), judged by its bytes', async () => {
    for (const [type, bytes] of [
      ['image/png', png],
      ['image/jpeg', jpeg],
      ['application/octet-stream', jpeg],
      ['image/png', jpeg],
    ] as const) {
      const res = await f.app.inject({ method: 'POST', url, headers: { ...f.auth(), 'content-type': type }, payload: bytes });
      expect(res.statusCode, type).toBe(200);
    }
  });

  it('passes version, alias and study id through; refuses both version and alias', async () => {
    const send = (q: string) => f.app.inject({ method: 'POST', url: `${url}?${q}`, headers: { ...f.auth(), 'content-type': 'image/png' }, payload: png });
    expect((await send('version=1')).json()).toMatchObject({ version: 1, route: 'version' });
    expect(f.serving.calls.at(-1)!.options).toMatchObject({ version: 1 });
    expect((await send('alias=canary&studyId=1.2.840.113619.2.55')).json()).toMatchObject({ route: 'alias' });
    expect(f.serving.calls.at(-1)!.options).toMatchObject({ alias: 'canary', studyId: '1.2.840.113619.2.55' });
    expectError(await send('version=1&alias=production'), 400, 'invalid_input');
    expectError(await send('version=0'), 400, 'invalid_input');
    expectError(await send('version=two'), 400, 'invalid_input');
    expectError(await send('alias=latest'), 400, 'invalid_input');
    expectError(await send('studyId=../../etc'), 400, 'invalid_input');
    expectError(await send('model=other'), 400, 'invalid_input');
    expectError(await send('version=7'), 404, 'not_found');
  });

  it('validates the model name and reports an unknown model as 404', async () => {
    for (const name of ['CXR', '..', 'a..b', '-x', 'x'.repeat(64), '%2e%2e%2fetc']) {
      const res = await f.app.inject({
        method: 'POST',
        url: `/v1/models/${name}/predict`,
        headers: { ...f.auth(), 'content-type': 'image/png' },
        payload: png,
      });
      expect([400, 404], name).toContain(res.statusCode);
      if (res.statusCode === 400) expectError(res, 400, 'invalid_input');
    }
    expectError(
      await f.app.inject({ method: 'POST', url: '/v1/models/no-such-model/predict', headers: { ...f.auth(), 'content-type': 'image/png' }, payload: png }),
      404,
      'not_found',
    );
  });

  it('refuses what is not a PNG or JPEG by its magic bytes (415), whatever the header says', async () => {
    const gif = Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;', 'binary');
    for (const [type, bytes] of [
      ['image/png', Buffer.from('hello, this is not an image')],
      ['application/octet-stream', gif],
      ['image/jpeg', Buffer.from([0xff, 0xd8])],
    ] as const) {
      expectError(await f.app.inject({ method: 'POST', url, headers: { ...f.auth(), 'content-type': type }, payload: bytes }), 415, 'unsupported_media_type');
    }
    const mp = multipartBody([{ bytes: Buffer.from('%PDF-1.4 …'), filename: 'x.png', type: 'image/png' }]);
    expectError(await f.app.inject({ method: 'POST', url, headers: { ...f.auth(), ...mp.headers }, payload: mp.payload }), 415, 'unsupported_media_type');
  });

  it('refuses content types it does not take (415) and JSON bodies', async () => {
    expectError(
      await f.app.inject({ method: 'POST', url, headers: { ...f.auth(), 'content-type': 'image/gif' }, payload: png }),
      415,
      'unsupported_media_type',
    );
    expectError(
      await f.app.inject({ method: 'POST', url, headers: { ...f.auth(), 'content-type': 'text/plain' }, payload: 'abc' }),
      415,
      'unsupported_media_type',
    );
    const json = await f.app.inject({ method: 'POST', url, headers: f.auth(), payload: { file: 'abc' } });
    expect([400, 415]).toContain(json.statusCode);
    expect(json.json()).toMatchObject({ requestId: expect.any(String) });
  });

  it('an empty body or a multipart form without `file` is 400', async () => {
    expectError(
      await f.app.inject({ method: 'POST', url, headers: { ...f.auth(), 'content-type': 'image/png' }, payload: Buffer.alloc(0) }),
      400,
      'invalid_input',
    );
    const mp = multipartBody([], { note: 'no file' });
    expectError(await f.app.inject({ method: 'POST', url, headers: { ...f.auth(), ...mp.headers }, payload: mp.payload }), 400, 'invalid_input');
    const wrongField = multipartBody([{ bytes: png, field: 'image' }]);
    expectError(
      await f.app.inject({ method: 'POST', url, headers: { ...f.auth(), ...wrongField.headers }, payload: wrongField.payload }),
      400,
      'invalid_input',
    );
  });

  it('refuses uploads over the size limit (413), raw or multipart', async () => {
    const big = Buffer.concat([png, Buffer.alloc(MAX_UPLOAD)]);
    expectError(await f.app.inject({ method: 'POST', url, headers: { ...f.auth(), 'content-type': 'image/png' }, payload: big }), 413, 'payload_too_large');
    const mp = multipartBody([{ bytes: big }]);
    expectError(await f.app.inject({ method: 'POST', url, headers: { ...f.auth(), ...mp.headers }, payload: mp.payload }), 413, 'payload_too_large');
  });

  it('refuses a header declaring too many pixels before decoding (422 image_too_large)', async () => {
    for (const [w, h] of [
      [5000, 5000],
      [100_000, 100_000],
    ] as const) {
      const res = await f.app.inject({ method: 'POST', url, headers: { ...f.auth(), 'content-type': 'image/png' }, payload: pngHeaderClaiming(w, h) });
      expectError(res, 422, 'image_too_large');
      expect(res.json().details).toMatchObject({ width: w, height: h });
    }
  });

  it('a truncated or corrupt image is 422 invalid_image, never a 500', async () => {
    const bigger = await grayPng(300, 300, (x, y) => (x * y) % 251);
    expectError(
      await f.app.inject({ method: 'POST', url, headers: { ...f.auth(), 'content-type': 'image/png' }, payload: truncated(bigger) }),
      422,
      'invalid_image',
    );
    const corrupt = Buffer.from(bigger);
    for (let i = 60; i < corrupt.length - 20; i += 7) corrupt[i] = corrupt[i]! ^ 0x5a;
    expectError(await f.app.inject({ method: 'POST', url, headers: { ...f.auth(), 'content-type': 'image/png' }, payload: corrupt }), 422, 'invalid_image');
  });

  it('maps serving errors: queue full → 503 with Retry-After', async () => {
    f.serving.before = async () => {
      throw new SecondreadError('queue_full', 'the model queue is full', 503, { retryAfterSeconds: 0.2 });
    };
    try {
      const res = await f.app.inject({ method: 'POST', url, headers: { ...f.auth(), 'content-type': 'image/png' }, payload: png });
      expectError(res, 503, 'queue_full');
      expect(res.headers['retry-after']).toBe('1');
    } finally {
      f.serving.before = undefined;
    }
  });

  it('needs a token; any role may predict', async () => {
    expectError(await f.app.inject({ method: 'POST', url, headers: { 'content-type': 'image/png' }, payload: png }), 401, 'unauthenticated');
    for (const role of ['reader', 'adjudicator', 'engineer', 'admin'] as const) {
      expect((await f.app.inject({ method: 'POST', url, headers: { ...f.auth(role), 'content-type': 'image/png' }, payload: png })).statusCode).toBe(200);
    }
  });
});

describe('POST /v1/models/:name/predict/batch', () => {
  const batchUrl = '/v1/models/cxr/predict/batch';

  it('scores several files in upload order, in one serving call', async () => {
    const mp = multipartBody([
      { bytes: png, filename: 'a.png' },
      { bytes: jpeg, filename: 'b.jpg' },
      { bytes: png, filename: 'c.png' },
    ]);
    const res = await f.app.inject({ method: 'POST', url: `${batchUrl}?studyId=S1`, headers: { ...f.auth(), ...mp.headers }, payload: mp.payload });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.requestId).toBe(res.headers['x-request-id']);
    expect(body.results.map((r: { index: number; filename: string }) => [r.index, r.filename])).toEqual([
      [0, 'a.png'],
      [1, 'b.jpg'],
      [2, 'c.png'],
    ]);
    expect(body.results[0].predictions).toEqual(body.results[2].predictions);
    expect(body.results[1]).toMatchObject({ model: 'cxr', version: 2, top: body.results[1].predictions[0] });
    expect(f.serving.calls.at(-1)).toMatchObject({ method: 'predictImages', images: 3, options: { studyId: 'S1' } });
  });

  it('one file is a batch of one', async () => {
    const mp = multipartBody([{ bytes: png }]);
    const res = await f.app.inject({ method: 'POST', url: batchUrl, headers: { ...f.auth(), ...mp.headers }, payload: mp.payload });
    expect(res.statusCode).toBe(200);
    expect(res.json().results).toHaveLength(1);
  });

  it('names the bad file of a batch; nothing is scored', async () => {
    const before = f.serving.calls.length;
    const mp = multipartBody([{ bytes: png }, { bytes: Buffer.from('not an image') }]);
    const res = await f.app.inject({ method: 'POST', url: batchUrl, headers: { ...f.auth(), ...mp.headers }, payload: mp.payload });
    expectError(res, 415, 'unsupported_media_type');
    expect(res.json().details).toMatchObject({ index: 1 });
    expect(f.serving.calls.length).toBe(before);
  });

  it('more files than allowed is 413; a raw body is 415', async () => {
    const mp = multipartBody(Array.from({ length: 5 }, () => ({ bytes: png })));
    expectError(await f.app.inject({ method: 'POST', url: batchUrl, headers: { ...f.auth(), ...mp.headers }, payload: mp.payload }), 413, 'payload_too_large');
    expectError(
      await f.app.inject({ method: 'POST', url: batchUrl, headers: { ...f.auth(), 'content-type': 'image/png' }, payload: png }),
      415,
      'unsupported_media_type',
    );
  });

  it('a malformed multipart body is a 4xx, never a 500', async () => {
    const bodies = [
      Buffer.from('--x\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\nabc'),
      Buffer.from('garbage without boundaries'),
      Buffer.alloc(0),
    ];
    for (const payload of bodies) {
      const res = await f.app.inject({ method: 'POST', url: batchUrl, headers: { ...f.auth(), 'content-type': 'multipart/form-data; boundary=x' }, payload });
      expect(res.statusCode).toBeGreaterThanOrEqual(400);
      expect(res.statusCode).toBeLessThan(500);
      expect(res.json()).toMatchObject({ code: expect.any(String), requestId: expect.any(String) });
    }
  });
});

describe('a client that goes away', () => {
  it('aborts the signal handed to serving', async () => {
    let seen: AbortSignal | undefined;
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    f.serving.before = async ({ signal }) => {
      seen = signal;
      entered();
      await new Promise((resolve) => signal!.addEventListener('abort', resolve, { once: true }));
      throw new SecondreadError('client_gone', 'client went away', 499);
    };
    await f.app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const { port } = f.app.server.address() as { port: number };
      const ctrl = new AbortController();
      const req = fetch(`http://127.0.0.1:${port}${url}`, {
        method: 'POST',
        headers: { ...f.auth(), 'content-type': 'image/png' },
        body: png,
        signal: ctrl.signal,
      }).catch((e: Error) => e);
      await inside;
      expect(seen!.aborted).toBe(false);
      ctrl.abort();
      expect(await req).toBeInstanceOf(Error);
      if (!seen!.aborted) await once(seen!, 'abort');
      expect(seen!.aborted).toBe(true);
    } finally {
      f.serving.before = undefined;
    }
  });
});
