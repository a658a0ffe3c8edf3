// QIDO-RS (PS3.18 10.6): search studies, a study's series, a series' (or a study's) instances. Matching
// on what the index holds — all of it de-identified: StudyInstanceUID (a list), PatientID (the
// pseudonymous patient key), StudyDate (a date or a range), ModalitiesInStudy / Modality,
// SeriesInstanceUID, SOPInstanceUID, SOPClassUID — given by keyword or by tag, plus limit and offset.
// Other keys (includefield, fuzzymatching, attributes we do not index) are ignored with a Warning header,
// as PS3.18 8.3.4 asks; a malformed value of a supported key is a 400. Answers are DICOM JSON, 200 with
// an empty array when nothing matches.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import { ValidationError } from '../../../core/errors.js';
import { attr, type DicomJsonDataset } from '../../../data/dicom/json-model.js';
import type { DicomQuery } from '../../../workflow/dicom-index.js';
import { errorResponses } from '../../schemas.js';
import type { WorkflowPort } from '../../types.js';
import {
  accepts,
  DICOM_JSON,
  dicomJsonArraySchema,
  DICOMWEB_TAGS,
  instanceUrl,
  NotAcceptableError,
  seriesParams,
  seriesUrl,
  serviceBase,
  studyParams,
  studyUrl,
  UID_RE,
} from './common.js';

export const QIDO_DEFAULT_LIMIT = 100;
export const QIDO_MAX_LIMIT = 1000;

export interface QidoRoutesOptions {
  workflow: Pick<WorkflowPort, 'searchDicomStudies' | 'searchDicomSeries' | 'searchDicomInstances'>;
}

/** `allSeries`/`allInstances`: the searches across studies (GET /dicomweb/series, /dicomweb/instances). */
type Level = 'study' | 'series' | 'instance' | 'allSeries' | 'allInstances';
type Key = 'StudyInstanceUID' | 'PatientID' | 'StudyDate' | 'ModalitiesInStudy' | 'Modality' | 'SeriesInstanceUID' | 'SOPInstanceUID' | 'SOPClassUID';

const TAG_OF: Record<Key, string> = {
  StudyInstanceUID: '0020000D',
  PatientID: '00100020',
  StudyDate: '00080020',
  ModalitiesInStudy: '00080061',
  Modality: '00080060',
  SeriesInstanceUID: '0020000E',
  SOPInstanceUID: '00080018',
  SOPClassUID: '00080016',
};
const KEY_OF_TAG = Object.fromEntries(Object.entries(TAG_OF).map(([k, t]) => [t, k as Key]));
const KEYS_AT: Record<Level, readonly Key[]> = {
  study: ['StudyInstanceUID', 'PatientID', 'StudyDate', 'ModalitiesInStudy'],
  series: ['SeriesInstanceUID', 'Modality'],
  instance: ['SeriesInstanceUID', 'SOPInstanceUID', 'SOPClassUID', 'Modality'],
  allSeries: ['StudyInstanceUID', 'PatientID', 'StudyDate', 'SeriesInstanceUID', 'Modality'],
  allInstances: ['StudyInstanceUID', 'PatientID', 'StudyDate', 'SeriesInstanceUID', 'SOPInstanceUID', 'SOPClassUID', 'Modality'],
};
const DATE = /^\d{8}$/;
const MODALITY = /^[A-Z0-9_]{1,16}$/;
const PATIENT_KEY = /^[0-9A-Za-z._-]{1,64}$/;

