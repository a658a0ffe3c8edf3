import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { FAKE_CLASSES, FAKE_DETECTOR, FAKE_DETECTOR_CLASSES } from '../testing/fakes.js';
import { type ApiFixture, openApiFixture } from '../testing/fixture.js';
import { flattenTensor } from './kserve.js';

let f: ApiFixture;
beforeAll(async () => {
  f = await openApiFixture({ limits: { maxUploadBytes: 64 * 1024 } });
});
afterAll(async () => {
  await f.close();
});

const tensor = (data: unknown, shape = [1, 1, 8, 8], extra: Record<string, unknown> = {}) => ({
  inputs: [{ name: 'pixels', shape, datatype: 'FP32', data, ...extra }],
});
const ramp = (n: number) => Array.from({ length: n }, (_, i) => i / n);

function expectKServeError(res: { statusCode: number; json(): unknown; headers: Record<string, unknown> }, status: number, code: string): void {
  expect(res.statusCode).toBe(status);
  expect(res.json()).toEqual({ error: expect.any(String), code, request_id: res.headers['x-request-id'] });
}

describe('KServe v2 health and metadata', () => {
  it('live and ready are public; ready follows serving (200 / 400)', async () => {
    expect((await f.app.inject({ method: 'GET', url: '/v2/health/live' })).json()).toEqual({ live: true });
    expect((await f.app.inject({ method: 'GET', url: '/v2/health/ready' })).statusCode).toBe(200);
    f.serving.ready = false;
    try {
      const res = await f.app.inject({ method: 'GET', url: '/v2/health/ready' });
      expect([res.statusCode, res.json()]).toEqual([400, { ready: false }]);
      expect((await f.app.inject({ method: 'GET', url: '/v2/models/cxr/ready', headers: f.auth() })).statusCode).toBe(400);
    } finally {
      f.serving.ready = true;
    }
    expect((await f.app.inject({ method: 'GET', url: '/v2/models/cxr/versions/1/ready', headers: f.auth() })).json()).toEqual({ name: 'cxr', ready: true });
    const unknown = await f.app.inject({ method: 'GET', url: '/v2/models/nope/ready', headers: f.auth() });
    expect([unknown.statusCode, unknown.json()]).toEqual([400, { name: 'nope', ready: false }]);
    expectKServeError(await f.app.inject({ method: 'GET', url: '/v2/models/cxr/versions/one/ready', headers: f.auth() }), 400, 'invalid_input');
  });

  it('server metadata', async () => {
    expect((await f.app.inject({ method: 'GET', url: '/v2', headers: f.auth() })).json()).toEqual({ name: 'secondread', version: '0.1.0', extensions: [] });
  });

  it('model metadata: versions as strings, tensors, the classes of the logits', async () => {
    const res = await f.app.inject({ method: 'GET', url: '/v2/models/cxr', headers: f.auth() });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      name: 'cxr',
      versions: ['1', '2'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'pixels', datatype: 'FP32', shape: [-1, 1, 8, 8] }],
      outputs: [{ name: 'logits', datatype: 'FP32', shape: [-1, 3] }],
      parameters: { model_version: '2', task: 'classify', classes: FAKE_CLASSES },
    });
    // A detector: four outputs in TensorRT EfficientNMS's layout (M = its maxDetections, 2 here).
    expect((await f.app.inject({ method: 'GET', url: `/v2/models/${FAKE_DETECTOR}`, headers: f.auth() })).json()).toMatchObject({
      outputs: [
        { name: 'num_detections', datatype: 'INT32', shape: [-1, 1] },
        { name: 'detection_boxes', datatype: 'FP32', shape: [-1, 2, 4] },
        { name: 'detection_scores', datatype: 'FP32', shape: [-1, 2] },
        { name: 'detection_classes', datatype: 'INT32', shape: [-1, 2] },
      ],
      parameters: { model_version: '2', task: 'detect', classes: FAKE_DETECTOR_CLASSES },
    });
    expect((await f.app.inject({ method: 'GET', url: '/v2/models/cxr/versions/1', headers: f.auth() })).json().parameters.model_version).toBe('1');
    expectKServeError(await f.app.inject({ method: 'GET', url: '/v2/models/cxr/versions/9', headers: f.auth() }), 404, 'not_found');
    expectKServeError(await f.app.inject({ method: 'GET', url: '/v2/models/cxr/versions/v1', headers: f.auth() }), 400, 'invalid_input');
    expectKServeError(await f.app.inject({ method: 'GET', url: '/v2/models/cxr' }), 401, 'unauthenticated');
  });
});

