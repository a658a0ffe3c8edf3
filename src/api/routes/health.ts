// GET /healthz (liveness: the process answers) and GET /readyz (readiness: the database answers,
// serving is ready, and the server is not draining for shutdown). Both public, for probes.
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';

import type { Db } from '../../storage/db.js';
import { typed } from '../type-provider.js';
import type { ServingPort } from '../types.js';

export interface HealthRoutesOptions {
  db: Db;
  serving: Pick<ServingPort, 'isReady'>;
  /** True once shutdown began: readiness fails so load balancers stop sending traffic. */
  draining: () => boolean;
}

type Check = 'ok' | 'failing' | 'draining' | 'not_ready';

const readyResponse = {
  type: 'object',
  additionalProperties: false,
  required: ['status', 'checks'],
  properties: {
    status: { type: 'string', enum: ['ready', 'not_ready'] },
    checks: {
      type: 'object',
      additionalProperties: false,
      properties: { database: { type: 'string' }, serving: { type: 'string' }, server: { type: 'string' } },
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
        summary: 'Readiness: database reachable, serving ready, not shutting down (503 otherwise)',
        response: { 200: readyResponse, 503: readyResponse },
      },
    },
    async (request, reply) => {
      const [database, serving] = await Promise.all([
        probe(async () => {
          await sql`select 1`.execute(opts.db);
          return true;
        }, request.log),
        probe(() => opts.serving.isReady(), request.log),
      ]);
      const checks: Record<string, Check> = {
        database: database ? 'ok' : 'failing',
        serving: serving ? 'ok' : 'not_ready',
        server: opts.draining() ? 'draining' : 'ok',
      };
      const ready = Object.values(checks).every((c) => c === 'ok');
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks });
    },
  );
}

/** A readiness probe that fails is an answer ("not ready"), not an error; the cause is logged. */
async function probe(fn: () => Promise<boolean>, log: { warn(o: object, msg: string): void }): Promise<boolean> {
  try {
    return await fn();
  } catch (err) {
    log.warn({ err }, 'readiness probe failed');
    return false;
  }
}
