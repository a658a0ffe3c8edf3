// DICOM views of a study registered from a DICOM file: its non-identifying header facts (the window
// the rendering used — the viewer's default window/level —, modality, body part, view, spacing) and
// the de-identified instance itself. The identified original was never stored (workflow/study-image.ts).
import type { FastifyInstance } from 'fastify';

import { NotFoundError } from '../../core/errors.js';
import { errorResponses, studyIdParams } from '../schemas.js';
import { typed } from '../type-provider.js';
import type { WorkflowPort } from '../types.js';

export interface StudyDicomRoutesOptions {
  workflow: Pick<WorkflowPort, 'getDicomFacts' | 'getDicomInstance'>;
}

const nullableString = { type: ['string', 'null'] } as const;
const factsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['sopClassUid', 'transferSyntaxUid', 'modality', 'photometric', 'rows', 'columns', 'frames', 'window', 'studyInstanceUid', 'sopInstanceUid'],
  properties: {
    sopClassUid: { type: 'string' },
    transferSyntaxUid: { type: 'string', description: 'the syntax the instance was received in' },
    modality: nullableString,
    bodyPartExamined: nullableString,
    viewPosition: nullableString,
    pixelSpacingMm: { type: ['array', 'null'], items: { type: 'number' }, description: 'row, column spacing in mm' },
    photometric: { type: 'string' },
    bitsStored: { type: 'integer' },
    rows: { type: 'integer' },
    columns: { type: 'integer' },
    frames: { type: 'integer', description: 'frames in the instance (the first one is read)' },
    burnedInAnnotation: { type: 'boolean' },
    window: {
      type: 'object',
      additionalProperties: false,
      required: ['source', 'center', 'width'],
      description: "the VOI the rendering applied: the DICOM's own window (source window), its VOI LUT, or the image's min…max",
      properties: { source: { type: 'string', enum: ['window', 'voi-lut', 'min-max'] }, center: { type: 'number' }, width: { type: 'number' } },
    },
    studyInstanceUid: { type: 'string', description: 'de-identified (remapped) Study Instance UID' },
    sopInstanceUid: { type: 'string', description: 'de-identified (remapped) SOP Instance UID' },
    patientKey: { type: 'string', description: 'pseudonymous patient key (keyed hash), the same for every study of one patient' },
  },
} as const;

export async function studyDicomRoutes(plain: FastifyInstance, opts: StudyDicomRoutesOptions): Promise<void> {
  const app = typed(plain);
  const tags = ['studies'];
  app.get(
    '/v1/studies/:id/dicom',
    {
      schema: {
        tags,
        summary: 'The DICOM header facts of a study received as DICOM (404 for PNG/JPEG studies): window/level, modality, spacing',
        params: studyIdParams,
        response: { 200: factsSchema, ...errorResponses([400, 401, 403, 404, 500, 503]) },
      },
    },
    async (request) => {
      const facts = await opts.workflow.getDicomFacts(request.params.id);
      if (!facts) throw new NotFoundError('DICOM header of study', request.params.id);
      return facts;
    },
  );
  app.get(
    '/v1/studies/:id/instance',
    {
      schema: {
        tags,
        summary: 'The de-identified DICOM instance of a study received as DICOM (PS3.15 Basic Profile applied on intake)',
        params: studyIdParams,
        produces: ['application/dicom'],
        response: { 200: { type: 'string', format: 'binary', description: 'DICOM Part 10 bytes' }, ...errorResponses([400, 401, 403, 404, 500, 503]) },
      },
    },
    async (request, reply) => {
      const bytes = await opts.workflow.getDicomInstance(request.params.id);
      if (!bytes) throw new NotFoundError('DICOM instance of study', request.params.id);
      return reply.header('content-type', 'application/dicom').header('content-disposition', 'attachment; filename="instance.dcm"').send(bytes);
    },
  );
}
