// What /readyz asks besides the database and serving: the dependencies a request may need that can be
// lost while the process lives on — Redis (job queue, shared login limits) when configured, and the object
// store (every study's image). A probe that fails or does not answer within READINESS_TIMEOUT_MS makes the
// server not ready (503 + Retry-After), so a load balancer sends traffic elsewhere until it is back.
import { Redis } from 'ioredis';

import type { Logger } from '../core/logger.js';
import type { ObjectStore } from '../storage/object-store.js';

/** A named dependency check: resolves when the dependency answers, rejects (or hangs) when it does not. */
export interface ReadinessCheck {
  name: string;
  probe(): Promise<void>;
  close?(): Promise<void>;
}

/** A probe slower than this counts as failing: a readiness answer must come quickly, whatever the SDK's retries. */
export const READINESS_TIMEOUT_MS = 2000;

/** Key looked up (never written) by the object-store probe: absent is the normal answer. */
const PROBE_KEY = 'readyz/probe';

/** The object store answers a metadata lookup (S3: a HEAD request; filesystem: a stat). */
export function objectStoreReadiness(objects: Pick<ObjectStore, 'head'>): ReadinessCheck {
  return { name: 'objects', probe: async () => void (await objects.head(PROBE_KEY)) };
}

/**
 * Redis answers PING, on a connection of its own: no offline queue (a command while disconnected fails at
 * once instead of waiting for the reconnect), one try, a short timeout; ioredis reconnects in the background.
 */
export function redisReadiness(redisUrl: string, logger: Logger): ReadinessCheck {
  const redis = new Redis(redisUrl, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: READINESS_TIMEOUT_MS,
    commandTimeout: READINESS_TIMEOUT_MS,
    // Reconnect quickly after an outage so readiness comes back within a probe period or two.
    retryStrategy: (times) => Math.min(times * 200, 1000),
  });
  let lastWarning = 0;
  redis.on('error', (err: Error) => {
    if (Date.now() - lastWarning > 10_000) logger.debug({ err: err.message }, 'readiness: Redis connection error (reconnecting)');
    lastWarning = Date.now();
  });
  return {
    name: 'redis',
    probe: async () => void (await redis.ping()),
    close: async () => {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

/** True when `probe` resolves within READINESS_TIMEOUT_MS; a failure is an answer ("not ready"), its cause logged. */
export async function passes(probe: () => Promise<unknown>, log: { warn(o: object, msg: string): void }, what: string): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${READINESS_TIMEOUT_MS} ms`)), READINESS_TIMEOUT_MS);
  });
  try {
    const r = await Promise.race([probe(), timeout]);
    return r !== false;
  } catch (err) {
    log.warn({ err, check: what }, 'readiness probe failed');
    return false;
  } finally {
    clearTimeout(timer);
  }
}
