import { describe, expect, it } from 'vitest';

import { runSchedule, type ScheduleOptions } from './scheduler.js';
import { VirtualTimer } from './testing.js';

const items = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Runs the schedule on a virtual clock; each item's work sleeps `workMs` (or throws when `fail` says so). */
async function simulate(
  n: number,
  o: Partial<ScheduleOptions> & { workMs?: number | ((i: number) => number); fail?: (i: number) => boolean; at?: { ms: number; run: () => void }[] },
) {
  const timer = new VirtualTimer();
  let inFlight = 0;
  let maxInFlight = 0;
  const seenAbort: (AbortSignal | undefined)[] = [];
  const work = async (i: number, _index: number, abort: AbortSignal | undefined) => {
    seenAbort.push(abort);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      await timer.sleep(typeof o.workMs === 'function' ? o.workMs(i) : (o.workMs ?? 100));
      if (o.fail?.(i)) throw new Error(`item ${i} failed`);
      return i * 10;
    } finally {
      inFlight--;
    }
  };
  const result = await timer.drive(runSchedule(items(n), work, { rate: null, concurrency: 1, maxSeconds: null, ...o, timer }), o.at);
  const starts = [...result.settled].sort((a, b) => a.index - b.index).map((s) => s.startedMs);
  return { result, starts, maxInFlight, seenAbort };
}

