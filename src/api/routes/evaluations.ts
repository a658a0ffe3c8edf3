// POST /v1/evaluations starts a background evaluation of a model version on one split of a dataset
// version (202 + its id); GET /v1/evaluations/:id reports its state and, once done, its figures.
// The dataset is named by its version id and looked up in the database: no path comes from input.
import type { FastifyInstance } from 'fastify';

import { NotFoundError } from '../../core/errors.js';
import { SPLITS } from '../../data/datasets/types.js';
import type { Evaluation } from '../../monitoring/evaluations/types.js';
import { aliasSchema, errorResponses, modelNameSchema, versionSchema } from '../schemas.js';
import { typed } from '../type-provider.js';
import type { EvaluationsPort } from '../types.js';

export interface EvaluationRoutesOptions {
  evaluations: EvaluationsPort;
}

export const EVALUATION_ROLES = ['ml-engineer', 'admin'] as const;

const createBody = {
  type: 'object',
  additionalProperties: false,
  required: ['model', 'datasetVersion', 'split'],
  properties: {
    model: modelNameSchema,
    version: versionSchema,
    alias: aliasSchema,
    datasetVersion: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$', description: 'dataset version id, or an unambiguous prefix of one' },
    split: { type: 'string', enum: [...SPLITS, 'final_eval'] },
  },
  not: { required: ['version', 'alias'] },
  description: 'Give `version` or `alias` (neither: the `production` alias).',
} as const;

const evaluationSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'jobId', 'model', 'version', 'datasetVersion', 'split', 'status', 'progress', 'createdBy', 'createdAt'],
  properties: {
    id: { type: 'string' },
    jobId: { type: 'string' },
    model: { type: 'string' },
    version: { type: 'integer' },
    datasetVersion: { type: 'string' },
    split: { type: 'string' },
    status: { type: 'string', enum: ['queued', 'running', 'succeeded', 'failed', 'cancelled'] },
    progress: { type: 'number' },
    images: { type: ['integer', 'null'] },
    accuracy: { type: ['number', 'null'] },
    macroF1: { type: ['number', 'null'] },
    report: {
      type: ['object', 'null'],
      additionalProperties: true,
      description: 'per-class precision/recall/F1/AUC/support, confusion matrix, ECE, reliability (once succeeded)',
    },
    error: { type: ['object', 'null'], additionalProperties: false, properties: { code: { type: 'string' }, message: { type: 'string' } } },
    createdBy: { type: 'string' },
    createdAt: { type: 'string' },
    finishedAt: { type: ['string', 'null'] },
  },
} as const;

function toBody(e: Evaluation) {
  return {
    id: e.id,
    jobId: e.jobId,
    model: e.model,
    version: e.version,
    datasetVersion: e.datasetVersion,
    split: e.split,
    status: e.status,
    progress: e.progress,
    images: e.images,
    accuracy: e.accuracy,
    macroF1: e.macroF1,
    // The stored report document, as JSON (its shape: EvaluationReport, docs/jobs.md).
    report: e.report as Record<string, unknown> | null,
    error: e.error,
    createdBy: e.createdBy,
    createdAt: e.createdAt,
    finishedAt: e.finishedAt,
  };
}

export async function evaluationRoutes(fastify: FastifyInstance, opts: EvaluationRoutesOptions): Promise<void> {
  const app = typed(fastify);
  const { evaluations } = opts;
  const tags = ['evaluations'];

  app.post(
    '/v1/evaluations',
    {
      config: { auth: EVALUATION_ROLES },
      schema: {
        tags,
        summary: 'Evaluate a model version on a dataset split (a background job)',
        body: createBody,
        response: { 202: evaluationSchema, ...errorResponses([400, 401, 403, 404, 500, 503]) },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const e = await evaluations.create({
        model: b.model,
        version: b.version,
        alias: b.alias,
        datasetVersion: b.datasetVersion,
        split: b.split,
        createdBy: request.user!.name,
      });
      return reply
        .code(202)
        .header('location', `/v1/evaluations/${encodeURIComponent(e.id)}`)
        .send(toBody(e));
    },
  );

  app.get(
    '/v1/evaluations/:id',
    {
      config: { auth: EVALUATION_ROLES },
      schema: {
        tags,
        summary: 'An evaluation: status, progress, and its figures once it succeeded',
        params: { type: 'object', additionalProperties: false, required: ['id'], properties: { id: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,128}$' } } },
        response: { 200: evaluationSchema, ...errorResponses([400, 401, 403, 404, 500]) },
      },
    },
    async (request) => {
      const e = await evaluations.get(request.params.id);
      if (!e) throw new NotFoundError('evaluation', request.params.id);
      return toBody(e);
    },
  );
}
