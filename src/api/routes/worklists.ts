// GET /v1/worklists/A and /B: the studies waiting for reader A (readers) and for reader B
// (adjudicators), priority first, then oldest first. Items carry nothing of the model, so a worklist
// cannot tell reader A what the model thinks.
import type { FastifyInstance } from 'fastify';

import type { Worklist } from '../../workflow/service.js';
import { STUDY_STATES } from '../../workflow/states.js';
import { errorResponses } from '../schemas.js';
import { typedRequests } from '../type-provider.js';
import type { WorkflowPort } from '../types.js';

export interface WorklistsRoutesOptions {
  workflow: Pick<WorkflowPort, 'worklist'>;
}

/** Who opens which worklist (the service checks the same rule). */
export const WORKLIST_ROLES = { A: ['reader', 'admin'], B: ['adjudicator', 'admin'] } as const satisfies Record<Worklist, readonly string[]>;

const worklistResponse = (which: Worklist) =>
  ({
    type: 'object',
    additionalProperties: false,
    required: ['worklist', 'items'],
    properties: {
      worklist: { type: 'string', enum: [which] },
      items: {
        type: 'array',
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['id', 'modality', 'priority', 'createdAt', 'status'],
          properties: {
            id: { type: 'string' },
            modality: { type: 'string' },
            priority: { type: 'boolean' },
            createdAt: { type: 'string' },
            status: { type: 'string', enum: [...STUDY_STATES] },
          },
        },
      },
    },
  }) as const;

export async function worklistsRoutes(fastify: FastifyInstance, opts: WorklistsRoutesOptions): Promise<void> {
  const app = typedRequests(fastify);
  const { workflow } = opts;
  for (const which of ['A', 'B'] as const) {
    app.get(
      `/v1/worklists/${which}`,
      {
        config: { auth: WORKLIST_ROLES[which] },
        schema: {
          tags: ['studies'],
          summary:
            which === 'A'
              ? 'Studies awaiting read A: priority first, then oldest'
              : 'Studies awaiting read B (second reads and QA samples): priority first, then oldest',
          querystring: { type: 'object', additionalProperties: false, properties: { limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 } } },
          response: { 200: worklistResponse(which), ...errorResponses([400, 401, 403, 500, 503]) },
        },
      },
      async (request) => ({ worklist: which, items: await workflow.worklist(request.user!, which, { limit: request.query.limit }) }),
    );
  }
}