describe('runSchedule', () => {
  it('starts at the rate: one start every 1/rate seconds', async () => {
    const { result, starts, maxInFlight } = await simulate(10, { rate: 5, concurrency: 10, workMs: 100 });
    expect(starts).toEqual([0, 200, 400, 600, 800, 1000, 1200, 1400, 1600, 1800]);
    expect(result).toMatchObject({ stoppedBy: 'complete', started: 10, succeeded: 10, failed: 0, notStarted: 0, elapsedMs: 1900 });
    expect(maxInFlight).toBe(1);
    expect(result.settled.map((s) => (s.ok ? s.value : null))).toEqual(items(10).map((i) => i * 10));
  });

  it('a timer that wakes a little early neither ends the run nor starts before the interval', async () => {
    const timer = new VirtualTimer(0.5);
    const starts: number[] = [];
    const r = await timer.drive(runSchedule(items(5), async () => starts.push(timer.now()), { rate: 20, concurrency: 1, maxSeconds: 600, timer }));
    expect(r).toMatchObject({ stoppedBy: 'complete', started: 5, notStarted: 0 });
    starts.slice(1).forEach((t, i) => expect(t - starts[i]!).toBeGreaterThanOrEqual(50));
  });

  it('never has more than `concurrency` in flight; without a rate it starts as slots free', async () => {
    const { result, starts, maxInFlight } = await simulate(7, { rate: null, concurrency: 3, workMs: 1000 });
    expect(maxInFlight).toBe(3);
    expect(starts).toEqual([0, 0, 0, 1000, 1000, 1000, 2000]);
    expect(result.elapsedMs).toBe(3000);
  });

  it('does not make up a stalled start with a burst: the interval counts from the previous start', async () => {
    // 10/s allowed, but 2 slots and 500 ms of work: starts follow the freed slots, never two at once.
    const { starts, maxInFlight } = await simulate(6, { rate: 10, concurrency: 2, workMs: 500 });
    expect(starts).toEqual([0, 100, 500, 600, 1000, 1100]);
    expect(maxInFlight).toBe(2);
  });

  it('starts nothing after --max-seconds, and awaits the work already started', async () => {
    const { result, starts } = await simulate(100, { rate: 2, concurrency: 10, maxSeconds: 3, workMs: 2000 });
    expect(starts).toEqual([0, 500, 1000, 1500, 2000, 2500]);
    expect(result).toMatchObject({ stoppedBy: 'max_seconds', started: 6, succeeded: 6, notStarted: 94 });
    // The last start (2.5 s) finishes 2 s later: in-flight work is never cut off by the deadline.
    expect(result.elapsedMs).toBe(4500);
  });

  it('a deadline that falls while waiting for the next start stops at the deadline', async () => {
    const { result, starts } = await simulate(10, { rate: 0.25, concurrency: 1, maxSeconds: 6, workMs: 10 });
    expect(starts).toEqual([0, 4000]);
    expect(result).toMatchObject({ stoppedBy: 'max_seconds', notStarted: 8 });
    expect(result.elapsedMs).toBe(6000);
  });

  it('stop (Ctrl-C) starts nothing more but lets the work in flight finish; abort reaches the work', async () => {
    const stop = new AbortController();
    const abort = new AbortController();
    const { result, starts, seenAbort } = await simulate(20, {
      rate: 4,
      concurrency: 4,
      workMs: 700,
      stop: stop.signal,
      abort: abort.signal,
      at: [{ ms: 1100, run: () => stop.abort() }],
    });
    expect(starts).toEqual([0, 250, 500, 750, 1000]);
    expect(result).toMatchObject({ stoppedBy: 'interrupted', started: 5, succeeded: 5, failed: 0, notStarted: 15, elapsedMs: 1700 });
    expect(seenAbort.every((s) => s === abort.signal)).toBe(true);
  });

  it('stop while every slot is busy ends the wait for a slot at once', async () => {
    const stop = new AbortController();
    const { result, starts } = await simulate(10, { rate: null, concurrency: 2, workMs: 5000, stop: stop.signal, at: [{ ms: 100, run: () => stop.abort() }] });
    expect(starts).toEqual([0, 0]);
    expect(result).toMatchObject({ stoppedBy: 'interrupted', started: 2, notStarted: 8, elapsedMs: 5000 });
  });

  it('records failures with their error and stops after --max-failures', async () => {
    const { result } = await simulate(10, { concurrency: 1, workMs: 10, fail: (i) => i % 2 === 1, maxFailures: 3 });
    expect(result).toMatchObject({ stoppedBy: 'max_failures', started: 6, succeeded: 3, failed: 3, notStarted: 4 });
    const failed = result.settled.filter((s) => !s.ok);
    expect(failed.map((s) => s.index)).toEqual([1, 3, 5]);
    expect(failed.map((s) => (s.ok ? null : (s.error as Error).message))).toEqual(['item 1 failed', 'item 3 failed', 'item 5 failed']);
  });

  it('reports each settled item with running counts', async () => {
    const timer = new VirtualTimer();
    const seen: [number, number, number][] = [];
    await timer.drive(
      runSchedule(items(3), async (i) => timer.sleep(10 * (3 - i)), {
        rate: null,
        concurrency: 3,
        maxSeconds: null,
        timer,
        onSettled: (s, c) => seen.push([s.index, c.succeeded, c.started]),
      }),
    );
    expect(seen).toEqual([
      [2, 1, 3],
      [1, 2, 3],
      [0, 3, 3],
    ]);
  });

  it('refuses nonsense bounds', async () => {
    const timer = new VirtualTimer();
    const run = (o: Partial<ScheduleOptions>) => runSchedule([1], async () => 1, { rate: null, concurrency: 1, maxSeconds: null, timer, ...o });
    await expect(run({ rate: 0 })).rejects.toThrow(/rate must be a positive number/);
    await expect(run({ rate: Number.NaN })).rejects.toThrow(/rate/);
    await expect(run({ concurrency: 0 })).rejects.toThrow(/concurrency/);
    await expect(run({ concurrency: 1.5 })).rejects.toThrow(/concurrency/);
    await expect(run({ maxSeconds: -1 })).rejects.toThrow(/max seconds/);
    await expect(run({ maxFailures: 0 })).rejects.toThrow(/max failures/);
  });

  it('an empty list completes at once', async () => {
    const r = await runSchedule([], async () => 1, { rate: 1, concurrency: 1, maxSeconds: 1, timer: new VirtualTimer() });
    expect(r).toMatchObject({ stoppedBy: 'complete', started: 0, notStarted: 0, settled: [] });
  });
});
