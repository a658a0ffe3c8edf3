// The studies of the second-reader workflow: intake (a PNG/JPEG and its modality; the model reads it at
// once, hidden from reader A), one study as the caller's role may see it, its image, reads A and B, its
// audit trail, and the study list for oversight. What each role sees is decided by WorkflowService
// (src/workflow/blinding.ts), never here; the response schemas list only fields a view can carry.
import multipart from '@fastify/multipart';
import type { FastifyInstance } from 'fastify';

import { ValidationError } from '../../core/errors.js';
import { STUDY_STATES } from '../../workflow/states.js';
import { UnsupportedMediaTypeError } from '../errors.js';
import { checkImage } from '../image-input.js';
import { isMultipartFile, readMultipartForm } from '../multipart-form.js';
import { classProbabilitySchema, detectionSchema, errorResponses, studyIdParams, studyIdSchema } from '../schemas.js';
import { typedRequests, type Wire } from '../type-provider.js';
import type { ApiLimits, WorkflowPort } from '../types.js';

export interface StudiesRoutesOptions {
  workflow: WorkflowPort;
  limits: ApiLimits;
}

export const INTAKE_ROLES = ['reader', 'ml-engineer', 'admin'] as const;
export const READ_ROLES = ['reader', 'adjudicator'] as const;
/** The study list and audit trails: oversight, not reader A (the trail holds the model's read). */
export const OVERSIGHT_ROLES = ['adjudicator', 'ml-engineer', 'admin'] as const;

const MAX_LIST = 500;
const SHA256_PATTERN = '^[0-9a-f]{64}$';

const nullableString = { type: ['string', 'null'] } as const;

const humanReadSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['label', 'userId', 'at'],
  properties: { label: { type: 'string' }, userId: nullableString, at: { type: 'string' } },
} as const;

const detectorSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'version'],
  properties: { name: { type: 'string' }, version: { type: 'integer' } },
} as const;

/** Who may mark the detector's boxes: reader B. */
export const MARK_ROLES = ['adjudicator'] as const;

export const studyViewSchema = {
  type: 'object',
  additionalProperties: false,
  description: 'A study as the caller may see it: for a reader before read A, `blinded: true` and no model read, model or decision',
  required: ['id', 'modality', 'source', 'datasetVersion', 'imageKey', 'status', 'priority', 'createdAt', 'blinded', 'reads', 'finalLabel', 'finalizedAt'],
  properties: {
    id: { type: 'string' },
    modality: { type: 'string', enum: ['cxr', 'oct'] },
    source: { type: 'string', enum: ['upload', 'dataset'] },
    datasetVersion: nullableString,
    imageKey: { type: 'string' },
    status: { type: 'string', enum: [...STUDY_STATES] },
    priority: { type: 'boolean' },
    createdAt: { type: 'string' },
    blinded: { type: 'boolean', description: 'something was withheld from this caller (the model read and the decision, before read A)' },
    reads: {
      type: 'object',
      additionalProperties: false,
      properties: {
        A: humanReadSchema,
        B: humanReadSchema,
        model: {
          type: 'object',
          additionalProperties: false,
          required: ['model', 'version', 'label', 'top', 'predictions', 'at'],
          properties: {
            model: nullableString,
            version: { type: ['integer', 'null'] },
            label: { type: 'string' },
            top: classProbabilitySchema,
            predictions: { type: 'array', items: classProbabilitySchema },
            at: { type: 'string' },
            detections: { type: 'array', items: detectionSchema, description: 'the detector’s boxes (CXR with a configured detector), best first' },
            detector: { ...detectorSchema, description: 'the detector version that drew the boxes' },
            boxMarks: {
              type: 'array',
              description: 'reader B’s verdicts on the boxes (`index` into `detections`; the latest mark counts)',
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['index', 'correct', 'userId', 'at'],
                properties: { index: { type: 'integer' }, correct: { type: 'boolean' }, userId: { type: 'string' }, at: { type: 'string' } },
              },
            },
          },
        },
      },
    },
    model: {
      type: ['object', 'null'],
      additionalProperties: false,
      required: ['name', 'version'],
      properties: { name: { type: 'string' }, version: { type: 'integer' } },
      description: 'the model version that read the study (null: its read failed)',
    },
    decision: {
      type: 'object',
      additionalProperties: false,
      required: ['decision', 'reasons', 'qa', 'policyId', 'decidedAt'],
      properties: {
        decision: { type: 'string', enum: ['auto_finalized', 'second_read'] },
        reasons: { type: 'array', items: { type: 'string' } },
        qa: { type: 'boolean' },
        policyId: nullableString,
        decidedAt: nullableString,
      },
    },
    finalLabel: nullableString,
    finalizedAt: nullableString,
    truthClass: { ...nullableString, description: 'simulation ground truth (ml-engineer, admin only)' },
    boxRead: {
      type: 'object',
      additionalProperties: false,
      required: ['status', 'detector', 'boxes'],
      description: 'the detector’s read of a CXR study (absent when blinded or when no detector was configured at intake)',
      properties: {
        status: { type: 'string', enum: ['read', 'failed'] },
        detector: { ...detectorSchema, type: ['object', 'null'] },
        boxes: { type: 'integer' },
      },
    },
  },
} as const;

const auditEntrySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['seq', 'at', 'actor', 'event', 'studyId', 'payload', 'prevHash', 'hash'],
  properties: {
    seq: { type: 'integer' },
    at: { type: 'string' },
    actor: { type: 'string', description: '`user:<name>`, `model:<name>@<version>` or `system`' },
    event: { type: 'string' },
    studyId: nullableString,
    payload: { type: 'object', additionalProperties: true },
    prevHash: { type: 'string' },
    hash: { type: 'string', description: 'sha256 of the canonical JSON of the entry and prevHash (docs/workflow.md, "Audit trail")' },
  },
} as const;

/** The intake form's fields (multipart: the `isFile` keyword marks the file part). */
const intakeFormSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['file', 'modality'],
  properties: {
    file: { isFile: true, description: 'the image, PNG or JPEG (the bytes decide, not the part’s type)' },
    modality: { type: 'string', enum: ['cxr', 'oct'] },
    priority: { type: 'boolean', default: false, description: 'urgent: listed first in the worklists' },
    datasetVersion: {
      type: 'string',
      pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$',
      description: 'simulation only (ml-engineer, admin): the dataset version the image comes from',
    },
    datasetSha256: { type: 'string', pattern: SHA256_PATTERN, description: 'simulation only: the image’s sha256 in that version' },
    truthClass: { type: 'string', maxLength: 64, description: 'simulation only: its ground-truth class (never shown to readers)' },
  },
} as const;
/** The form as validated (defaults applied); multipart content schemas are not inferred by the type provider. */
type IntakeForm = Wire<typeof intakeFormSchema>;

/** Fresh per call: the `isFile` keyword rewrites its schema for the OpenAPI document when compiled. */
function intakeBodySchema() {
  return { content: { 'multipart/form-data': { schema: structuredClone(intakeFormSchema) } } };
}

/** The dataset origin of a replayed study: all three fields or none. */
function datasetOrigin(f: IntakeForm): { version: string; sha256: string; truthClass: string } | undefined {
  const given = [f.datasetVersion, f.datasetSha256, f.truthClass].filter((v) => v !== undefined).length;
  if (given === 0) return undefined;
  if (given !== 3) throw new ValidationError('datasetVersion, datasetSha256 and truthClass go together: give all three or none');
  return { version: f.datasetVersion!, sha256: f.datasetSha256!, truthClass: f.truthClass! };
}

