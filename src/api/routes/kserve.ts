// The KServe v2 / Open Inference Protocol (the one Triton speaks) over HTTP/JSON, so standard
// clients work unchanged: server and model health, model metadata, and `infer` with FP32 tensors
// (already preprocessed NCHW input in, logits out; a detector answers four tensors in TensorRT
// EfficientNMS's layout, boxes in input pixels: serving/detections.ts, docs/serving.md). Versions are strings in this protocol. Errors
// keep the protocol's `{error}` body and add our stable `code` and `request_id`.
// Triton's binary tensor data extension is supported too (kserve-binary.ts), as tritonclient uses it
// by default.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import { ValidationError } from '../../core/errors.js';
import { clientSignal } from '../client-signal.js';
import { BinaryTensorReader, encodeBinaryResponse, HEADER_LENGTH, parseInferBody } from '../kserve-binary.js';
import { errorResponses, KSERVE_ERROR_ID, modelNameSchema } from '../schemas.js';
import type { Wire } from '../type-provider.js';
import type { ServingPort } from '../types.js';

export interface KServeRoutesOptions {
  serving: ServingPort;
  /** True once shutdown began: server readiness fails. */
  draining: () => boolean;
  serverName: string;
  serverVersion: string;
  /** Largest number of tensor elements one infer request may carry. */
  maxTensorElements: number;
}

const versionParam = { type: 'string', pattern: '^[1-9][0-9]{0,8}$', description: 'model version (a positive integer, as a string)' } as const;
const modelParams = { type: 'object', required: ['name'], properties: { name: modelNameSchema } } as const;
const versionedParams = { type: 'object', required: ['name', 'version'], properties: { name: modelNameSchema, version: versionParam } } as const;

const metadataTensor = {
  type: 'object',
  required: ['name', 'datatype', 'shape'],
  properties: { name: { type: 'string' }, datatype: { type: 'string' }, shape: { type: 'array', items: { type: 'integer' } } },
} as const;

const modelMetadata = {
  type: 'object',
  required: ['name', 'versions', 'platform', 'inputs', 'outputs'],
  properties: {
    name: { type: 'string' },
    versions: { type: 'array', items: { type: 'string' } },
    platform: { type: 'string' },
    inputs: { type: 'array', items: metadataTensor },
    outputs: { type: 'array', items: metadataTensor },
    parameters: {
      type: 'object',
      description:
        'secondread extras: the version these tensors describe, the task (`classify`: one logits output; `detect`: num_detections, detection_boxes, detection_scores, detection_classes) and the class names (of each logit, or of each detection_classes index)',
      properties: {
        model_version: { type: 'string' },
        task: { type: 'string', enum: ['classify', 'detect'] },
        classes: { type: 'array', items: { type: 'string' } },
      },
    },
  },
} as const;

const inferBody = {
  type: 'object',
  required: ['inputs'],
  properties: {
    id: { type: 'string', maxLength: 256 },
    parameters: { type: 'object', additionalProperties: true },
    inputs: {
      type: 'array',
      minItems: 1,
      maxItems: 1,
      items: {
        type: 'object',
        required: ['name', 'shape', 'datatype'],
        description: '`data` (JSON), or `parameters.binary_data_size` with the bytes after the JSON header (binary tensor extension)',
        properties: {
          name: { type: 'string', maxLength: 256 },
          shape: { type: 'array', minItems: 1, maxItems: 8, items: { type: 'integer', minimum: 1, maximum: 1_000_000 } },
          datatype: { type: 'string', maxLength: 16 },
          parameters: { type: 'object', additionalProperties: true },
          data: { type: 'array', description: 'row-major values, flat or nested as the shape' },
        },
      },
    },
    outputs: {
      type: 'array',
      maxItems: 8,
      description: 'the outputs wanted (default: all the model has); a classifier has one, a detector four',
      items: {
        type: 'object',
        required: ['name'],
        properties: { name: { type: 'string', maxLength: 256 }, parameters: { type: 'object', additionalProperties: true } },
      },
    },
  },
} as const;

// The request types, from the schemas (the routes register with these; their replies may be binary).
type Params = Wire<typeof modelParams> & Partial<Wire<typeof versionedParams>>;
type InferBody = Wire<typeof inferBody>;

const inferResponse = {
  type: 'object',
  required: ['model_name', 'model_version', 'id', 'outputs'],
  properties: {
    model_name: { type: 'string' },
    model_version: { type: 'string' },
    id: { type: 'string' },
    outputs: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'shape', 'datatype', 'data'],
        properties: {
          name: { type: 'string' },
          shape: { type: 'array', items: { type: 'integer' } },
          datatype: { type: 'string', description: 'FP32 (logits, detection boxes and scores) or INT32 (num_detections, detection_classes)' },
          data: { type: 'array', items: { type: 'number' } },
        },
      },
    },
  },
} as const;

