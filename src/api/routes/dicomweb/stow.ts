// STOW-RS (PS3.18 10.5): POST /dicomweb/studies[/{study}] with multipart/related; type="application/dicom",
// one Part 10 instance per part. Each instance goes through the workflow's DICOM intake (de-identified,
// read by the model at once, exactly like POST /v1/studies) and is answered in the Store Instances
// Response Module (PS3.18 Annex I) as DICOM JSON:
// - ReferencedSOPSequence: stored instances, with the RetrieveURL of the stored (de-identified) instance
//   and Warning Reason B000 (coercion of data elements: de-identification changed it);
// - FailedSOPSequence: refused instances, with the Failure Reason of data/dicom/failure-reasons.ts.
// The instance UIDs in both sequences are the ones the sender sent, so it can match its instances;
// they are echoed to it, never stored or logged. Status: 200 all stored, 202 some, 409 none (10.5.3).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import { DICOM_STATUS, dicomFailureReason } from '../../../data/dicom/failure-reasons.js';
import { attr, type DicomJsonDataset } from '../../../data/dicom/json-model.js';
import { MultipartError, parseMultipartRelated } from '../../../data/dicom/multipart.js';
import { UnsupportedMediaTypeError } from '../../errors.js';
import { errorResponses } from '../../schemas.js';
import type { ApiLimits, WorkflowPort } from '../../types.js';
import { INTAKE_ROLES } from '../studies.js';
import { accepts, DICOM_JSON, DICOMWEB_TAGS, instanceUrl, NotAcceptableError, serviceBase, studyParams, studyUrl } from './common.js';

/** Instances in one request: far above any CXR/OCT study, low enough to bound the answer. */
export const MAX_STOW_INSTANCES = 1000;

export interface StowRoutesOptions {
  workflow: Pick<WorkflowPort, 'intakeDicomInstance'>;
  limits: ApiLimits;
}

const storeResponseSchema = {
  type: 'object',
  additionalProperties: true,
  description:
    'Store Instances Response Module (PS3.18 Annex I) in DICOM JSON: 00081190 RetrieveURL, 00081199 ReferencedSOPSequence (stored: 00081150, 00081155, 00081190, 00081196 WarningReason), 00081198 FailedSOPSequence (00081150, 00081155, 00081197 FailureReason)',
} as const;

export async function stowRoutes(app: FastifyInstance, opts: StowRoutesOptions): Promise<void> {
  const { workflow, limits } = opts;
  // The body is read whole (bounded by maxStowBytes) and split here; no other route in this scope takes it.
  app.addContentTypeParser('multipart/related', { parseAs: 'buffer', bodyLimit: limits.maxStowBytes }, (_req, body, done) => done(null, body));

  const schemaBase = {
    tags: DICOMWEB_TAGS,
    consumes: ['multipart/related'],
    description: `Body: multipart/related; type="application/dicom", one DICOM Part 10 instance per part (at most ${MAX_STOW_INSTANCES} instances, ${limits.maxStowBytes} bytes in all, ${limits.maxUploadBytes} bytes each). CR/DX become cxr studies, OPT oct studies; others are refused per instance in FailedSOPSequence. 200: all stored; 202: some; 409: none.`,
    produces: [DICOM_JSON],
    response: { 200: storeResponseSchema, 202: storeResponseSchema, 409: storeResponseSchema, ...errorResponses([400, 401, 403, 406, 413, 415, 500, 503]) },
  };
  const handler = async (request: FastifyRequest<{ Params: { study?: string } }>, reply: FastifyReply) => {
    // Asked before any instance is stored: an answer the client cannot read must not follow the work.
    if (!accepts(request, DICOM_JSON) && !accepts(request, 'application/json')) throw new NotAcceptableError([DICOM_JSON]);
    const contentType = String(request.headers['content-type'] ?? '');
    if (!Buffer.isBuffer(request.body)) throw new UnsupportedMediaTypeError('send instances as multipart/related; type="application/dicom"');
    const { type, parts } = parseMultipartRelated(contentType, request.body, { maxParts: MAX_STOW_INSTANCES, maxPartBytes: limits.maxUploadBytes });
    if (type.type !== '' && type.type !== 'application/dicom')
      throw new UnsupportedMediaTypeError(`only type="application/dicom" (Part 10 instances) is stored, not ${type.type.slice(0, 60)}`);
    if (parts.length === 0) throw new MultipartError('the multipart body holds no instance', 400);
    const bad = parts.findIndex((p) => p.contentType.type !== 'application/dicom');
    if (bad >= 0) throw new UnsupportedMediaTypeError(`part ${bad + 1} is ${parts[bad]!.contentType.type.slice(0, 60)}: every part must be application/dicom`);

    const base = serviceBase(request);
    const referenced: DicomJsonDataset[] = [];
    const failed: DicomJsonDataset[] = [];
    const studies = new Set<string>();
    for (const [index, part] of parts.entries()) {
      const r = await workflow.intakeDicomInstance(
        request.user!,
        part.body,
        { via: 'stow', remoteAddress: request.ip },
        request.params?.study !== undefined ? { studyInstanceUid: request.params.study } : {},
      );
      if (r.ok) {
        studies.add(r.stored.studyInstanceUid);
        referenced.push({
          '00081150': attr('UI', r.sopClassUid),
          '00081155': attr('UI', r.sopInstanceUid),
          '00081190': attr('UR', instanceUrl(base, r.stored.studyInstanceUid, r.stored.seriesInstanceUid, r.stored.sopInstanceUid)),
          '00081196': attr('US', DICOM_STATUS.coercionOfDataElements),
        });
      } else {
        // The code and the part's position only: the reason may quote the file, the UIDs are the sender's.
        request.log.info({ code: r.code, part: index + 1 }, 'STOW-RS instance refused');
        failed.push({ '00081150': attr('UI', r.sopClassUid), '00081155': attr('UI', r.sopInstanceUid), '00081197': attr('US', dicomFailureReason(r.code)) });
      }
    }
    const body: DicomJsonDataset = {};
    // One study stored: its URL (the de-identified study); several (a POST to /studies): none is "the" study.
    if (studies.size === 1) body['00081190'] = attr('UR', studyUrl(base, [...studies][0]!));
    if (failed.length) body['00081198'] = { vr: 'SQ', Value: failed };
    if (referenced.length) body['00081199'] = { vr: 'SQ', Value: referenced };
    const status = failed.length === 0 ? 200 : referenced.length > 0 ? 202 : 409;
    return reply.code(status).type(DICOM_JSON).send(JSON.stringify(body));
  };

  app.post(
    '/dicomweb/studies',
    {
      config: { auth: INTAKE_ROLES },
      bodyLimit: limits.maxStowBytes,
      schema: { ...schemaBase, summary: 'STOW-RS: store instances (each becomes a study of the second-reader workflow, read by the model at once)' },
    },
    handler,
  );
  app.post(
    '/dicomweb/studies/:study',
    {
      config: { auth: INTAKE_ROLES },
      bodyLimit: limits.maxStowBytes,
      schema: {
        ...schemaBase,
        params: studyParams,
        summary: 'STOW-RS into one study: instances of another Study Instance UID (as sent) are refused (A900)',
      },
    },
    handler,
  );
}