describe('POST /v2/models/:name/infer', () => {
  it('runs a flat FP32 tensor: output tensor, model version as a string, the request id echoed', async () => {
    const res = await f.app.inject({ method: 'POST', url: '/v2/models/cxr/infer', headers: f.auth(), payload: { id: 'client-42', ...tensor(ramp(64)) } });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    const sum = ramp(64).reduce((a, b) => a + b, 0);
    expect(body).toMatchObject({ model_name: 'cxr', model_version: '2', id: 'client-42', outputs: [{ name: 'logits', shape: [1, 3], datatype: 'FP32' }] });
    expect(body.outputs[0].data).toHaveLength(3);
    body.outputs[0].data.forEach((v: number, k: number) => expect(v).toBeCloseTo(sum * (k + 1), 4));
    expect(f.serving.calls.at(-1)).toMatchObject({ method: 'infer', name: 'cxr', options: { shape: [1, 1, 8, 8] } });
  });

  it('accepts nested data (one array level per dimension) and a batch; a versioned URL pins the version', async () => {
    const nested = [0, 1].map((n) => [Array.from({ length: 8 }, (_, y) => Array.from({ length: 8 }, (_, x) => (n + 1) * (y * 8 + x)))]);
    const res = await f.app.inject({
      method: 'POST',
      url: '/v2/models/cxr/versions/1/infer',
      headers: f.auth(),
      payload: { inputs: [{ name: 'pixels', shape: [2, 1, 8, 8], datatype: 'FP32', data: nested }], outputs: [{ name: 'logits' }] },
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ model_version: '1', id: res.headers['x-request-id'], outputs: [{ shape: [2, 3] }] });
    expect(body.outputs[0].data[3]).toBeCloseTo(2 * body.outputs[0].data[0], 3);
    expect(f.serving.calls.at(-1)!.options).toMatchObject({ version: 1 });
  });

  it('refuses malformed tensors with 400 in the protocol shape, never a 500', async () => {
    const cases: [string, unknown][] = [
      ['wrong datatype', { inputs: [{ name: 'pixels', shape: [1, 1, 8, 8], datatype: 'INT8', data: ramp(64) }] }],
      ['too few elements', tensor(ramp(63))],
      ['too many elements', tensor(ramp(65))],
      ['a string element', tensor([...ramp(63), 'x'])],
      ['a null element', tensor([...ramp(63), null])],
      ['nested deeper than the shape', tensor([[[[[0]]]]], [1, 1, 1, 1])],
      ['unknown input name', { inputs: [{ name: 'image', shape: [1, 1, 8, 8], datatype: 'FP32', data: ramp(64) }] }],
      ['unknown output name', { ...tensor(ramp(64)), outputs: [{ name: 'probabilities' }] }],
      ['binary data announced but not sent', tensor(undefined, [1, 1, 8, 8], { parameters: { binary_data_size: 256 } })],
      ['neither data nor binary', tensor(undefined)],
      ['no inputs', { inputs: [] }],
      ['two inputs', { inputs: [tensor(ramp(64)).inputs[0], tensor(ramp(64)).inputs[0]] }],
      ['zero dimension', tensor([], [0, 1, 8, 8])],
      ['negative dimension', tensor(ramp(64), [-1, 1, 8, 8])],
      ['not an object', [1, 2, 3]],
      ['inputs not an array', { inputs: 'pixels' }],
    ];
    for (const [what, payload] of cases) {
      const res = await f.app.inject({ method: 'POST', url: '/v2/models/cxr/infer', headers: f.auth(), payload: payload as object });
      expect(res.statusCode, what).toBe(400);
      expect(res.json(), what).toEqual({ error: expect.any(String), code: 'invalid_input', request_id: expect.any(String) });
    }
  });

  it('bad JSON, a wrong content type, an oversized body, an unknown model', async () => {
    expectKServeError(
      await f.app.inject({
        method: 'POST',
        url: '/v2/models/cxr/infer',
        headers: { ...f.auth(), 'content-type': 'application/json' },
        payload: '{"inputs": [',
      }),
      400,
      'invalid_input',
    );
    expectKServeError(
      await f.app.inject({ method: 'POST', url: '/v2/models/cxr/infer', headers: { ...f.auth(), 'content-type': 'application/json' }, payload: '' }),
      400,
      'invalid_input',
    );
    expectKServeError(
      await f.app.inject({
        method: 'POST',
        url: '/v2/models/cxr/infer',
        headers: { ...f.auth(), 'content-type': 'application/octet-stream', 'inference-header-content-length': '10' },
        payload: Buffer.alloc(20),
      }),
      400,
      'invalid_input',
    );
    expectKServeError(
      await f.app.inject({ method: 'POST', url: '/v2/models/cxr/infer', headers: { ...f.auth(), 'content-type': 'text/plain' }, payload: 'inputs=1' }),
      400,
      'invalid_input',
    );
    expectKServeError(
      await f.app.inject({ method: 'POST', url: '/v2/models/cxr/infer', headers: f.auth(), payload: tensor(ramp(20_000), [1, 1, 100, 200]) }),
      413,
      'payload_too_large',
    );
    expectKServeError(await f.app.inject({ method: 'POST', url: '/v2/models/absent/infer', headers: f.auth(), payload: tensor(ramp(64)) }), 404, 'not_found');
    expectKServeError(
      await f.app.inject({ method: 'POST', url: '/v2/models/Bad..Name/infer', headers: f.auth(), payload: tensor(ramp(64)) }),
      400,
      'invalid_input',
    );
    expectKServeError(await f.app.inject({ method: 'POST', url: '/v2/models/cxr/infer', payload: tensor(ramp(64)) }), 401, 'unauthenticated');
  });
});

