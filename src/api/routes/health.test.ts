import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openApiFixture, type ApiFixture } from '../testing.js';

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
    expect((await f.app.inject({ method: 'GET', url: '/readyz' })).json()).toEqual({ status: 'ready', checks: { database: 'ok', serving: 'ok', server: 'ok' } });
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
    expect([res.statusCode, res.json().checks.database]).toEqual([503, 'failing']);
  });
});
