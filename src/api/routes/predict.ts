// POST /v1/models/:name/predict and /predict/batch: images in (multipart `file` fields or one raw
// PNG/JPEG/DICOM body), class probabilities out — or, for a detector, boxes in the original image's pixels. Each image passes the input rules (size, magic bytes,
// header pixel count) before serving decodes it; the request's AbortSignal follows the client.
import multipart, { type MultipartFile } from '@fastify/multipart';
import type { FastifyInstance } from 'fastify';

import { SecondreadError, ValidationError } from '../../core/errors.js';
import { isDetectResult, type ModelAnswer } from '../../serving/types.js';
import { clientSignal } from '../client-signal.js';
import { UnsupportedMediaTypeError } from '../errors.js';
import { checkImage } from '../image-input.js';
import { isMultipartFile, readMultipartForm } from '../multipart-form.js';
import { aliasSchema, classProbabilitySchema, detectionSchema, errorResponses, modelNameSchema, studyIdSchema, versionSchema } from '../schemas.js';
import { typed, type Wire } from '../type-provider.js';
import type { ApiLimits, ServingPort } from '../types.js';

export interface PredictRoutesOptions {
  serving: ServingPort;
  limits: ApiLimits;
}

/** Raw bodies the predict routes accept; the bytes decide the real type. */
export const RAW_IMAGE_TYPES = ['image/png', 'image/jpeg', 'application/dicom', 'application/octet-stream'] as const;

const paramsSchema = { type: 'object', additionalProperties: false, required: ['name'], properties: { name: modelNameSchema } } as const;
const querySchema = {
  type: 'object',
  additionalProperties: false,
  properties: { version: versionSchema, alias: aliasSchema, studyId: studyIdSchema },
  not: { required: ['version', 'alias'] },
  description: 'default: the `production` alias (canary and shadow rules apply only then)',
} as const;
type Query = Wire<typeof querySchema>;

const predictionProperties = {
  model: { type: 'string' },
  version: { type: 'integer' },
  route: { type: 'string', enum: ['production', 'canary', 'alias', 'version'], description: 'which deployment answered' },
  predictions: { type: 'array', items: classProbabilitySchema, description: 'every class, most probable first' },
  top: classProbabilitySchema,
  latencyMs: { type: 'number', description: 'time in the serving runtime (decode, queue, compute)' },
} as const;

/** A detector's answer for one image (serving/types.ts DetectResult, without requestId). */
const detectionProperties = {
  model: predictionProperties.model,
  version: predictionProperties.version,
  route: predictionProperties.route,
  task: { type: 'string', enum: ['detect'], description: "present on a detector's answer only" },
  detections: { type: 'array', items: detectionSchema, description: "best first, at most the model's maxDetections; empty: no finding" },
  image: {
    type: 'object',
    additionalProperties: false,
    required: ['width', 'height'],
    properties: { width: { type: 'integer' }, height: { type: 'integer' } },
    description: 'the original image size: the frame of the boxes',
  },
  latencyMs: predictionProperties.latencyMs,
} as const;

const classificationResponse = {
  type: 'object',
  additionalProperties: false,
  required: ['model', 'version', 'route', 'predictions', 'top', 'latencyMs', 'requestId'],
  properties: { ...predictionProperties, requestId: { type: 'string' } },
} as const;

const detectionResponse = {
  type: 'object',
  additionalProperties: false,
  required: ['model', 'version', 'route', 'task', 'detections', 'image', 'latencyMs', 'requestId'],
  properties: { ...detectionProperties, requestId: { type: 'string' } },
} as const;

/** A classifier answers probabilities, a detector boxes (`task: detect`). */
const predictResponse = { anyOf: [classificationResponse, detectionResponse] } as const;

const batchResponse = {
  type: 'object',
  additionalProperties: false,
  required: ['results', 'requestId'],
  properties: {
    results: {
      type: 'array',
      description: 'one result per file, in upload order',
      items: {
        anyOf: [
          {
            type: 'object',
            additionalProperties: false,
            required: ['index', 'model', 'version', 'route', 'predictions', 'top', 'latencyMs'],
            properties: { index: { type: 'integer' }, filename: { type: 'string' }, ...predictionProperties },
          },
          {
            type: 'object',
            additionalProperties: false,
            required: ['index', 'model', 'version', 'route', 'task', 'detections', 'image', 'latencyMs'],
            properties: { index: { type: 'integer' }, filename: { type: 'string' }, ...detectionProperties },
          },
        ],
      },
    },
    requestId: { type: 'string' },
  },
} as const;

/**
 * Body schemas per media type. Fresh objects per call: the file keywords rewrite their schema to
 * `string/binary` for the OpenAPI document when compiled, so one object must not be compiled twice.
 */
