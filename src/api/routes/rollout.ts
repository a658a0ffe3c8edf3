// The staged rollout over HTTP (docs/rollout.md): a model's canary — its status judged from the live guards, start,
// one gate step, rollback — and the change-protocol reports of its versions. Reading is for any signed-in user;
// starting, stepping and rolling back are for ML engineers and admins, recorded with the token's user in the audit
// trail exactly as `secondread rollout …` records them. Candidate evaluation takes minutes (it scores every locked
// split and times the serving runtime), so it runs in the CLI (`rollout evaluate`) or a job, not in a request.
import type { FastifyInstance } from 'fastify';

import type { RolloutService } from '../../rollout/index.js';
import { errorResponses, modelNameSchema, versionSchema } from '../schemas.js';
import { typedRequests } from '../type-provider.js';
import { ALIAS_CHANGE_ROLES } from './models.js';

export type RolloutPort = Pick<RolloutService, 'list' | 'status' | 'start' | 'step' | 'rollback' | 'reports' | 'report'>;

export interface RolloutRoutesOptions {
  rollout: RolloutPort;
}

const guardSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['guard', 'status', 'canary', 'production', 'message'],
  properties: {
    guard: { type: 'string', enum: ['agreement', 'qa_false_clear', 'error_rate', 'latency_p95'] },
    status: { type: 'string', enum: ['ok', 'degraded', 'insufficient'] },
    canary: { type: ['number', 'null'] },
    production: { type: ['number', 'null'] },
    message: { type: 'string' },
  },
} as const;

const judgementSchema = {
  type: ['object', 'null'],
  additionalProperties: false,
  required: ['decision', 'guards', 'waitingFor', 'reasons'],
  properties: {
    decision: { type: 'string', enum: ['advance', 'wait', 'rollback'] },
    guards: { type: 'array', items: guardSchema },
    waitingFor: { type: 'array', items: { type: 'string' } },
    reasons: { type: 'array', items: { type: 'string' } },
  },
} as const;

const rolloutSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'model', 'candidateVersion', 'baselineVersion', 'reportId', 'status', 'step', 'steps', 'weight', 'stepStartedAt', 'startedBy', 'createdAt'],
  properties: {
    id: { type: 'string' },
    model: { type: 'string' },
    candidateVersion: { type: 'integer' },
    baselineVersion: { type: 'integer', description: 'the production version the candidate is compared with and rolled back to' },
    reportId: { type: 'string', description: 'the passing change-protocol report that let the candidate in' },
    status: { type: 'string', enum: ['active', 'promoted', 'rolled_back'] },
    step: { type: 'integer' },
    steps: { type: 'array', items: { type: 'number' } },
    weight: { type: 'number', description: 'share of studies the canary gets now (0 once ended)' },
    stepStartedAt: { type: 'string' },
    lastJudgement: judgementSchema,
    endedReason: { type: ['string', 'null'] },
    startedBy: { type: 'string' },
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
    endedAt: { type: ['string', 'null'] },
  },
} as const;

const criterionSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['criterion', 'split', 'passed', 'summary'],
  properties: { criterion: { type: 'string' }, split: { type: ['string', 'null'] }, passed: { type: 'boolean' }, summary: { type: 'string' } },
} as const;

const reportSummarySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'model', 'version', 'baselineVersion', 'protocol', 'passed', 'failures', 'criteria', 'createdBy', 'createdAt'],
  properties: {
    id: { type: 'string' },
    model: { type: 'string' },
    version: { type: 'integer' },
    baselineVersion: { type: ['integer', 'null'] },
    protocol: {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'version', 'sha256'],
      properties: { name: { type: 'string' }, version: { type: 'integer' }, sha256: { type: 'string' } },
    },
    passed: { type: 'boolean' },
    failures: { type: 'array', items: { type: 'string' } },
    criteria: { type: 'array', items: criterionSchema },
    createdBy: { type: 'string' },
    createdAt: { type: 'string' },
  },
} as const;

const nameParams = { type: 'object', additionalProperties: false, required: ['name'], properties: { name: modelNameSchema } } as const;
const statusResponse = {
  type: 'object',
  additionalProperties: false,
  required: ['rollout', 'judgement'],
  properties: { rollout: rolloutSchema, judgement: judgementSchema },
} as const;
const changeErrors = errorResponses([400, 401, 403, 404, 409, 500]);

