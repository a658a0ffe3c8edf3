// The OpenAPI 3 document of the app and its UI at /docs: the document's header (title, version,
// description, the bearer scheme, the tags the routes group under). @fastify/swagger builds the paths
// from every route's schema, so it must be registered before the routes; the UI serves the document
// at /docs/json and renders it at /docs.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

import { BEARER_SCHEME } from './auth.js';

export const DOCS_PREFIX = '/docs';

/** Route groups in the document (each route's `tags` names one of these). */
export const OPENAPI_TAGS = [
  { name: 'health', description: 'liveness and readiness probes' },
  { name: 'predict', description: 'classify images, or find boxes in them (detectors)' },
  { name: 'kserve-v2', description: 'KServe v2 / Open Inference Protocol (Triton-compatible JSON)' },
  { name: 'models', description: 'the model registry: versions, model cards, aliases with history; promote and rollback (ml-engineer, admin)' },
  { name: 'auth', description: 'log in and out (session tokens for the web UI)' },
  { name: 'datasets', description: 'dataset versions, counts per split and class, sample thumbnails' },
  { name: 'runs', description: 'training runs, metric series, comparisons' },
  { name: 'evaluations', description: 'background evaluations of model versions' },
  { name: 'monitoring', description: 'Prometheus metrics' },
  { name: 'studies', description: 'the second-reader workflow: intake, blinded study views, reads A and B, worklists, audit trail' },
  { name: 'workflow', description: 'decision policies and the workflow’s business and safety figures' },
  { name: 'dicomweb', description: 'DICOMweb (PS3.18): STOW-RS intake into the workflow, QIDO-RS search, WADO-RS retrieve — de-identified, DICOM JSON model' },
  { name: 'pacs', description: 'results sent back to the PACS nodes as DICOM SR: sent, pending, dead letters, skipped; retry' },
] as const;

/** Registers the document and its UI; call before registering the routes it should list. */
export async function registerOpenApi(app: FastifyInstance, version: string): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'secondread API',
        version,
        description:
          'Model serving (own JSON API and KServe v2 / Open Inference Protocol), the second-reader workflow, evaluations and metrics. Errors are JSON with a stable `code` and the `requestId`. Fields of the `/v1` routes are camelCase; the KServe v2 routes keep their protocol’s snake_case.',
      },
      components: { securitySchemes: { [BEARER_SCHEME]: { type: 'http', scheme: 'bearer', description: 'API token from `secondread users add`' } } },
      tags: [...OPENAPI_TAGS],
    },
  });
  await app.register(swaggerUi, { routePrefix: DOCS_PREFIX, staticCSP: true });
}