function bodySchema(batch: boolean, maxFiles: number) {
  const raw = () => ({ schema: { binaryBody: true, description: 'the image itself (PNG or JPEG; the bytes decide, not the header)' } });
  const file = batch
    ? {
        anyOf: [{ isFile: true }, { type: 'array', items: { isFile: true }, minItems: 1, maxItems: maxFiles }],
        description: `1-${maxFiles} PNG/JPEG files, each in a part named \`file\``,
      }
    : { isFile: true, description: 'a PNG or JPEG file' };
  return {
    content: {
      'multipart/form-data': { schema: { type: 'object', required: ['file'], properties: { file } } },
      ...(batch ? {} : Object.fromEntries(RAW_IMAGE_TYPES.map((t) => [t, raw()]))),
    },
  };
}

export async function predictRoutes(fastify: FastifyInstance, opts: PredictRoutesOptions): Promise<void> {
  const app = typed(fastify);
  const { serving, limits } = opts;
  await app.register(multipart, {
    limits: { fileSize: limits.maxUploadBytes, files: limits.maxBatchFiles, fields: 8, fieldSize: 1024, parts: limits.maxBatchFiles + 8, headerPairs: 64 },
  });
  app.addHook('preValidation', readMultipartForm);
  // Only images (and multipart forms of them) here: JSON or text is a 415, not a confusing 400.
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser([...RAW_IMAGE_TYPES], { parseAs: 'buffer', bodyLimit: limits.maxUploadBytes }, (_req, body, done) => done(null, body));

  const errors = errorResponses([400, 401, 403, 404, 413, 415, 422, 499, 500, 503, 504]);

  app.post(
    '/v1/models/:name/predict',
    {
      schema: {
        tags: ['predict'],
        summary: 'Classify one image, or find boxes in it (a detector)',
        description:
          "Send the image as a multipart `file` field or as the raw request body (`Content-Type: image/png`, `image/jpeg`, `application/dicom` or `application/octet-stream`). DICOM is decoded with its own window; nothing of it is stored. A classifier answers `predictions` and `top`; a detector answers `task: detect` and `detections` with boxes in the original image's pixels.",
        consumes: ['multipart/form-data', ...RAW_IMAGE_TYPES],
        params: paramsSchema,
        querystring: querySchema,
        body: bodySchema(false, 1),
        response: { 200: predictResponse, ...errors },
      },
    },
    async (request, reply) => {
      const bytes = await singleImage(request.body);
      await checkImage(bytes, limits);
      const [r] = await serving.predictImages(request.params.name, [bytes], { ...ref(request.query), requestId: request.id, signal: clientSignal(reply) });
      return { ...answerBody(r!), requestId: request.id };
    },
  );

  app.post(
    '/v1/models/:name/predict/batch',
    {
      schema: {
        tags: ['predict'],
        summary: 'Classify several images (or find boxes in them) in one request',
        description: `Multipart form with 1-${limits.maxBatchFiles} parts named \`file\`. Every image is checked before any is scored; one bad image fails the request (details.index names it).`,
        consumes: ['multipart/form-data'],
        params: paramsSchema,
        querystring: querySchema,
        body: bodySchema(true, limits.maxBatchFiles),
        response: { 200: batchResponse, ...errors },
      },
    },
    async (request, reply) => {
      const files = multipartFiles(request.body);
      const images: Uint8Array[] = [];
      for (const [i, f] of files.entries()) {
        const bytes = await f.toBuffer();
        await withIndex(i, () => checkImage(bytes, limits, `file ${i + 1} (${f.filename || 'unnamed'})`));
        images.push(bytes);
      }
      const results = await serving.predictImages(request.params.name, images, { ...ref(request.query), requestId: request.id, signal: clientSignal(reply) });
      return { results: results.map((r, index) => ({ index, filename: files[index]?.filename ?? '', ...answerBody(r) })), requestId: request.id };
    },
  );
}

function ref(q: Query): { version?: number; alias?: string; studyId?: string } {
  return { version: q.version, alias: q.alias, studyId: q.studyId };
}

function answerBody(r: ModelAnswer) {
  if (isDetectResult(r))
    return { model: r.model, version: r.version, route: r.route, task: r.task, detections: r.detections, image: r.image, latencyMs: r.latencyMs };
  return { model: r.model, version: r.version, route: r.route, predictions: r.predictions, top: r.top, latencyMs: r.latencyMs };
}

async function singleImage(body: unknown): Promise<Buffer> {
  if (Buffer.isBuffer(body)) return body;
  const file = (body as { file?: unknown } | undefined)?.file;
  if (isMultipartFile(file)) return file.toBuffer();
  throw new ValidationError(
    'send the image as a multipart `file` field or as the raw body (image/png, image/jpeg, application/dicom, application/octet-stream)',
  );
}

function multipartFiles(body: unknown): MultipartFile[] {
  if (Buffer.isBuffer(body)) throw new UnsupportedMediaTypeError('a batch is a multipart/form-data body with one part named `file` per image');
  const field = (body as { file?: unknown } | undefined)?.file;
  const files = (Array.isArray(field) ? field : [field]).filter(isMultipartFile);
  if (files.length === 0) throw new ValidationError('send the images as multipart parts named `file`');
  return files;
}

/** Names the failing image of a batch in the error's details. */
async function withIndex<T>(index: number, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof SecondreadError) throw new SecondreadError(err.code, err.message, err.httpStatus, { ...err.details, index }, { cause: err });
    throw err;
  }
}