describe('binary tensor data extension (tritonclient default)', () => {
  const fp32 = (values: number[]) => {
    const b = Buffer.alloc(values.length * 4);
    values.forEach((v, i) => b.writeFloatLE(v, i * 4));
    return b;
  };
  /** A binary request as tritonclient sends it: JSON header + raw tensor, no Content-Type. */
  const binaryRequest = (header: object, tensorBytes: Buffer, headers: Record<string, string> = {}) => {
    const json = Buffer.from(JSON.stringify(header));
    return { headers: { ...f.auth(), 'inference-header-content-length': String(json.length), ...headers }, payload: Buffer.concat([json, tensorBytes]) };
  };
  const header = (o: object = {}) => ({ inputs: [{ name: 'pixels', shape: [1, 1, 8, 8], datatype: 'FP32', parameters: { binary_data_size: 256 } }], ...o });

  it('binary in, binary out: the same numbers as the JSON form', async () => {
    const json = (await f.app.inject({ method: 'POST', url: '/v2/models/cxr/infer', headers: f.auth(), payload: tensor(ramp(64)) })).json();
    const req = binaryRequest(header({ outputs: [{ name: 'logits', parameters: { binary_data: true } }] }), fp32(ramp(64)));
    const res = await f.app.inject({ method: 'POST', url: '/v2/models/cxr/infer', ...req });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toBe('application/octet-stream');
    const n = Number(res.headers['inference-header-content-length']);
    const h = JSON.parse(res.rawPayload.subarray(0, n).toString('utf8'));
    expect(h).toMatchObject({
      model_name: 'cxr',
      model_version: '2',
      outputs: [{ name: 'logits', shape: [1, 3], datatype: 'FP32', parameters: { binary_data_size: 12 } }],
    });
    expect(h.outputs[0].data).toBeUndefined();
    const out = [0, 1, 2].map((i) => res.rawPayload.readFloatLE(n + i * 4));
    out.forEach((v, i) => expect(v).toBeCloseTo(json.outputs[0].data[i], 4));
    expect(res.rawPayload.length).toBe(n + 12);
  });

  it('binary in, JSON out (unless binary_data_output asks otherwise); any or no Content-Type', async () => {
    for (const extra of [{}, { 'content-type': 'application/octet-stream' }, { 'content-type': 'application/x-www-form-urlencoded' }] as Record<
      string,
      string
    >[]) {
      const res = await f.app.inject({ method: 'POST', url: '/v2/models/cxr/infer', ...binaryRequest(header(), fp32(ramp(64)), extra) });
      expect(res.statusCode, JSON.stringify(extra)).toBe(200);
      expect(res.json().outputs[0].data).toHaveLength(3);
    }
    const res = await f.app.inject({
      method: 'POST',
      url: '/v2/models/cxr/infer',
      ...binaryRequest(header({ parameters: { binary_data_output: true } }), fp32(ramp(64))),
    });
    expect(res.headers['content-type']).toBe('application/octet-stream');
  });

  it('refuses inconsistent binary requests with 400', async () => {
    const cases: [string, { headers: Record<string, string>; payload: Buffer }][] = [
      [
        'size does not match the shape',
        binaryRequest(header({ inputs: [{ name: 'pixels', shape: [1, 1, 8, 8], datatype: 'FP32', parameters: { binary_data_size: 200 } }] }), fp32(ramp(50))),
      ],
      ['binary part too short', binaryRequest(header(), fp32(ramp(60)))],
      ['bytes left over', binaryRequest(header(), fp32(ramp(65)))],
      ['NaN in the tensor', binaryRequest(header(), fp32([...ramp(63), Number.NaN]))],
      ['header length beyond the body', { headers: { ...f.auth(), 'inference-header-content-length': '99999' }, payload: Buffer.from('{}') }],
      ['header length not a number', { headers: { ...f.auth(), 'inference-header-content-length': '12abc' }, payload: Buffer.from('{}') }],
    ];
    for (const [what, req] of cases) {
      const res = await f.app.inject({ method: 'POST', url: '/v2/models/cxr/infer', ...req });
      expect(res.statusCode, what).toBe(400);
      expect(res.json(), what).toMatchObject({ error: expect.any(String), code: 'invalid_input' });
    }
  });
});