/** The query string as QIDO sends it (values repeated or comma/backslash-separated). */
export function parseQidoQuery(raw: Record<string, unknown>, level: Level): { query: DicomQuery; ignored: string[]; capped: boolean } {
  const q: DicomQuery = { limit: QIDO_DEFAULT_LIMIT, offset: 0 };
  const ignored: string[] = [];
  let capped = false;
  for (const [name, value] of Object.entries(raw)) {
    const values = (Array.isArray(value) ? value : [value]).map(String);
    if (name === 'limit' || name === 'offset') {
      const n = Number(values.at(-1));
      // A huge limit is capped below; a huge offset must still be an exact integer the database binds as one.
      if (!Number.isInteger(n) || n < (name === 'limit' ? 1 : 0) || (name === 'offset' && !Number.isSafeInteger(n)))
        throw new ValidationError(`${name} must be an integer ≥ ${name === 'limit' ? 1 : 0}${name === 'offset' ? ` and ≤ ${Number.MAX_SAFE_INTEGER}` : ''}`);
      if (name === 'limit') {
        capped = n > QIDO_MAX_LIMIT;
        q.limit = Math.min(n, QIDO_MAX_LIMIT);
      } else q.offset = n;
      continue;
    }
    const key: Key | undefined = (KEY_OF_TAG[name.toUpperCase()] as Key | undefined) ?? (Object.hasOwn(TAG_OF, name) ? (name as Key) : undefined);
    if (!key || !KEYS_AT[level].includes(key)) {
      ignored.push(name.slice(0, 40));
      continue;
    }
    const list = values
      .flatMap((v) => v.split(/[,\\]/))
      .map((v) => v.trim())
      .filter((v) => v !== '');
    // An empty value, or a lone "*", is universal matching (PS3.4 C.2.2.2.3, C.2.2.2.4).
    if (list.length === 0 || (list.length === 1 && list[0] === '*')) continue;
    switch (key) {
      case 'StudyInstanceUID':
      case 'SeriesInstanceUID':
      case 'SOPInstanceUID':
      case 'SOPClassUID': {
        for (const uid of list) if (uid.length > 64 || !UID_RE.test(uid)) throw new ValidationError(`${key} '${uid.slice(0, 70)}' is not a UID`);
        if (list.length > 200) throw new ValidationError(`at most 200 UIDs in ${key}`);
        const field = (
          {
            StudyInstanceUID: 'studyInstanceUids',
            SeriesInstanceUID: 'seriesInstanceUids',
            SOPInstanceUID: 'sopInstanceUids',
            SOPClassUID: 'sopClassUids',
          } as const
        )[key];
        q[field] = list;
        break;
      }
      case 'PatientID':
        if (list.length !== 1 || !PATIENT_KEY.test(list[0]!)) throw new ValidationError('PatientID must be one pseudonymous patient key (no wildcards)');
        q.patientKey = list[0]!;
        break;
      case 'StudyDate':
        q.studyDate = parseDateRange(values.at(-1)!.trim());
        break;
      case 'ModalitiesInStudy':
      case 'Modality': {
        const mods = list.map((m) => m.toUpperCase());
        for (const m of mods) if (!MODALITY.test(m)) throw new ValidationError(`${key} '${m.slice(0, 20)}' is not a modality code`);
        q.modalities = mods;
        break;
      }
    }
  }
  return { query: q, ignored, capped };
}

/** YYYYMMDD, YYYYMMDD-YYYYMMDD, -YYYYMMDD or YYYYMMDD- (PS3.4 C.2.2.2.5). */
function parseDateRange(v: string): { from?: string; to?: string } {
  const dash = v.indexOf('-');
  const [from, to] = dash < 0 ? [v, v] : [v.slice(0, dash), v.slice(dash + 1)];
  const ok = (d: string) => d === '' || (DATE.test(d) && !Number.isNaN(Date.parse(`${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6)}T00:00:00Z`)));
  if ((from === '' && to === '') || !ok(from) || !ok(to) || (from !== '' && to !== '' && from > to))
    throw new ValidationError(`StudyDate '${v.slice(0, 40)}' is not a date (YYYYMMDD) or a range (YYYYMMDD-YYYYMMDD, -YYYYMMDD, YYYYMMDD-)`);
  return { ...(from ? { from } : {}), ...(to ? { to } : {}) };
}

