// JSON schemas shared by the routes: names and versions as the registry accepts them, the error
// bodies, the prediction. Validation happens here, at the edge; the services validate again.
import { ALIASES } from '../tracking/index.js';

/** The registry's model-name rule (src/tracking/names.ts), including its "no `..`" clause. */
export const modelNameSchema = { type: 'string', pattern: '^(?!.*\\.\\.)[a-z0-9][a-z0-9._-]{0,62}$', description: 'registered model name' } as const;
export const versionSchema = { type: 'integer', minimum: 1, maximum: 2_147_483_647, description: 'model version number' } as const;
export const aliasSchema = { type: 'string', enum: [...ALIASES], description: 'model alias' } as const;
/** Study ids come from PACS/RIS systems: allow their usual characters, nothing that could be markup or a path. */
export const studyIdSchema = {
  type: 'string',
  pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$',
  description: 'study id: the same study is always routed to the same deployment (canary stickiness)',
} as const;

/** `/v1/studies/:id…` route params. */
export const studyIdParams = { type: 'object', additionalProperties: false, required: ['id'], properties: { id: studyIdSchema } } as const;

export const ERROR_BODY_ID = 'ErrorBody';
export const KSERVE_ERROR_ID = 'KServeError';

export const errorBodySchema = {
  $id: ERROR_BODY_ID,
  type: 'object',
  description: 'Every error: a stable code to match on, a message for people, the request id to quote',
  required: ['code', 'message', 'requestId'],
  properties: {
    code: {
      type: 'string',
      examples: [
        'invalid_input',
        'unauthenticated',
        'forbidden',
        'not_found',
        'payload_too_large',
        'unsupported_media_type',
        'invalid_image',
        'image_too_large',
        'queue_full',
        'illegal_transition',
        'invalid_credentials',
        'rate_limited',
        'blinded',
        'internal',
      ],
    },
    message: { type: 'string' },
    details: { type: 'object', additionalProperties: true },
    requestId: { type: 'string' },
  },
} as const;

export const kserveErrorSchema = {
  $id: KSERVE_ERROR_ID,
  type: 'object',
  description: "KServe v2 error: the protocol's `error` string, plus the stable code and the request id",
  required: ['error', 'code', 'request_id'],
  properties: { error: { type: 'string' }, code: { type: 'string' }, request_id: { type: 'string' } },
} as const;

/** Added to every app (addSchema) and given to the type provider as references (type-provider.ts). */
export const sharedSchemas = [errorBodySchema, kserveErrorSchema] as const;

/** Response schemas for the error statuses a route can answer with (typed, so replies infer the error body). */
export function errorResponses<const S extends readonly number[], const Id extends string = typeof ERROR_BODY_ID>(
  statuses: S,
  id: Id = ERROR_BODY_ID as Id,
): { [K in S[number]]: { readonly $ref: `${Id}#` } } {
  return Object.fromEntries(statuses.map((s) => [s, { $ref: `${id}#` }])) as { [K in S[number]]: { readonly $ref: `${Id}#` } };
}

export const classProbabilitySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['class', 'probability'],
  properties: { class: { type: 'string' }, probability: { type: 'number', minimum: 0, maximum: 1 } },
} as const;

/** One of a detector's boxes, in the original image's pixels: what predict answers and what a study's model read carries. */
export const detectionSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['class', 'score', 'box'],
  properties: {
    class: { type: 'string', description: "one of the model's classes" },
    score: { type: 'number', minimum: 0, maximum: 1, description: "the class probability, above the model's score threshold" },
    box: {
      type: 'array',
      items: { type: 'number', minimum: 0 },
      minItems: 4,
      maxItems: 4,
      description: "[x0, y0, x1, y1] in the ORIGINAL image's pixels (DICOM: Columns × Rows), continuous corners, x0 < x1, y0 < y1",
    },
  },
} as const;
