// WADO-RS (PS3.18 10.4): the stored — de-identified — instances of a study, a series or one instance
// as multipart/related; type="application/dicom", their metadata as DICOM JSON, and an instance's
// rendering as PNG (the one the study stores: the DICOM's own window applied, what the model read).
// Request UIDs are only compared with the index; the objects are found from the index row's study id.
//
// Instances are sent in the transfer syntax they were received in (the part's Content-Type names it):
// we do not transcode, so an Accept that asks for another syntax is answered 406.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import { NotFoundError, SecondreadError } from '../../../core/errors.js';
import { attr, type DicomJsonDataset, toDicomJson } from '../../../data/dicom/json-model.js';
import { buildMultipartRelated } from '../../../data/dicom/multipart.js';
import { parseDicom } from '../../../data/dicom/parse.js';
import type { DicomIndexRow } from '../../../workflow/dicom-index.js';
import { errorResponses } from '../../schemas.js';
import type { WorkflowPort } from '../../types.js';
import {
  accepts,
  DICOM_JSON,
  dicomJsonArraySchema,
  DICOMWEB_TAGS,
  instanceParams,
  NotAcceptableError,
  PRIVATE_HEADERS,
  seriesParams,
  studyParams,
} from './common.js';

/** Instances in one retrieve: the answer is built in memory. */
export const MAX_RETRIEVE_INSTANCES = 500;
const PIXEL_DATA = new Set(['7FE00010']);

export interface WadoRoutesOptions {
  workflow: Pick<WorkflowPort, 'searchDicomInstances' | 'getDicomInstance' | 'getImage'>;
}

class TooManyInstancesError extends SecondreadError {
  constructor() {
    super('too_many_instances', `more than ${MAX_RETRIEVE_INSTANCES} instances: retrieve them by series or one by one`, 413, { max: MAX_RETRIEVE_INSTANCES });
  }
}

type Params = { study: string; series?: string; instance?: string };

export async function wadoRoutes(app: FastifyInstance, opts: WadoRoutesOptions): Promise<void> {
  const { workflow } = opts;

  const find = async (p: Params): Promise<DicomIndexRow[]> => {
    const rows = await workflow.searchDicomInstances({
      studyInstanceUids: [p.study],
      ...(p.series !== undefined ? { seriesInstanceUids: [p.series] } : {}),
      ...(p.instance !== undefined ? { sopInstanceUids: [p.instance] } : {}),
      limit: MAX_RETRIEVE_INSTANCES + 1,
      offset: 0,
    });
    if (rows.length === 0) throw new NotFoundError(p.instance ? 'instance' : p.series ? 'series' : 'study', p.instance ?? p.series ?? p.study);
    if (rows.length > MAX_RETRIEVE_INSTANCES) throw new TooManyInstancesError();
    return rows;
  };
  const bytesOf = async (row: DicomIndexRow): Promise<Buffer> => {
    const bytes = await workflow.getDicomInstance(row.study_id);
    if (!bytes) throw new NotFoundError('stored instance', row.sop_instance_uid);
    return bytes;
  };

  const retrieve = async (request: FastifyRequest<{ Params: Params }>, reply: FastifyReply) => {
    const rows = await find(request.params);
    // The syntaxes we can send are the stored ones; `transfer-syntax=*` or none accepts them.
    const syntaxes = new Set(rows.map((r) => r.transfer_syntax_uid));
    const ok = accepts(request, 'multipart/related', (p) => {
      const type = (p.type ?? 'application/dicom').toLowerCase();
      const ts = p['transfer-syntax'];
      return type === 'application/dicom' && (ts === undefined || ts === '*' || (syntaxes.size === 1 && syntaxes.has(ts)));
    });
    if (!ok) throw new NotAcceptableError([`multipart/related; type="application/dicom"; transfer-syntax=${[...syntaxes].join('|')}`]);
    const parts = [];
    for (const row of rows) parts.push({ contentType: `application/dicom; transfer-syntax=${row.transfer_syntax_uid}`, body: await bytesOf(row) });
    const { contentType, body } = buildMultipartRelated('application/dicom', parts);
    return reply.headers(PRIVATE_HEADERS).header('content-type', contentType).send(body);
  };

  const metadata = async (request: FastifyRequest<{ Params: Params }>, reply: FastifyReply) => {
    if (!accepts(request, DICOM_JSON) && !accepts(request, 'application/json')) throw new NotAcceptableError([DICOM_JSON]);
    const rows = await find(request.params);
    const out: DicomJsonDataset[] = [];
    for (const row of rows) {
      const file = parseDicom(await bytesOf(row));
      // Pixel data has no bulk data endpoint here: fetch the instance or its rendering instead.
      out.push({ ...toDicomJson(file.dict, { omit: PIXEL_DATA }), '00083002': attr('UI', row.transfer_syntax_uid) });
    }
    return reply.headers(PRIVATE_HEADERS).type(DICOM_JSON).send(JSON.stringify(out));
  };

  const binary = { type: 'string', format: 'binary' } as const;
  const multipartResponse = {
    200: { ...binary, description: 'multipart/related; type="application/dicom": the de-identified Part 10 instances' },
    ...errorResponses([400, 401, 403, 404, 406, 413, 500, 503]),
  };
  const metadataResponse = { 200: dicomJsonArraySchema, ...errorResponses([400, 401, 403, 404, 406, 413, 500, 503]) };
  const levels = [
    { path: '/dicomweb/studies/:study', params: studyParams, what: 'a study' },
    { path: '/dicomweb/studies/:study/series/:series', params: seriesParams, what: 'a series' },
    { path: '/dicomweb/studies/:study/series/:series/instances/:instance', params: instanceParams, what: 'an instance' },
  ] as const;
  for (const level of levels) {
    app.get(
      level.path,
      {
        schema: {
          tags: DICOMWEB_TAGS,
          summary: `WADO-RS: the de-identified instances of ${level.what} (multipart/related; type="application/dicom", in the syntax each was received in)`,
          params: level.params,
          produces: ['multipart/related'],
          response: multipartResponse,
        },
      },
      retrieve,
    );
    app.get(
      `${level.path}/metadata`,
      {
        schema: {
          tags: DICOMWEB_TAGS,
          summary: `WADO-RS: the metadata of ${level.what}'s instances (DICOM JSON, Pixel Data left out)`,
          params: level.params,
          produces: [DICOM_JSON],
          response: metadataResponse,
        },
      },
      metadata,
    );
  }

  app.get(
    '/dicomweb/studies/:study/series/:series/instances/:instance/rendered',
    {
      schema: {
        tags: DICOMWEB_TAGS,
        summary: "WADO-RS: the instance rendered as PNG (8-bit, the DICOM's own window applied: what the viewer shows and the model read)",
        params: instanceParams,
        produces: ['image/png'],
        response: { 200: { ...binary, description: 'PNG' }, ...errorResponses([400, 401, 403, 404, 406, 500, 503]) },
      },
    },
    async (request: FastifyRequest<{ Params: Params }>, reply) => {
      if (!accepts(request, 'image/png')) throw new NotAcceptableError(['image/png']);
      const [row] = await find(request.params);
      const img = await workflow.getImage(row!.study_id);
      return reply.headers(PRIVATE_HEADERS).type(img.contentType).send(img.bytes);
    },
  );
}
