// GET /v1/policies and /v1/policies/:id: the stored decision policies (per model name + version,
// versioned; the newest of a model version is in force). Read-only: policies are made by
// `secondread policy fit`, which records how each was chosen in its report (in the single GET).
import type { FastifyInstance } from 'fastify';

import type { Policy } from '../../workflow/policies.js';
import { errorResponses, modelNameSchema } from '../schemas.js';
import { typedRequests } from '../type-provider.js';
import type { WorkflowPort } from '../types.js';

export interface PoliciesRoutesOptions {
  workflow: Pick<WorkflowPort, 'policies'>;
}

export const POLICY_ROLES = ['adjudicator', 'ml-engineer', 'admin'] as const;

const policyProperties = {
  id: { type: 'string' },
  modelName: { type: 'string' },
  modelVersion: { type: 'integer' },
  version: { type: 'integer', description: 'policy version for this model version; the newest is in force' },
  thresholds: { type: 'object', additionalProperties: { type: 'number' }, description: 'class → least model probability that may clear it' },
  alwaysDoubleRead: { type: 'array', items: { type: 'string' } },
  qaFraction: { type: 'number' },
  createdBy: { type: 'string' },
  createdAt: { type: 'string' },
} as const;
const summaryRequired = ['id', 'modelName', 'modelVersion', 'version', 'thresholds', 'alwaysDoubleRead', 'qaFraction', 'createdBy', 'createdAt'];
const policySchema = {
  type: 'object',
  additionalProperties: false,
  required: [...summaryRequired, 'report'],
  properties: {
    ...policyProperties,
    report: {
      description:
        'how the policy was chosen, as stored; null when none. From policy fit: fit.method (ltt | empirical), fit.maxFalseClear, fit.confidence, fit.guarantee (Learn then Test: the test sequence, p-values, the Clopper–Pearson upper bound reached), fit.empirical and fit.price (reduction given up for the guarantee), per-class sweeps, the curve',
    },
  },
} as const;
const summarySchema = { type: 'object', additionalProperties: false, required: summaryRequired, properties: policyProperties } as const;

const idParams = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: { id: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,128}$' } },
} as const;

function summary(p: Policy): Omit<Policy, 'report'> {
  const { report: _report, ...rest } = p;
  return rest;
}

export async function policiesRoutes(fastify: FastifyInstance, opts: PoliciesRoutesOptions): Promise<void> {
  const app = typedRequests(fastify);
  const { policies } = opts.workflow;
  const tags = ['workflow'];

  app.get(
    '/v1/policies',
    {
      config: { auth: POLICY_ROLES },
      schema: {
        tags,
        summary: 'Policies (without their reports), by model name, model version and policy version, newest first',
        querystring: { type: 'object', additionalProperties: false, properties: { model: modelNameSchema } },
        response: {
          200: { type: 'object', additionalProperties: false, required: ['policies'], properties: { policies: { type: 'array', items: summarySchema } } },
          ...errorResponses([400, 401, 403, 500, 503]),
        },
      },
    },
    async (request) => ({ policies: (await policies.list(request.query.model)).map(summary) }),
  );

  app.get(
    '/v1/policies/:id',
    {
      config: { auth: POLICY_ROLES },
      schema: {
        tags,
        summary: 'One policy with the report of how it was chosen',
        params: idParams,
        response: { 200: policySchema, ...errorResponses([400, 401, 403, 404, 500, 503]) },
      },
    },
    async (request) => policies.get(request.params.id),
  );
}
