import { once } from 'node:events';
import { type AddressInfo, createConnection, type Socket } from 'node:net';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { grayPng } from '../../data/images/testing.js';
import { objectStoreReadiness, READINESS_TIMEOUT_MS } from '../readiness.js';
import { type ApiFixture, openApiFixture } from '../testing/fixture.js';

let f: ApiFixture;
beforeEach(async () => {
  f = await openApiFixture();
});
afterEach(async () => {
  await f.close();
});

describe('health', () => {
  it('/healthz answers without a token', async () => {
    const res = await f.app.inject({ method: 'GET', url: '/healthz' });
    expect([res.statusCode, res.json()]).toEqual([200, { status: 'ok' }]);
  });

  it('/readyz: ready when the database answers and serving is ready; 503 naming the failing check otherwise', async () => {
    expect((await f.app.inject({ method: 'GET', url: '/readyz' })).json()).toEqual({
      status: 'ready',
      checks: { database: 'ok', serving: 'ok', server: 'ok' },
    });
    f.serving.ready = false;
    let res = await f.app.inject({ method: 'GET', url: '/readyz' });
    expect([res.statusCode, res.json()]).toEqual([503, { status: 'not_ready', checks: { database: 'ok', serving: 'not_ready', server: 'ok' } }]);
    f.serving.ready = true;
    f.serving.isReady = async () => {
      throw new Error('runtime exploded');
    };
    res = await f.app.inject({ method: 'GET', url: '/readyz' });
    expect([res.statusCode, res.json().checks.serving]).toEqual([503, 'not_ready']);
    expect(res.body).not.toContain('exploded');
  });

  it('/readyz fails when the database is gone', async () => {
    await f.tracking.t.db.destroy();
    const res = await f.app.inject({ method: 'GET', url: '/readyz' });
    expect([res.statusCode, res.json().checks.database, res.headers['retry-after']]).toEqual([503, 'failing', '5']);
  });
});

describe('/readyz with dependency checks', () => {
  it('names each check; a failing or silent dependency makes it 503 with Retry-After, and it recovers', async () => {
    const app = await openApiFixture();
    let objects: 'up' | 'down' | 'hangs' = 'up';
    const store = {
      head: async () => {
        if (objects === 'down') throw new Error('connect ECONNREFUSED 127.0.0.1:9000');
        if (objects === 'hangs') await new Promise(() => {});
        return undefined;
      },
    };
    let redisUp = true;
    const checks = [objectStoreReadiness(store), { name: 'redis', probe: async () => void (redisUp || (await Promise.reject(new Error('gone')))) }];
    const withChecks = await openApiFixture({ deps: { readiness: checks } });
    try {
      let res = await withChecks.app.inject({ method: 'GET', url: '/readyz' });
      expect([res.statusCode, res.json(), res.headers['retry-after']]).toEqual([
        200,
        { status: 'ready', checks: { database: 'ok', serving: 'ok', server: 'ok', objects: 'ok', redis: 'ok' } },
        undefined,
      ]);
      objects = 'down';
      res = await withChecks.app.inject({ method: 'GET', url: '/readyz' });
      expect([res.statusCode, res.json().checks, res.headers['retry-after']]).toEqual([
        503,
        { database: 'ok', serving: 'ok', server: 'ok', objects: 'failing', redis: 'ok' },
        '5',
      ]);
      expect(res.body).not.toContain('ECONNREFUSED');
      redisUp = false;
      objects = 'hangs';
      const t0 = performance.now();
      res = await withChecks.app.inject({ method: 'GET', url: '/readyz' });
      expect(performance.now() - t0).toBeLessThan(READINESS_TIMEOUT_MS + 1000);
      expect([res.statusCode, res.json().checks.objects, res.json().checks.redis]).toEqual([503, 'failing', 'failing']);
      objects = 'up';
      redisUp = true;
      expect((await withChecks.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
      // Without checks (an app built around the database and serving alone) the answer has only those.
      expect(Object.keys((await app.app.inject({ method: 'GET', url: '/readyz' })).json().checks)).toEqual(['database', 'serving', 'server']);
    } finally {
      await withChecks.close();
      await app.close();
    }
  });
});

describe('while shutting down', () => {
  /** Raw HTTP/1.1 on one socket: the only way a request can still arrive once the server stopped accepting connections. */
  function rawRequest(socket: Socket, lines: string[], body: Uint8Array = new Uint8Array(0)): void {
    socket.write(Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\ncontent-length: ${body.length}\r\n\r\n`), body]));
  }

  it('the request in flight finishes with Connection: close; nothing more is taken on its connection', async () => {
    let release!: () => void;
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    f.serving.before = () => {
      entered();
      return new Promise<void>((r) => (release = r));
    };
    await f.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = f.app.server.address() as AddressInfo;
    const socket = createConnection({ host: '127.0.0.1', port });
    await once(socket, 'connect');
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
    const closed = once(socket, 'close');

    rawRequest(
      socket,
      ['POST /v1/models/cxr/predict HTTP/1.1', 'host: x', `authorization: Bearer ${f.tokens.reader}`, 'content-type: image/png'],
      await grayPng(16, 16, () => 9),
    );
    await inside;
    const closing = f.app.close();
    await new Promise((r) => setTimeout(r, 50));
    rawRequest(socket, ['GET /readyz HTTP/1.1', 'host: x']);
    rawRequest(socket, ['GET /v1/models HTTP/1.1', 'host: x', `authorization: Bearer ${f.tokens.reader}`]);
    await new Promise((r) => setTimeout(r, 50));
    release();
    await closing;
    await closed;

    // Node parses a pipelined request only after the previous answer; that answer closed the
    // connection, so the two requests sent during the drain are never taken up.
    const responses = received.split(/(?=HTTP\/1\.1 )/);
    expect(responses.map((r) => r.slice(0, 12))).toEqual(['HTTP/1.1 200']);
    expect(responses[0]).toMatch(/"top"/);
    expect(responses[0]).toMatch(/connection: close/i);
  });
});
