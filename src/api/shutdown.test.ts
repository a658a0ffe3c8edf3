import { describe, expect, it } from 'vitest';

import { silentLogger } from '../core/logger.js';
import { createShutdown } from './shutdown.js';

describe('createShutdown', () => {
  it('closes the HTTP server first, then the closers in order; a second call returns the same outcome', async () => {
    const order: string[] = [];
    const shutdown = createShutdown({
      app: { close: (async () => void order.push('http')) as never },
      closers: [
        { name: 'serving', close: async () => void order.push('serving') },
        { name: 'jobs', close: async () => void order.push('jobs') },
      ],
      logger: silentLogger,
    });
    const [a, b] = await Promise.all([shutdown('SIGTERM'), shutdown('SIGINT')]);
    expect([a, b]).toEqual(['clean', 'clean']);
    expect(order).toEqual(['http', 'serving', 'jobs']);
  });

  it('a failing closer does not stop the others; the outcome says so', async () => {
    const closed: string[] = [];
    const shutdown = createShutdown({
      app: { close: (async () => undefined) as never },
      closers: [
        { name: 'serving', close: async () => Promise.reject(new Error('boom')) },
        { name: 'jobs', close: async () => void closed.push('jobs') },
      ],
      logger: silentLogger,
    });
    expect(await shutdown('SIGTERM')).toBe('errors');
    expect(closed).toEqual(['jobs']);
  });

  it('gives up after the deadline', async () => {
    const shutdown = createShutdown({ app: { close: (() => new Promise(() => undefined)) as never }, closers: [], logger: silentLogger, timeoutMs: 50 });
    expect(await shutdown('SIGTERM')).toBe('timeout');
  });
});
