// GET /healthz (liveness: the process answers) and GET /readyz (readiness: the database answers,
// serving is ready, the other dependencies answer — Redis and the object store, readiness.ts — and the
// server is not draining for shutdown; 503 + Retry-After otherwise). Both public, for probes.
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';

import type { Db } from '../../storage/db.js';
import { passes, type ReadinessCheck } from '../readiness.js';
import { typed } from '../type-provider.js';
import type { ServingPort } from '../types.js';

export interface HealthRoutesOptions {
  db: Db;
  serving: Pick<ServingPort, 'isReady'>;
  /** True once shutdown began: readiness fails so load balancers stop sending traffic. */
  draining: () => boolean;
  /** Further dependencies that must answer (compose.ts: Redis when configured, the object store). */
  checks?: readonly ReadinessCheck[];
}

/** Seconds a client or load balancer should wait before asking a not-ready server again. */
export const NOT_READY_RETRY_AFTER_S = 5;

type Check = 'ok' | 'failing' | 'draining' | 'not_ready';

const readyResponse = {
  type: 'object',
  additionalProperties: false,
  required: ['status', 'checks'],
  properties: {
    status: { type: 'string', enum: ['ready', 'not_ready'] },
    checks: {
      type: 'object',
      properties: { database: { type: 'string' }, serving: { type: 'string' }, server: { type: 'string' } },
      // redis, objects: one entry per configured dependency check.
      additionalProperties: { type: 'string' },
    },
  },
} as const;

export async function healthRoutes(fastify: FastifyInstance, opts: HealthRoutesOptions): Promise<void> {
  const app = typed(fastify);
  app.get(
    '/healthz',
    {
      config: { auth: 'public' },
      schema: {
        tags: ['health'],
        summary: 'Liveness: the process answers',
        response: { 200: { type: 'object', additionalProperties: false, required: ['status'], properties: { status: { type: 'string', enum: ['ok'] } } } },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      config: { auth: 'public' },
      schema: {
        tags: ['health'],
        summary: 'Readiness: database, Redis (when configured) and object store reachable, serving ready, not shutting down (503 otherwise)',
        response: { 200: readyResponse, 503: readyResponse },
      },
    },
    async (request, reply) => {
      const extra = opts.checks ?? [];
      const [database, serving, ...others] = await Promise.all([
        passes(() => sql`select 1`.execute(opts.db), request.log, 'database'),
        passes(() => opts.serving.isReady(), request.log, 'serving'),
        ...extra.map((c) => passes(() => c.probe(), request.log, c.name)),
      ]);
      const checks: Record<string, Check> = {
        database: database ? 'ok' : 'failing',
        serving: serving ? 'ok' : 'not_ready',
        server: opts.draining() ? 'draining' : 'ok',
      };
      extra.forEach((c, i) => (checks[c.name] = others[i] ? 'ok' : 'failing'));
      const ready = Object.values(checks).every((c) => c === 'ok');
      if (!ready) void reply.header('retry-after', String(NOT_READY_RETRY_AFTER_S));
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks });
    },
  );
}
