// GET /metrics: the Prometheus exposition of this process's registry. Needs a token (any role)
// unless the app was built with `publicMetrics` (a listener only Prometheus can reach).
import type { FastifyInstance } from 'fastify';

import type { Metrics } from '../../monitoring/metrics.js';
import { errorResponses } from '../schemas.js';

export interface MetricsRoutesOptions {
  metrics: Pick<Metrics, 'render' | 'contentType'>;
  publicMetrics: boolean;
}

export async function metricsRoutes(app: FastifyInstance, opts: MetricsRoutesOptions): Promise<void> {
  app.get(
    '/metrics',
    {
      config: { auth: opts.publicMetrics ? 'public' : 'any' },
      schema: {
        tags: ['monitoring'],
        summary: 'Prometheus metrics (text exposition format)',
        produces: ['text/plain'],
        response: { 200: { type: 'string', description: 'Prometheus text format 0.0.4' }, ...errorResponses([401, 403, 500]) },
      },
    },
    async (_request, reply) => reply.type(opts.metrics.contentType).send(await opts.metrics.render()),
  );
}
