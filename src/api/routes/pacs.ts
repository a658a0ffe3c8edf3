// GET /v1/pacs/exports and POST /v1/pacs/exports/:id/retry: the results sent back to the PACS nodes
// (src/gateway/exporter.ts) — what was sent, what is waiting for its next attempt, the dead letters
// (every attempt failed, or the node refused the object) and the skipped ones (no SR could be made, with
// the reason). A retry sends a dead export again with a fresh set of attempts.
import type { FastifyInstance } from 'fastify';

import { EXPORT_KINDS, EXPORT_STATUSES, type PacsExport } from '../../gateway/exports-store.js';
import { errorResponses, studyIdSchema } from '../schemas.js';
import { typed } from '../type-provider.js';

export interface PacsExportsPort {
  list(o: { status?: (typeof EXPORT_STATUSES)[number]; studyId?: string; limit?: number; before?: string }): Promise<PacsExport[]>;
  retry(id: string): Promise<PacsExport>;
}

export interface PacsRoutesOptions {
  exports: PacsExportsPort;
}

export const PACS_ROLES = ['ml-engineer', 'admin'] as const;

const exportIdSchema = { type: 'string', pattern: '^px_[a-z0-9]{1,64}$' } as const;
const nullableString = { type: ['string', 'null'] } as const;

export const pacsExportSchema = {
  type: 'object',
  additionalProperties: false,
  required: [
    'id',
    'node',
    'kind',
    'studyId',
    'auditSeq',
    'sopInstanceUid',
    'status',
    'attempts',
    'nextAttemptAt',
    'lastError',
    'createdAt',
    'updatedAt',
    'sentAt',
  ],
  properties: {
    id: exportIdSchema,
    node: { type: 'string', description: 'the PACS node (config pacs.nodes)' },
    kind: {
      type: 'string',
      enum: [...EXPORT_KINDS],
      description: "the model's result SR, the detector's boxes SR, the boxes with reader B's verdicts, or reader B's",
    },
    studyId: { type: 'string' },
    auditSeq: { type: 'integer', description: 'the audit entry the result came from' },
    sopInstanceUid: { ...nullableString, description: "the SR's SOP Instance UID (null when skipped)" },
    status: {
      type: 'string',
      enum: [...EXPORT_STATUSES],
      description: 'pending (next attempt due), sent, dead (retries spent or refused), skipped (no SR can be made)',
    },
    attempts: { type: 'integer' },
    nextAttemptAt: nullableString,
    lastError: { ...nullableString, description: 'the last failure, or why it was skipped' },
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
    sentAt: nullableString,
  },
} as const;

export async function pacsRoutes(fastify: FastifyInstance, opts: PacsRoutesOptions): Promise<void> {
  const app = typed(fastify);
  const tags = ['pacs'];

  app.get(
    '/v1/pacs/exports',
    {
      config: { auth: PACS_ROLES },
      schema: {
        tags,
        summary: 'Results sent (or to be sent) to the PACS nodes, newest first; status=dead lists the dead letters',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            status: { type: 'string', enum: [...EXPORT_STATUSES] },
            studyId: studyIdSchema,
            limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
            before: { ...exportIdSchema, description: 'paging: exports listed after this one' },
          },
        },
        response: {
          200: { type: 'object', additionalProperties: false, required: ['exports'], properties: { exports: { type: 'array', items: pacsExportSchema } } },
          ...errorResponses([400, 401, 403, 404, 500, 503]),
        },
      },
    },
    async (request) => ({ exports: await opts.exports.list(request.query) }),
  );

  app.post(
    '/v1/pacs/exports/:id/retry',
    {
      config: { auth: PACS_ROLES },
      schema: {
        tags,
        summary: 'Send a dead export again (a fresh set of attempts); 409 for one that was sent or skipped',
        params: { type: 'object', additionalProperties: false, required: ['id'], properties: { id: exportIdSchema } },
        response: { 200: pacsExportSchema, ...errorResponses([400, 401, 403, 404, 409, 500, 503]) },
      },
    },
    async (request) => opts.exports.retry(request.params.id),
  );
}
