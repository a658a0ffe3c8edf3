// The HTTP app: Fastify with one plugin per feature (src/api/routes), JSON schemas on every route,
// the OpenAPI document and its UI at /docs (openapi.ts), bearer-token auth, HTTP metrics, and every
// error mapped to a JSON body with a stable code in one place (errors.ts). buildApp does not listen and does not
// own its dependencies: the caller (`secondread serve`, tests) opens and closes them.
import type { IncomingMessage } from 'node:http';

import multipart from '@fastify/multipart';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';

import { newId } from '../core/ids.js';
import { ajvBinaryBodyPlugin } from './ajv-binary.js';
import { installAuth } from './auth.js';
import { sendError, ShuttingDownError } from './errors.js';
import { registerOpenApi } from './openapi.js';
import { authRoutes } from './routes/auth.js';
import { datasetsRoutes } from './routes/datasets.js';
import { dicomwebRoutes } from './routes/dicomweb/index.js';
import { driftRoutes } from './routes/drift.js';
import { evaluationRoutes } from './routes/evaluations.js';
import { healthRoutes } from './routes/health.js';
import { kserveRoutes } from './routes/kserve.js';
import { metricsRoutes } from './routes/metrics.js';
import { modelCatalogRoutes, modelsRoutes } from './routes/models.js';
import { pacsRoutes } from './routes/pacs.js';
import { policiesRoutes } from './routes/policies.js';
import { predictRoutes } from './routes/predict.js';
import { rolloutRoutes } from './routes/rollout.js';
import { runsRoutes } from './routes/runs.js';
import { saliencyRoutes } from './routes/saliency.js';
import { studiesRoutes } from './routes/studies.js';
import { studyDicomRoutes } from './routes/study-dicom.js';
import { webRoutes } from './routes/web.js';
import { workflowMetricsRoutes } from './routes/workflow-metrics.js';
import { worklistsRoutes } from './routes/worklists.js';
import { sharedSchemas } from './schemas.js';
import { installSecurityHeaders, securityHeaders } from './security-headers.js';
import { type ApiDeps, type ApiLimits, DEFAULT_LIMITS } from './types.js';

export const API_VERSION = '0.1.0';

/** A client-supplied X-Request-Id is kept when it is short and plain (so logs can be joined across services). */
const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

function requestId(req: IncomingMessage): string {
  const h = req.headers['x-request-id'];
  return typeof h === 'string' && CLIENT_REQUEST_ID.test(h) ? h : newId('req_');
}

/** Ajv as every route's schema expects it (also for apps tests build around one plugin). */
export const API_AJV = {
  // Unknown query or body fields are refused, not silently dropped.
  customOptions: { removeAdditional: false, coerceTypes: 'array' as const, useDefaults: true },
  plugins: [multipart.ajvFilePlugin, ajvBinaryBodyPlugin] as never[],
};

export async function buildApp(deps: ApiDeps): Promise<FastifyInstance> {
  const limits: ApiLimits = { ...DEFAULT_LIMITS, ...deps.limits };
  let draining = false;

  const app = Fastify({
    // Study ids may be 128 characters (STUDY_ID); Fastify's default 100 would answer 414 for the longest.
    routerOptions: { maxParamLength: 200 },
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Per-request info lines would cost more than a small model's inference; errors are still logged.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' }),
    genReqId: requestId,
    bodyLimit: limits.maxUploadBytes,
    requestTimeout: limits.requestTimeoutMs,
    // Requests arriving while shutting down get our JSON 503 (hook below), not Fastify's own body.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    // TLS terminated here (serve --tls-cert/--tls-key); behind a proxy that terminates it, plain HTTP (docs/operations.md).
    ...(deps.tls ? { https: { cert: deps.tls.cert, key: deps.tls.key } } : {}),
    ajv: API_AJV,
    // Errors the router raises before any route or hook runs (a URL with bad percent-escapes, a path
    // parameter over maxParamLength) get the same JSON body with a stable code as every other error,
    // not Fastify's own body with its FST_ code.
    frameworkErrors: (err, request, reply) => {
      securityHeaders(request, reply);
      return sendError(err, request, reply.header('x-request-id', request.id));
    },
  });

  for (const s of sharedSchemas) app.addSchema(s);
  app.setErrorHandler((err, request, reply) => sendError(err, request, reply));
  app.setNotFoundHandler((request, reply) =>
    sendError(Object.assign(new Error(`no route ${request.method} ${request.url.split('?')[0]!.slice(0, 200)}`), { statusCode: 404 }), request, reply),
  );

  app.addHook('onRequest', async (request, reply) => {
    void reply.header('x-request-id', request.id);
    // While draining, probes still answer (readiness says so); everything else goes elsewhere.
    if (draining && request.routeOptions.config?.auth !== 'public') throw new ShuttingDownError();
  });
  app.addHook('onResponse', async (request, reply) => {
    deps.metrics.observeHttp({
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      statusCode: reply.statusCode,
      seconds: reply.elapsedTime / 1000,
    });
  });
  app.addHook('preClose', async () => {
    draining = true;
  });
  // A response finished while shutting down closes its connection, so a kept-alive client does not
  // hold the server open (Fastify's close only drops connections that are idle when it starts).
  app.addHook('onSend', async (_request, reply) => {
    if (draining) void reply.header('connection', 'close');
  });

  installSecurityHeaders(app, { corsOrigins: deps.corsOrigins });
  installAuth(app, deps.users);

  await registerOpenApi(app, deps.serverVersion ?? API_VERSION);

  await app.register(healthRoutes, { db: deps.db, serving: deps.serving, draining: () => draining, checks: deps.readiness });
  await app.register(predictRoutes, { serving: deps.serving, limits });
  await app.register(kserveRoutes, {
    serving: deps.serving,
    draining: () => draining,
    serverName: 'secondread',
    serverVersion: deps.serverVersion ?? API_VERSION,
    maxTensorElements: Math.floor(limits.maxUploadBytes / 4),
  });
  await app.register(modelsRoutes, { registry: deps.registry });
  await app.register(evaluationRoutes, { evaluations: deps.evaluations });
  await app.register(metricsRoutes, { metrics: deps.metrics, publicMetrics: deps.publicMetrics ?? false });
  if (deps.workflow) {
    await app.register(studiesRoutes, { workflow: deps.workflow, limits });
    await app.register(studyDicomRoutes, { workflow: deps.workflow });
    await app.register(dicomwebRoutes, { workflow: deps.workflow, limits });
    await app.register(worklistsRoutes, { workflow: deps.workflow });
    await app.register(workflowMetricsRoutes, { workflow: deps.workflow });
    await app.register(policiesRoutes, { workflow: deps.workflow });
    if (deps.saliency) await app.register(saliencyRoutes, { workflow: deps.workflow, saliency: deps.saliency });
  }
  if (deps.accounts) await app.register(authRoutes, { users: deps.accounts, limiter: deps.loginLimiter });
  if (deps.modelCatalog) await app.register(modelCatalogRoutes, { registry: deps.modelCatalog });
  if (deps.objects) await app.register(datasetsRoutes, { db: deps.db, objects: deps.objects });
  if (deps.tracker) await app.register(runsRoutes, { tracker: deps.tracker });
  if (deps.pacs) await app.register(pacsRoutes, { exports: deps.pacs });
  if (deps.rollout) await app.register(rolloutRoutes, { rollout: deps.rollout });
  if (deps.drift) await app.register(driftRoutes, { drift: deps.drift });
  // Last: its GET /* answers every path no API route took (the single-page app's client-side routes).
  if (deps.web) await app.register(webRoutes, deps.web);
  return app;
}