export async function studiesRoutes(fastify: FastifyInstance, opts: StudiesRoutesOptions): Promise<void> {
  const app = typedRequests(fastify);
  const { workflow, limits } = opts;
  const tags = ['studies'];
  await app.register(multipart, { limits: { fileSize: limits.maxUploadBytes, files: 1, fields: 8, fieldSize: 1024, parts: 9, headerPairs: 64 } });
  app.addHook('preValidation', readMultipartForm);

  app.post(
    '/v1/studies',
    {
      config: { auth: INTAKE_ROLES },
      schema: {
        tags,
        summary: 'Register a study: store the image, have the model read it (hidden from reader A), queue it for read A',
        description:
          'Multipart form: `file` (PNG/JPEG, the same input rules as predict), `modality` (cxr|oct), `priority` (true|false). Studies replayed from a dataset version (simulation) add `datasetVersion`, `datasetSha256` and `truthClass` (ml-engineer, admin).',
        consumes: ['multipart/form-data'],
        body: intakeBodySchema(),
        response: { 201: studyViewSchema, ...errorResponses([400, 401, 403, 413, 415, 422, 500, 503, 507]) },
      },
    },
    async (request, reply) => {
      const form = request.body as IntakeForm | undefined;
      if (!request.isMultipart() || !form || !isMultipartFile(form.file))
        throw new UnsupportedMediaTypeError('send the study as multipart/form-data: a `file` part (PNG or JPEG) and a `modality` field');
      const bytes = await (form.file as { toBuffer(): Promise<Buffer> }).toBuffer();
      await checkImage(bytes, limits);
      const view = await workflow.intake(request.user!, { modality: form.modality, image: bytes, priority: form.priority, dataset: datasetOrigin(form) });
      return reply
        .code(201)
        .header('location', `/v1/studies/${encodeURIComponent(view.id)}`)
        .send(view);
    },
  );

  app.get(
    '/v1/studies',
    {
      config: { auth: OVERSIGHT_ROLES },
      schema: {
        tags,
        summary: 'Studies, newest first (each as the caller may see it)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            status: { type: 'string', enum: [...STUDY_STATES] },
            limit: { type: 'integer', minimum: 1, maximum: MAX_LIST, default: 50 },
            before: { ...studyIdSchema, description: 'paging: the studies after this one (the last id of the previous page)' },
          },
        },
        response: {
          200: { type: 'object', additionalProperties: false, required: ['studies'], properties: { studies: { type: 'array', items: studyViewSchema } } },
          ...errorResponses([400, 401, 403, 404, 500, 503]),
        },
      },
    },
    async (request) => ({ studies: await workflow.listStudies(request.user!, request.query) }),
  );

  app.get(
    '/v1/studies/:id',
    {
      schema: {
        tags,
        summary: 'One study as the caller’s role may see it (reader A: no model read or decision before committing read A)',
        params: studyIdParams,
        response: { 200: studyViewSchema, ...errorResponses([400, 401, 403, 404, 500, 503]) },
      },
    },
    async (request) => workflow.getStudy(request.user!, request.params.id),
  );

  app.get(
    '/v1/studies/:id/image',
    {
      schema: {
        tags,
        summary: 'The study’s image, as uploaded (PNG or JPEG)',
        params: studyIdParams,
        produces: ['image/png', 'image/jpeg'],
        response: { 200: { type: 'string', format: 'binary', description: 'the image bytes' }, ...errorResponses([400, 401, 403, 404, 500, 503]) },
      },
    },
    async (request, reply) => {
      const img = await workflow.getImage(request.params.id);
      // A patient image: not for shared caches, and never sniffed into something else.
      return reply.type(img.contentType).header('cache-control', 'private, no-store').header('x-content-type-options', 'nosniff').send(img.bytes);
    },
  );

  app.post(
    '/v1/studies/:id/reads',
    {
      config: { auth: READ_ROLES },
      schema: {
        tags,
        summary: 'Commit a read: a reader’s is read A (then the policy decides), an adjudicator’s is read B (the final label)',
        description:
          '409 `illegal_transition` when the study is not waiting for this read (read B before A, A twice, a final study, or another read won a race).',
        params: studyIdParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['label'],
          properties: { label: { type: 'string', minLength: 1, maxLength: 64, description: 'a class of the study’s modality' } },
        },
        response: { 200: studyViewSchema, ...errorResponses([400, 401, 403, 404, 409, 500, 503]) },
      },
    },
    async (request) => workflow.commitRead(request.user!, request.params.id, { label: request.body.label }),
  );

  app.put(
    '/v1/studies/:id/boxes/:index/mark',
    {
      config: { auth: MARK_ROLES },
      schema: {
        tags,
        summary: 'Reader B marks one of the detector’s boxes correct or incorrect (a box label for retraining; audited)',
        description:
          'The study must be waiting for B or adjudicated. `index` points into `reads.model.detections`. Marking again replaces the verdict (the audit trail keeps both). 409 `no_boxes` when no detector read the study, `illegal_transition` in another state.',
        params: {
          type: 'object',
          additionalProperties: false,
          required: ['id', 'index'],
          properties: { id: studyIdSchema, index: { type: 'integer', minimum: 0, maximum: 999 } },
        },
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['correct'],
          properties: { correct: { type: 'boolean', description: 'true: the box is right (class and place); false: it is not' } },
        },
        response: { 200: studyViewSchema, ...errorResponses([400, 401, 403, 404, 409, 500, 503]) },
      },
    },
    async (request) => workflow.markBox(request.user!, request.params.id, request.params.index, { correct: request.body.correct }),
  );

  app.get(
    '/v1/studies/:id/audit',
    {
      config: { auth: OVERSIGHT_ROLES },
      schema: {
        tags,
        summary: 'The study’s audit entries (hash-chained), in order',
        params: studyIdParams,
        response: {
          200: { type: 'object', additionalProperties: false, required: ['entries'], properties: { entries: { type: 'array', items: auditEntrySchema } } },
          ...errorResponses([400, 401, 403, 404, 500, 503]),
        },
      },
    },
    async (request) => ({ entries: await workflow.studyAudit(request.user!, request.params.id) }),
  );
}