const readyBody = { type: 'object', required: ['ready'], properties: { name: { type: 'string' }, ready: { type: 'boolean' } } } as const;

export async function kserveRoutes(app: FastifyInstance, opts: KServeRoutesOptions): Promise<void> {
  const { serving } = opts;
  const errors = errorResponses([400, 401, 403, 404, 413, 415, 422, 499, 500, 503, 504], KSERVE_ERROR_ID);
  const tags = ['kserve-v2'];
  const pub = { auth: 'public' as const, kserve: true };
  const authed = { kserve: true };

  app.get(
    '/v2',
    {
      config: authed,
      schema: {
        tags,
        summary: 'Server metadata',
        response: {
          200: {
            type: 'object',
            required: ['name', 'version', 'extensions'],
            properties: { name: { type: 'string' }, version: { type: 'string' }, extensions: { type: 'array', items: { type: 'string' } } },
          },
          ...errors,
        },
      },
    },
    async () => ({
      name: opts.serverName,
      version: opts.serverVersion,
      extensions: [],
    }),
  );

  app.get(
    '/v2/health/live',
    { config: pub, schema: { tags, summary: 'Server live (200)', response: { 200: { type: 'object', properties: { live: { type: 'boolean' } } } } } },
    async () => ({ live: true }),
  );

  // The protocol: 200 means ready, a 4xx means not ready.
  app.get(
    '/v2/health/ready',
    { config: pub, schema: { tags, summary: 'Server ready (200) or not (400)', response: { 200: readyBody, 400: readyBody } } },
    async (_request, reply) => {
      const ready = !opts.draining() && (await serving.isReady());
      return reply.code(ready ? 200 : 400).send({ ready });
    },
  );

  // 400 is both "not ready" (the protocol's answer) and "invalid request" on these two routes.
  const notReadyOrInvalid = { anyOf: [readyBody, { $ref: `${KSERVE_ERROR_ID}#` }] };
  const modelReady = async (name: string, version: number | undefined, reply: FastifyReply) => {
    const ready = await serving.isReady(name, version);
    return reply.code(ready ? 200 : 400).send({ name, ready });
  };
  app.get<{ Params: Params }>(
    '/v2/models/:name/ready',
    {
      config: authed,
      schema: { tags, summary: 'Model ready (200) or not (400)', params: modelParams, response: { ...errors, 200: readyBody, 400: notReadyOrInvalid } },
    },
    async (request, reply) => modelReady(request.params.name, undefined, reply),
  );
  app.get<{ Params: Params }>(
    '/v2/models/:name/versions/:version/ready',
    {
      config: authed,
      schema: {
        tags,
        summary: 'Model version ready (200) or not (400)',
        params: versionedParams,
        response: { ...errors, 200: readyBody, 400: notReadyOrInvalid },
      },
    },
    async (request, reply) => modelReady(request.params.name, Number(request.params.version), reply),
  );

  const metadata = async (name: string, version: number | undefined) => {
    const d = await serving.describe(name, version);
    return {
      name: d.name,
      versions: d.versions.map(String),
      platform: d.platform,
      inputs: d.inputs,
      outputs: d.outputs,
      parameters: { model_version: String(d.version), task: d.task, classes: d.classes },
    };
  };
  app.get<{ Params: Params }>(
    '/v2/models/:name',
    {
      config: authed,
      schema: {
        tags,
        summary: 'Model metadata (the production version when no version is named)',
        params: modelParams,
        response: { 200: modelMetadata, ...errors },
      },
    },
    async (request) => metadata(request.params.name, undefined),
  );
  app.get<{ Params: Params }>(
    '/v2/models/:name/versions/:version',
    { config: authed, schema: { tags, summary: 'Model version metadata', params: versionedParams, response: { 200: modelMetadata, ...errors } } },
    async (request) => metadata(request.params.name, Number(request.params.version)),
  );

  // Every body is read as bytes and split into the JSON header and the binary tensors (if any):
  // Triton clients send binary requests with any Content-Type, or none.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (request, body, done) => {
    try {
      done(null, parseInferBody(request, body as Buffer));
    } catch (err) {
      done(err as Error, undefined);
    }
  });

  const infer = async (request: FastifyRequest<{ Params: Params; Body: InferBody }>, reply: FastifyReply, version: number | undefined) => {
    const { name } = request.params;
    const body = request.body;
    const input = body.inputs[0]!;
    if (input.datatype !== 'FP32')
      throw new ValidationError(`input '${input.name}' has datatype ${input.datatype}; this server takes FP32`, { datatype: input.datatype });
    const d = await serving.describe(name, version);
    const expected = d.inputs[0];
    if (expected && input.name !== expected.name)
      throw new ValidationError(`unknown input '${input.name}': the model's input is '${expected.name}'`, { input: input.name, expected: expected.name });
    const names = d.outputs.map((o) => o.name);
    const wanted = body.outputs ?? [];
    for (const w of wanted)
      if (!names.includes(w.name))
        throw new ValidationError(`unknown output '${w.name}': the model's outputs are ${names.map((n) => `'${n}'`).join(', ')}`, {
          output: w.name,
          expected: names,
        });
    if (new Set(wanted.map((w) => w.name)).size !== wanted.length) throw new ValidationError('an output is asked for twice');

    const count = input.shape.reduce((a, b) => a * b, 1);
    if (count > opts.maxTensorElements)
      throw new ValidationError(`tensor of shape [${input.shape.join(', ')}] has ${count} elements, over the ${opts.maxTensorElements}-element limit`, {
        shape: input.shape,
      });
    const binary = BinaryTensorReader.of(request);
    let data: Float32Array;
    if (input.parameters?.binary_data_size !== undefined) data = binary.fp32(input.name, input.parameters.binary_data_size, count);
    else if (input.data !== undefined) data = flattenTensor(input.data, input.shape, opts.maxTensorElements);
    else throw new ValidationError(`input '${input.name}' has neither data nor parameters.binary_data_size`);
    binary.finish();

    const out = await serving.infer(name, { data, shape: input.shape }, { version, signal: clientSignal(reply) });
    const header = { model_name: name, model_version: String(out.version), id: body.id ?? request.id };
    // The outputs asked for, in the order asked (all, in the model's order, when none is named).
    const chosen =
      wanted.length > 0 ? wanted.map((w) => ({ w, o: out.outputs.find((o) => o.name === w.name)! })) : out.outputs.map((o) => ({ w: undefined, o }));
    // Per output, `binary_data` decides; without it, the request-wide `binary_data_output`.
    // Any output asking for binary data makes the whole answer binary (every tensor after the JSON header).
    const binaryOut = chosen.some(({ w }) => (w?.parameters?.binary_data ?? body.parameters?.binary_data_output ?? false) === true);
    if (binaryOut) {
      const meta = chosen.map(({ o }) => ({ name: o.name, shape: o.shape, datatype: o.datatype }));
      const { body: payload, headerLength } = encodeBinaryResponse(
        { ...header, outputs: meta },
        chosen.map(({ o }) => o.data),
      );
      return reply.header(HEADER_LENGTH, String(headerLength)).type('application/octet-stream').send(payload);
    }
    return { ...header, outputs: chosen.map(({ o }) => ({ name: o.name, shape: o.shape, datatype: o.datatype, data: Array.from(o.data) })) };
  };
  const inferSchema = (params: object, summary: string) => ({
    tags,
    summary,
    description:
      "JSON tensors, or Triton's binary tensor extension: a JSON header of `Inference-Header-Content-Length` bytes followed by the raw FP32 tensors (then the answer comes back the same way when an output asks for `binary_data`).",
    consumes: ['application/json', 'application/octet-stream'],
    params,
    body: inferBody,
    response: { 200: inferResponse, ...errors },
  });
  app.post<{ Params: Params; Body: InferBody }>(
    '/v2/models/:name/infer',
    { config: authed, schema: inferSchema(modelParams, 'Inference (the production version)') },
    async (request, reply) => infer(request, reply, undefined),
  );
  app.post<{ Params: Params; Body: InferBody }>(
    '/v2/models/:name/versions/:version/infer',
    { config: authed, schema: inferSchema(versionedParams, 'Inference on one version') },
    async (request, reply) => infer(request, reply, Number(request.params.version)),
  );
}

