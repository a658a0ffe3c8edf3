import { describe, expect, it } from 'vitest';

import { TaskPool } from './pool.js';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('TaskPool', () => {
  it('never runs more than `limit` tasks at once and finishes them all', async () => {
    const pool = new TaskPool(3);
    let running = 0;
    let peak = 0;
    let done = 0;
    for (let i = 0; i < 20; i++) {
      await pool.run(async () => {
        running += 1;
        peak = Math.max(peak, running);
        await tick(1 + (i % 3));
        running -= 1;
        done += 1;
      });
    }
    await pool.drain();
    expect(peak).toBe(3);
    expect(done).toBe(20);
  });

  it('stops the producer after a failure and rethrows it on drain', async () => {
    const pool = new TaskPool(2);
    let started = 0;
    const produce = async () => {
      for (let i = 0; i < 50; i++) {
        await pool.run(async () => {
          started += 1;
          await tick(1);
          if (i === 3) throw new Error('boom');
        });
      }
    };
    await expect(produce()).rejects.toThrow('boom');
    await expect(pool.drain()).rejects.toThrow('boom');
    expect(started).toBeLessThan(10);
  });
});
