// Graceful shutdown of the server: stop accepting connections, let the requests in flight finish
// (Fastify's close waits for them; readiness already answers 503 and new requests on kept-alive
// connections get 503 + Connection: close), then close what the server used, in order — serving
// (drains its batchers), the job queue, … — within a deadline.
import type { FastifyInstance } from 'fastify';

import type { Logger } from '../core/logger.js';

export interface Closer {
  name: string;
  close(): Promise<void>;
}

export interface ShutdownOptions {
  app: Pick<FastifyInstance, 'close'>;
  /** Closed after the HTTP server, in this order (each even when an earlier one failed). */
  closers: Closer[];
  logger: Logger;
  /** Past this, shutdown reports failure and stops waiting (default 30 s). */
  timeoutMs?: number;
}

export type ShutdownOutcome = 'clean' | 'errors' | 'timeout';

/** `shutdown(reason)`: idempotent — a second call returns the first one's outcome. */
export function createShutdown(o: ShutdownOptions): (reason: string) => Promise<ShutdownOutcome> {
  let running: Promise<ShutdownOutcome> | null = null;
  const timeoutMs = o.timeoutMs ?? 30_000;
  return (reason) =>
    (running ??= (async () => {
      const started = Date.now();
      o.logger.info({ reason }, 'shutting down: no new connections, draining requests in flight');
      let failed = false;
      const work = (async () => {
        for (const c of [{ name: 'http server', close: async () => void (await o.app.close()) }, ...o.closers]) {
          try {
            await c.close();
          } catch (err) {
            failed = true;
            o.logger.error({ err, closing: c.name }, 'closing failed during shutdown');
          }
        }
      })();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
      try {
        const outcome = await Promise.race([work.then(() => (failed ? 'errors' : 'clean') as ShutdownOutcome), deadline]);
        if (outcome === 'timeout') o.logger.error({ timeoutMs }, 'shutdown did not finish in time');
        else o.logger.info({ ms: Date.now() - started, outcome }, 'shutdown complete');
        return outcome;
      } finally {
        clearTimeout(timer);
      }
    })());
}