/**
 * The tensor's values as FP32, row-major. The protocol allows flat or nested (one array level per
 * dimension) data; either way the element count must equal the shape's product and every value
 * must be a finite number.
 */
export function flattenTensor(data: unknown[], shape: number[], maxElements: number): Float32Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count > maxElements)
    throw new ValidationError(`tensor of shape [${shape.join(', ')}] has ${count} elements, over the ${maxElements}-element limit`, { shape, maxElements });
  const out = new Float32Array(count);
  let n = 0;
  const walk = (v: unknown[], depth: number): void => {
    if (depth > shape.length) throw new ValidationError('tensor data is nested deeper than its shape');
    for (const x of v) {
      if (Array.isArray(x)) walk(x, depth + 1);
      else {
        if (typeof x !== 'number' || !Number.isFinite(x))
          throw new ValidationError(`tensor data must be finite numbers (FP32); found ${JSON.stringify(x)?.slice(0, 40)} at element ${n}`);
        if (n >= count) throw new ValidationError(`tensor data has more than the ${count} elements its shape [${shape.join(', ')}] holds`, { shape });
        out[n++] = x;
      }
    }
  };
  walk(data, 1);
  if (n !== count) throw new ValidationError(`tensor data has ${n} elements but its shape [${shape.join(', ')}] holds ${count}`, { shape, elements: n });
  return out;
}
