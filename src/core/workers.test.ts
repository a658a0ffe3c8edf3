import { describe, expect, it } from 'vitest';

import { createWorkerPool, siblingModule } from './workers.js';

describe('worker pool', () => {
  it('runs tasks on worker threads (TypeScript modules included) and keeps results paired with tasks', async () => {
    const pool = createWorkerPool<number, number>(siblingModule(import.meta.url, 'testdata/square-worker'), 2);
    try {
      const inputs = Array.from({ length: 20 }, (_, i) => i);
      expect(await Promise.all(inputs.map((n) => pool.run(n)))).toEqual(inputs.map((n) => n * n));
    } finally {
      await pool.close();
    }
  });

  it('rejects a failed task with the worker error code, HTTP status and details, and keeps serving others', async () => {
    const pool = createWorkerPool<number, number>(siblingModule(import.meta.url, 'testdata/square-worker'), 1);
    try {
      await expect(pool.run(-3)).rejects.toMatchObject({
        code: 'invalid_input',
        httpStatus: 400,
        details: { value: -3 },
        message: 'cannot square negative -3',
      });
      expect(await pool.run(7)).toBe(49);
    } finally {
      await pool.close();
    }
  });

  it('refuses a bad pool size and work after close', async () => {
    expect(() => createWorkerPool(new URL('file:///nope.js'), 0)).toThrow(RangeError);
    const pool = createWorkerPool<number, number>(siblingModule(import.meta.url, 'testdata/square-worker'), 1);
    await pool.close();
    await expect(pool.run(1)).rejects.toThrow(/closed/);
  });

  it("names sibling modules with the caller's extension", () => {
    expect(siblingModule('file:///a/b/x.ts', 'w').href).toBe('file:///a/b/w.ts');
    expect(siblingModule('file:///a/b/x.js', 'w').href).toBe('file:///a/b/w.js');
  });
});