describe('KServe v2 infer on a detector', () => {
  const url = `/v2/models/${FAKE_DETECTOR}/infer`;
  it('answers the four detection tensors (JSON or binary, INT32 little-endian), or the ones asked for', async () => {
    const res = await f.app.inject({ method: 'POST', url, headers: f.auth(), payload: tensor(ramp(128), [2, 1, 8, 8]) });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().outputs).toEqual([
      { name: 'num_detections', shape: [2, 1], datatype: 'INT32', data: [1, 1] },
      { name: 'detection_boxes', shape: [2, 2, 4], datatype: 'FP32', data: [0, 0, 4, 4, 0, 0, 0, 0, 0, 0, 4, 4, 0, 0, 0, 0] },
      { name: 'detection_scores', shape: [2, 2], datatype: 'FP32', data: [0.5, 0, 0.5, 0] },
      { name: 'detection_classes', shape: [2, 2], datatype: 'INT32', data: [0, 0, 0, 0] },
    ]);
    const some = await f.app.inject({
      method: 'POST',
      url,
      headers: f.auth(),
      payload: { ...tensor(ramp(64)), outputs: [{ name: 'detection_classes' }, { name: 'num_detections', parameters: { binary_data: true } }] },
    });
    expect(some.statusCode, some.body).toBe(200);
    const n = Number(some.headers['inference-header-content-length']);
    const h = JSON.parse(some.rawPayload.subarray(0, n).toString('utf8'));
    expect(
      h.outputs.map((o: { name: string; datatype: string; parameters: { binary_data_size: number } }) => [o.name, o.datatype, o.parameters.binary_data_size]),
    ).toEqual([
      ['detection_classes', 'INT32', 8],
      ['num_detections', 'INT32', 4],
    ]);
    expect([some.rawPayload.readInt32LE(n), some.rawPayload.readInt32LE(n + 4), some.rawPayload.readInt32LE(n + 8)]).toEqual([0, 0, 1]);
    for (const outputs of [[{ name: 'logits' }], [{ name: 'detection_boxes' }, { name: 'detection_boxes' }]]) {
      const bad = await f.app.inject({ method: 'POST', url, headers: f.auth(), payload: { ...tensor(ramp(64)), outputs } });
      expectKServeError(bad, 400, 'invalid_input');
    }
  });
});

describe('flattenTensor', () => {
  it('keeps row-major order for flat and nested data, and enforces the element limit', () => {
    expect(
      Array.from(
        flattenTensor(
          [
            [1, 2, 3],
            [4, 5, 6],
          ],
          [2, 3],
          100,
        ),
      ),
    ).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(flattenTensor([1, 2, 3, 4, 5, 6], [2, 3], 100))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(() => flattenTensor([1, 2, 3, 4, 5, 6], [2, 3], 5)).toThrow(/over the 5-element limit/);
    expect(() => flattenTensor([1, Number.NaN], [2], 5)).toThrow(/finite numbers/);
  });
});
