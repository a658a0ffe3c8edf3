// GET /v1/workflow/metrics: the workflow's business and safety figures (src/workflow/metrics.ts),
// computed from the database on each request, with the economics they were priced with.
import type { FastifyInstance } from 'fastify';

import { errorResponses } from '../schemas.js';
import { typed } from '../type-provider.js';
import type { WorkflowPort } from '../types.js';

export interface WorkflowMetricsRoutesOptions {
  workflow: Pick<WorkflowPort, 'metrics'>;
}

export const WORKFLOW_METRICS_ROLES = ['adjudicator', 'ml-engineer', 'admin'] as const;

const num = { type: 'number' } as const;
const nullableNum = { type: ['number', 'null'] } as const;
const rateProperties = {
  numerator: { type: 'integer' },
  denominator: { type: 'integer' },
  rate: { ...nullableNum, description: 'null: no evidence yet (denominator 0)' },
} as const;
const rateSchema = { type: 'object', additionalProperties: false, required: ['numerator', 'denominator', 'rate'], properties: rateProperties } as const;
const perModality = (value: object) => ({ type: 'object', additionalProperties: value }) as const;

const metricsSchema = {
  type: 'object',
  additionalProperties: false,
  required: [
    'since',
    'studies',
    'decided',
    'autoFinalized',
    'secondRead',
    'qaSampled',
    'adjudicated',
    'secondReviewReduction',
    'falseClear',
    'agreementByClass',
    'turnaroundSeconds',
    'worklistDepth',
    'savings',
  ],
  properties: {
    since: { type: ['string', 'null'] },
    studies: { type: 'integer' },
    decided: { type: 'integer', description: 'read A committed and the policy decided' },
    autoFinalized: { type: 'integer' },
    secondRead: { type: 'integer' },
    qaSampled: { type: 'integer' },
    adjudicated: { type: 'integer' },
    secondReviewReduction: { ...rateSchema, description: 'auto-finalized / decided' },
    falseClear: {
      type: 'object',
      additionalProperties: false,
      required: ['qa', 'truth'],
      properties: {
        qa: { ...rateSchema, description: 'QA studies where B ≠ A / QA studies adjudicated' },
        truth: { ...rateSchema, description: 'auto-finalized with known truth where final ≠ truth / those (simulation)' },
      },
    },
    agreementByClass: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['class', 'numerator', 'denominator', 'rate'],
        properties: { class: { type: 'string' }, ...rateProperties },
      },
      description: 'per A’s label: model top class = A’s label',
    },
    turnaroundSeconds: {
      type: 'object',
      additionalProperties: false,
      required: ['count', 'mean', 'median', 'p90'],
      properties: { count: { type: 'integer' }, mean: nullableNum, median: nullableNum, p90: nullableNum },
    },
    worklistDepth: {
      type: 'object',
      additionalProperties: false,
      required: ['A', 'B', 'qaInB'],
      properties: { A: { type: 'integer' }, B: { type: 'integer' }, qaInB: { type: 'integer' } },
      description: 'now, whatever the window',
    },
    savings: {
      type: 'object',
      additionalProperties: false,
      required: ['economics', 'minutesSaved', 'costSaved', 'costSavedPerScan', 'byModality'],
      properties: {
        economics: {
          type: 'object',
          additionalProperties: false,
          required: ['minutesPerRead', 'costPerRead', 'inferenceCostPerStudy', 'currency'],
          properties: { minutesPerRead: perModality(num), costPerRead: perModality(num), inferenceCostPerStudy: num, currency: { type: 'string' } },
          description: 'the figures the savings were priced with (configuration `workflow.economics`)',
        },
        minutesSaved: num,
        costSaved: num,
        costSavedPerScan: nullableNum,
        byModality: perModality({
          type: 'object',
          additionalProperties: false,
          required: ['autoFinalized', 'modelReads', 'minutesSaved', 'costSaved'],
          properties: { autoFinalized: { type: 'integer' }, modelReads: { type: 'integer' }, minutesSaved: num, costSaved: num },
        }),
      },
    },
  },
} as const;

export async function workflowMetricsRoutes(fastify: FastifyInstance, opts: WorkflowMetricsRoutesOptions): Promise<void> {
  const app = typed(fastify);
  app.get(
    '/v1/workflow/metrics',
    {
      config: { auth: WORKFLOW_METRICS_ROLES },
      schema: {
        tags: ['workflow'],
        summary: 'Second-review reduction, false-clear rates, agreement per class, turnaround, worklist depth, time and cost saved',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { since: { type: 'string', maxLength: 40, description: 'ISO-8601: only studies created at or after it (default: all)' } },
        },
        response: { 200: metricsSchema, ...errorResponses([400, 401, 403, 500, 503]) },
      },
    },
    async (request) => opts.workflow.metrics({ since: request.query.since }),
  );
}