function send(reply: FastifyReply, parsed: { ignored: string[]; capped: boolean }, body: DicomJsonDataset[]) {
  const warnings: string[] = [];
  // The ignored keys are the client's text: only printable ASCII outside quotes goes into the header
  // (a control or non-ASCII character there would make Node refuse to write the response at all).
  const keys = parsed.ignored.map((k) => k.replace(/[^\x20-\x7e]|["\\]/g, '?'));
  if (keys.length) warnings.push(`299 secondread "The following query keys are not supported and were ignored: ${keys.join(', ')}"`);
  // PS3.18 8.3.4.4: a limit above the server's maximum returns that maximum, and says more may follow.
  if (parsed.capped && body.length === QIDO_MAX_LIMIT)
    warnings.push('299 secondread "The number of results exceeded the maximum supported by the server. Additional results can be requested."');
  if (warnings.length) void reply.header('warning', warnings.join(', '));
  return reply.type(DICOM_JSON).header('cache-control', 'private, no-store').send(JSON.stringify(body));
}

const searchQuerystring = {
  type: 'object',
  additionalProperties: true,
  description: 'QIDO-RS matching keys by keyword or tag (see the summary), limit (1…1000, default 100), offset',
  properties: {
    limit: { type: 'integer', minimum: 1, description: `at most ${QIDO_MAX_LIMIT} (larger values are capped)` },
    offset: { type: 'integer', minimum: 0 },
  },
} as const;

export async function qidoRoutes(app: FastifyInstance, opts: QidoRoutesOptions): Promise<void> {
  const { workflow } = opts;
  const response = { 200: dicomJsonArraySchema, ...errorResponses([400, 401, 403, 406, 500, 503]) };
  const negotiate = (request: FastifyRequest) => {
    if (!accepts(request, DICOM_JSON) && !accepts(request, 'application/json')) throw new NotAcceptableError([DICOM_JSON]);
  };

  app.get(
    '/dicomweb/studies',
    {
      schema: {
        tags: DICOMWEB_TAGS,
        summary: 'QIDO-RS: search studies by StudyInstanceUID, PatientID (the pseudonymous patient key), StudyDate (date or range), ModalitiesInStudy',
        querystring: searchQuerystring,
        produces: [DICOM_JSON],
        response,
      },
    },
    async (request, reply) => {
      negotiate(request);
      const parsed = parseQidoQuery(request.query as Record<string, unknown>, 'study');
      const base = serviceBase(request);
      const studies = await workflow.searchDicomStudies(parsed.query);
      return send(
        reply,
        parsed,
        studies.map((s) => ({
          '00080020': attr('DA', s.studyDate ?? undefined),
          '00080056': attr('CS', 'ONLINE'),
          '00080061': attr('CS', ...s.modalities),
          '00081190': attr('UR', studyUrl(base, s.studyInstanceUid)),
          '00100020': attr('LO', s.patientKey),
          '0020000D': attr('UI', s.studyInstanceUid),
          '00201206': attr('IS', s.series),
          '00201208': attr('IS', s.instances),
        })),
      );
    },
  );

  app.get(
    '/dicomweb/studies/:study/series',
    {
      schema: {
        tags: DICOMWEB_TAGS,
        summary: "QIDO-RS: a study's series, by SeriesInstanceUID and Modality",
        params: studyParams,
        querystring: searchQuerystring,
        produces: [DICOM_JSON],
        response,
      },
    },
    seriesSearch,
  );
  app.get(
    '/dicomweb/series',
    {
      schema: {
        tags: DICOMWEB_TAGS,
        summary: 'QIDO-RS: search series across studies, by StudyInstanceUID, PatientID, StudyDate, SeriesInstanceUID, Modality',
        querystring: searchQuerystring,
        produces: [DICOM_JSON],
        response,
      },
    },
    seriesSearch,
  );
  async function seriesSearch(request: FastifyRequest<{ Params: { study?: string } }>, reply: FastifyReply) {
    negotiate(request);
    const study = request.params.study;
    const parsed = parseQidoQuery(request.query as Record<string, unknown>, study === undefined ? 'allSeries' : 'series');
    const base = serviceBase(request);
    const series = await workflow.searchDicomSeries({ ...parsed.query, ...(study !== undefined ? { studyInstanceUids: [study] } : {}) });
    return send(
      reply,
      parsed,
      series.map((s) => ({
        '00080056': attr('CS', 'ONLINE'),
        '00080060': attr('CS', s.modality),
        '00081190': attr('UR', seriesUrl(base, s.studyInstanceUid, s.seriesInstanceUid)),
        '0020000D': attr('UI', s.studyInstanceUid),
        '0020000E': attr('UI', s.seriesInstanceUid),
        '00201209': attr('IS', s.instances),
      })),
    );
  }

  const instances = async (request: FastifyRequest<{ Params: { study?: string; series?: string } }>, reply: FastifyReply) => {
    negotiate(request);
    const parsed = parseQidoQuery(request.query as Record<string, unknown>, request.params.study === undefined ? 'allInstances' : 'instance');
    const base = serviceBase(request);
    const rows = await workflow.searchDicomInstances({
      ...parsed.query,
      ...(request.params.study !== undefined ? { studyInstanceUids: [request.params.study] } : {}),
      ...(request.params.series !== undefined ? { seriesInstanceUids: [request.params.series] } : {}),
    });
    return send(
      reply,
      parsed,
      rows.map((r) => ({
        '00080016': attr('UI', r.sop_class_uid),
        '00080018': attr('UI', r.sop_instance_uid),
        '00080056': attr('CS', 'ONLINE'),
        '00080060': attr('CS', r.modality || undefined),
        '00081190': attr('UR', instanceUrl(base, r.study_instance_uid, r.series_instance_uid, r.sop_instance_uid)),
        '00083002': attr('UI', r.transfer_syntax_uid),
        '0020000D': attr('UI', r.study_instance_uid),
        '0020000E': attr('UI', r.series_instance_uid),
        '00280010': attr('US', r.rows),
        '00280011': attr('US', r.columns),
      })),
    );
  };
  app.get(
    '/dicomweb/studies/:study/series/:series/instances',
    {
      schema: {
        tags: DICOMWEB_TAGS,
        summary: "QIDO-RS: a series' instances, by SOPInstanceUID, SOPClassUID",
        params: seriesParams,
        querystring: searchQuerystring,
        produces: [DICOM_JSON],
        response,
      },
    },
    instances,
  );
  app.get(
    '/dicomweb/studies/:study/instances',
    {
      schema: {
        tags: DICOMWEB_TAGS,
        summary: "QIDO-RS: a study's instances, by SeriesInstanceUID, SOPInstanceUID, SOPClassUID, Modality",
        params: studyParams,
        querystring: searchQuerystring,
        produces: [DICOM_JSON],
        response,
      },
    },
    instances,
  );
  app.get(
    '/dicomweb/instances',
    {
      schema: {
        tags: DICOMWEB_TAGS,
        summary:
          'QIDO-RS: search instances across studies, by StudyInstanceUID, PatientID, StudyDate, SeriesInstanceUID, SOPInstanceUID, SOPClassUID, Modality',
        querystring: searchQuerystring,
        produces: [DICOM_JSON],
        response,
      },
    },
    instances,
  );
}
