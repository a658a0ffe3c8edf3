// Drift monitoring over HTTP (docs/drift.md): GET /v1/drift/checks lists the recorded checks (newest first, one model
// or all), GET /v1/drift/models/:name/profile summarizes the production version's reference profile, and
// POST /v1/drift/checks runs a check of a production window now. Reading is for the people who watch the model
// (adjudicators, ML engineers, admins); running a check is for ML engineers and admins.
import type { FastifyInstance } from 'fastify';

import { NotFoundError } from '../../core/errors.js';
import { DRIFT_TESTS } from '../../monitoring/drift/types.js';
import { parseWindow } from '../../monitoring/drift/window.js';
import { errorResponses, modelNameSchema } from '../schemas.js';
import { typed } from '../type-provider.js';
import type { DriftPort } from '../types.js';

export const DRIFT_READ_ROLES = ['adjudicator', 'ml-engineer', 'admin'] as const;
export const DRIFT_RUN_ROLES = ['ml-engineer', 'admin'] as const;

const num = { type: ['number', 'null'] } as const;
const testSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['test', 'statistic', 'pValue', 'adjustedPValue', 'detected'],
  properties: {
    test: { type: 'string', enum: [...DRIFT_TESTS] },
    statistic: { type: 'number' },
    pValue: { type: 'number' },
    adjustedPValue: { type: 'number', description: 'Holm-adjusted over the tests this check ran' },
    detected: { type: 'boolean' },
  },
} as const;

const checkSchema = {
  type: 'object',
  additionalProperties: false,
  required: [
    'id',
    'model',
    'version',
    'modality',
    'window',
    'alpha',
    'correction',
    'tests',
    'skipped',
    'detected',
    'estimatedAccuracy',
    'realizedAgreement',
    'agreementReads',
    'createdBy',
    'createdAt',
  ],
  properties: {
    id: { type: 'string' },
    model: { type: 'string' },
    version: { type: 'integer' },
    modality: { type: 'string', enum: ['cxr', 'oct', 'all'] },
    window: {
      type: 'object',
      additionalProperties: false,
      required: ['kind', 'start', 'end', 'observations'],
      properties: { kind: { type: 'string', enum: ['count', 'time'] }, start: { type: 'string' }, end: { type: 'string' }, observations: { type: 'integer' } },
    },
    alpha: { type: 'number' },
    correction: { type: 'string', enum: ['holm'] },
    tests: { type: 'array', items: testSchema },
    skipped: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['test', 'reason'],
        properties: { test: { type: 'string' }, reason: { type: 'string' } },
      },
    },
    detected: { type: 'boolean' },
    estimatedAccuracy: { ...num, description: 'CBPE: mean calibrated top-class probability of the window (label-free)' },
    realizedAgreement: { ...num, description: "share of the window's studies where reader A agreed with the model" },
    agreementReads: { type: 'integer' },
    createdBy: { type: 'string' },
    createdAt: { type: 'string' },
  },
} as const;

const countMap = { type: 'object', additionalProperties: { type: 'integer' } } as const;
const profileSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['model', 'version', 'datasetVersion', 'split', 'createdAt', 'embeddingDim', 'summary'],
  properties: {
    model: { type: 'string' },
    version: { type: 'integer' },
    datasetVersion: { type: 'string' },
    split: { type: 'string' },
    createdAt: { type: 'string' },
    embeddingDim: { type: ['integer', 'null'] },
    summary: {
      type: 'object',
      additionalProperties: false,
      required: ['images', 'accuracy', 'expectedAccuracy', 'modalityMix', 'predictedClasses', 'embeddings'],
      properties: {
        images: { type: 'integer' },
        accuracy: { type: 'number' },
        expectedAccuracy: { type: 'number' },
        modalityMix: countMap,
        predictedClasses: countMap,
        embeddings: { type: 'integer' },
      },
    },
  },
} as const;

export async function driftRoutes(fastify: FastifyInstance, opts: { drift: DriftPort }): Promise<void> {
  const app = typed(fastify);
  const tags = ['drift'];

  app.get(
    '/v1/drift/checks',
    {
      config: { auth: DRIFT_READ_ROLES },
      schema: {
        tags,
        summary: 'Recorded drift checks, newest first',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { model: modelNameSchema, limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 } },
        },
        response: {
          200: { type: 'object', additionalProperties: false, required: ['checks'], properties: { checks: { type: 'array', items: checkSchema } } },
          ...errorResponses([400, 401, 403, 500]),
        },
      },
    },
    async (request) => ({ checks: await opts.drift.checks({ model: request.query.model, limit: request.query.limit }) }),
  );

  app.get(
    '/v1/drift/models/:name/profile',
    {
      config: { auth: DRIFT_READ_ROLES },
      schema: {
        tags,
        summary: "The reference profile of the model's production version (else its latest)",
        params: { type: 'object', additionalProperties: false, required: ['name'], properties: { name: modelNameSchema } },
        response: { 200: profileSchema, ...errorResponses([400, 401, 403, 404, 500]) },
      },
    },
    async (request) => {
      const p = await opts.drift.profile(request.params.name);
      if (!p) throw new NotFoundError('drift profile of model', request.params.name);
      return p;
    },
  );

  app.post(
    '/v1/drift/checks',
    {
      config: { auth: DRIFT_RUN_ROLES },
      schema: {
        tags,
        summary: "Check a production window of a model against its version's reference profile now (recorded; an alarm when drift is detected)",
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['model'],
          properties: {
            model: modelNameSchema,
            version: { type: 'integer', minimum: 1 },
            window: { type: 'string', maxLength: 12, default: '200', description: 'the last N reads (e.g. 200) or a duration (30m, 24h, 7d)' },
            modality: { type: 'string', enum: ['cxr', 'oct', 'all'], default: 'all' },
            alpha: { type: 'number', exclusiveMinimum: 0, maximum: 0.49, default: 0.05 },
          },
        },
        response: { 201: checkSchema, ...errorResponses([400, 401, 403, 404, 409, 500]) },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const check = await opts.drift.check({
        model: b.model,
        version: b.version,
        window: parseWindow(b.window),
        modality: b.modality,
        alpha: b.alpha,
        by: request.user!.name,
      });
      return reply.code(201).send(check);
    },
  );
}