export async function rolloutRoutes(fastify: FastifyInstance, opts: RolloutRoutesOptions): Promise<void> {
  const app = typedRequests(fastify);
  const { rollout } = opts;
  const tags = ['rollout'];

  app.get(
    '/v1/rollouts',
    {
      schema: {
        tags,
        summary: 'Rollouts, newest first (at most 200), optionally of one model',
        querystring: { type: 'object', additionalProperties: false, properties: { model: modelNameSchema } },
        response: {
          200: { type: 'object', additionalProperties: false, required: ['rollouts'], properties: { rollouts: { type: 'array', items: rolloutSchema } } },
          ...errorResponses([400, 401, 403, 500]),
        },
      },
    },
    async (request) => ({ rollouts: await rollout.list(request.query.model) }),
  );

  app.get(
    '/v1/models/:name/rollout',
    {
      schema: {
        tags,
        summary: "A model's active rollout (else its newest) with its step judged from the live guards now (nothing is changed)",
        params: nameParams,
        response: { 200: statusResponse, ...errorResponses([400, 401, 403, 404, 500]) },
      },
    },
    async (request) => rollout.status(request.params.name),
  );

  app.post(
    '/v1/models/:name/rollout',
    {
      config: { auth: ALIAS_CHANGE_ROLES },
      schema: {
        tags,
        summary: 'Start the canary of a candidate (default: the staging version) against production',
        description:
          'Needs a passing change-protocol report of that version, a policy of its own, a production version and no active rollout of the model (409). `canary` then points at the candidate with the first step’s share.',
        params: nameParams,
        body: { type: ['object', 'null'], additionalProperties: false, properties: { version: versionSchema } },
        response: { 200: rolloutSchema, ...changeErrors },
      },
    },
    async (request) => rollout.start({ model: request.params.name, version: request.body?.version }, { by: request.user!.name }),
  );

  app.post(
    '/v1/models/:name/rollout/step',
    {
      config: { auth: ALIAS_CHANGE_ROLES },
      schema: {
        tags,
        summary: 'Judge the active step now and act: advance, promote at the last step, roll back on degradation, or wait',
        description: 'The server’s gate does the same every 15 s; this is for not waiting. 409 when the model has no active rollout.',
        params: nameParams,
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: ['action', 'rollout', 'judgement'],
            properties: {
              action: { type: 'string', enum: ['advanced', 'promoted', 'rolled_back', 'waiting'] },
              rollout: rolloutSchema,
              judgement: judgementSchema,
            },
          },
          ...changeErrors,
        },
      },
    },
    async (request) => rollout.step(request.params.name, { by: request.user!.name }),
  );

  app.post(
    '/v1/models/:name/rollout/rollback',
    {
      config: { auth: ALIAS_CHANGE_ROLES },
      schema: {
        tags,
        summary: 'Roll the active canary back: `canary` returns to the production version, the candidate gets no more studies',
        params: nameParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['reason'],
          properties: { reason: { type: 'string', minLength: 1, maxLength: 2000, description: 'why (kept in the audit trail)' } },
        },
        response: { 200: rolloutSchema, ...changeErrors },
      },
    },
    async (request) => rollout.rollback(request.params.name, { by: request.user!.name }, request.body.reason),
  );

  app.get(
    '/v1/models/:name/protocol-reports',
    {
      schema: {
        tags,
        summary: "Change-protocol evaluations of a model's versions, newest first: verdict, reasons and every criterion",
        params: nameParams,
        querystring: { type: 'object', additionalProperties: false, properties: { version: versionSchema } },
        response: {
          200: { type: 'object', additionalProperties: false, required: ['reports'], properties: { reports: { type: 'array', items: reportSummarySchema } } },
          ...errorResponses([400, 401, 403, 404, 500]),
        },
      },
    },
    async (request) => ({
      reports: (await rollout.reports(request.params.name, request.query.version)).map(({ report, ...r }) => ({ ...r, criteria: report.criteria })),
    }),
  );

  app.get(
    '/v1/protocol-reports/:id',
    {
      schema: {
        tags,
        summary: 'One change-protocol evaluation with its whole report (comparisons with their intervals, the fitted policy, calibration, latency)',
        params: { type: 'object', additionalProperties: false, required: ['id'], properties: { id: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,128}$' } } },
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: [...reportSummarySchema.required, 'report'],
            properties: {
              ...reportSummarySchema.properties,
              report: { description: 'the stored report (src/rollout/evaluate.ts ProtocolEvaluation, with the stored policy)' },
            },
          },
          ...errorResponses([400, 401, 403, 404, 500]),
        },
      },
    },
    async (request) => {
      const r = await rollout.report(request.params.id);
      return { ...r, criteria: r.report.criteria };
    },
  );
}
