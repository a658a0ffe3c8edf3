import { describe, expect, it } from 'vitest';

import { ValidationError } from '../core/errors.js';
import { type BatcherTimers, DEFAULT_BATCHER_OPTIONS, DynamicBatcher } from './batcher.js';
import { ClientGoneError, InferenceTimeoutError, ModelNotReadyError, QueueFullError } from './errors.js';
import type { BatchObserver } from './types.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A batch function whose calls are recorded and finish only when the test says so. */
function gatedRun() {
  const batches: number[][] = [];
  const gates: { release(): void; fail(e: Error): void }[] = [];
  const run = (inputs: number[]): Promise<number[]> => {
    batches.push(inputs);
    return new Promise((resolve, reject) => gates.push({ release: () => resolve(inputs.map((x) => x * 10)), fail: reject }));
  };
  return { run, batches, gates };
}

/** Records what the batcher reports. */
function recorder() {
  const events = { batches: [] as { size: number; queueMs: number[]; computeMs: number }[], dropped: [] as string[], depth: [] as number[] };
  const observer: BatchObserver = { batch: (e) => events.batches.push(e), dropped: (r) => events.dropped.push(r), queueDepth: (d) => events.depth.push(d) };
  return { events, observer };
}

const immediate = async (x: number[]) => x.map((v) => v * 10);

/** Lets every pending promise callback run (the batcher itself never uses setImmediate). */
const settle = () => new Promise((r) => setImmediate(r));

/** A clock that moves only when the test says: timers fire in due order as `advance` passes them. */
function fakeTimers() {
  let t = 0;
  let seq = 0;
  let calls = 0;
  const pending: { at: number; seq: number; fn: () => void }[] = [];
  const timers: BatcherTimers = {
    now: () => t,
    setTimeout: (fn, ms) => {
      calls++;
      const h = { at: t + Math.max(0, ms), seq: seq++, fn };
      pending.push(h);
      return h;
    },
    clearTimeout: (h) => {
      const i = pending.indexOf(h as (typeof pending)[number]);
      if (i >= 0) pending.splice(i, 1);
    },
  };
  return {
    timers,
    now: () => t,
    /** Timers armed and not yet fired or cleared. */
    armed: () => pending.length,
    /** setTimeout calls so far. */
    calls: () => calls,
    async advance(ms: number) {
      const until = t + ms;
      await settle();
      for (;;) {
        pending.sort((a, b) => a.at - b.at || a.seq - b.seq);
        const next = pending[0];
        if (!next || next.at > until) break;
        pending.shift();
        t = next.at;
        next.fn();
        await settle();
      }
      t = until;
      await settle();
    },
  };
}

describe('DynamicBatcher', () => {
  it('forms one batch from requests that arrive within the queue delay, and answers each with its own output', async () => {
    const clock = fakeTimers();
    const { events, observer } = recorder();
    const seen: number[][] = [];
    const b = new DynamicBatcher<number, number>(async (x) => (seen.push(x), x.map((v) => v * 10)), { maxBatchSize: 8, maxQueueDelayUs: 30_000 }, observer, {
      timers: clock.timers,
    });
    const out = Promise.all([1, 2, 3, 4, 5].map((v) => b.submit(v)));
    await clock.advance(29);
    expect(seen).toEqual([]); // still waiting for company
    await clock.advance(1);
    expect(await out).toEqual([10, 20, 30, 40, 50]);
    expect(seen).toEqual([[1, 2, 3, 4, 5]]);
    expect(events.batches).toHaveLength(1);
    expect(events.batches[0]!.size).toBe(5);
    expect(events.batches[0]!.queueMs).toEqual([30, 30, 30, 30, 30]); // each waited exactly the delay
    expect(events.depth.at(-1)).toBe(0);
  });

  it('never exceeds the max batch size, and a full batch leaves without waiting for the delay', async () => {
    const seen: number[][] = [];
    const b = new DynamicBatcher<number, number>(async (x) => (seen.push(x), x), { maxBatchSize: 4, maxQueueDelayUs: 5_000_000 });
    const t0 = performance.now();
    await Promise.all(Array.from({ length: 8 }, (_, i) => b.submit(i)));
    expect(performance.now() - t0).toBeLessThan(1000); // not the 5 s delay
    expect(seen).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
    ]);
  });

  it('dispatches a preferred batch size at once; the remainder waits for the delay', async () => {
    const { events, observer } = recorder();
    const b = new DynamicBatcher<number, number>(immediate, { maxBatchSize: 16, preferredBatchSizes: [2, 4], maxQueueDelayUs: 300_000 }, observer);
    const t0 = performance.now();
    const first = Promise.all([1, 2, 3, 4].map((v) => b.submit(v)));
    await first;
    const tPreferred = performance.now() - t0;
    expect(tPreferred).toBeLessThan(200); // well before the 300 ms delay
    // The queue reaches 2 (preferred) → that batch goes; 3 and 4 queue behind it and leave as the next 2.
    expect(events.batches.map((e) => e.size)).toEqual([2, 2]);

    const t1 = performance.now();
    await b.submit(9); // 1 is not preferred: waits the full delay
    expect(performance.now() - t1).toBeGreaterThanOrEqual(250);
  });

  it('with batching off (max batch size 1) computes one request at a time, in arrival order', async () => {
    const g = gatedRun();
    const b = new DynamicBatcher<number, number>(g.run, { maxBatchSize: 1 });
    const all = Promise.all([1, 2, 3].map((v) => b.submit(v)));
    await sleep(5);
    expect(g.batches).toEqual([[1]]);
    expect(b.depth).toBe(2);
    g.gates[0]!.release();
    await sleep(5);
    g.gates[1]!.release();
    await sleep(5);
    g.gates[2]!.release();
    expect(await all).toEqual([10, 20, 30]);
    expect(g.batches).toEqual([[1], [2], [3]]);
  });

  it('batches what queued up while the instance was busy (up to the max size), with more instances in parallel', async () => {
    const g = gatedRun();
    const b = new DynamicBatcher<number, number>(g.run, { maxBatchSize: 3, maxQueueDelayUs: 0 });
    const all = Promise.all([1, 2, 3, 4, 5, 6].map((v) => b.submit(v)));
    await sleep(5);
    expect(g.batches).toEqual([[1]]); // no queue delay: the first request goes alone
    g.gates[0]!.release();
    await sleep(5);
    expect(g.batches[1]).toEqual([2, 3, 4]); // those that queued meanwhile, capped at 3
    g.gates[1]!.release();
    await sleep(5);
    expect(g.batches[2]).toEqual([5, 6]);
    g.gates[2]!.release();
    expect(await all).toEqual([10, 20, 30, 40, 50, 60]);

    const g2 = gatedRun();
    const b2 = new DynamicBatcher<number, number>(g2.run, { maxBatchSize: 1 }, {}, { instances: 2 });
    const two = Promise.all([1, 2, 3].map((v) => b2.submit(v)));
    await sleep(5);
    expect(g2.batches).toEqual([[1], [2]]);
    g2.gates.forEach((x) => x.release());
    await sleep(5);
    g2.gates.forEach((x) => x.release());
    expect(await two).toEqual([10, 20, 30]);
  });

  it('rejects with QueueFullError (503, retryAfterSeconds) when the queue is full', async () => {
    const { events, observer } = recorder();
    const g = gatedRun();
    const b = new DynamicBatcher<number, number>(g.run, { maxBatchSize: 1, maxQueueSize: 2 }, observer);
    const accepted = [b.submit(1), b.submit(2), b.submit(3)]; // 1 computing, 2 and 3 queued
    await sleep(5);
    const err = await b.submit(4).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QueueFullError);
    expect((err as QueueFullError).httpStatus).toBe(503);
    expect((err as QueueFullError).code).toBe('queue_full');
    expect((err as QueueFullError).retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(events.dropped).toEqual(['queue_full']);
    for (let i = 0; i < 3; i++) {
      g.gates[i]!.release();
      await sleep(5);
    }
    expect(await Promise.all(accepted)).toEqual([10, 20, 30]);
  });

  it('times out a request still queued after its deadline (504), and run never sees it', async () => {
    const { events, observer } = recorder();
    const g = gatedRun();
    const b = new DynamicBatcher<number, number>(g.run, { maxBatchSize: 1, defaultTimeoutUs: 5_000_000 }, observer);
    const first = b.submit(1);
    const late = b.submit(2, { timeoutUs: 30_000 });
    const err = await late.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InferenceTimeoutError);
    expect((err as InferenceTimeoutError).httpStatus).toBe(504);
    expect(events.dropped).toEqual(['timeout']);
    expect(b.depth).toBe(0);
    g.gates[0]!.release();
    expect(await first).toBe(10);
    await sleep(5);
    expect(g.batches).toEqual([[1]]);
  });

  it('drops a request whose client went away before its batch formed: run never sees it (499)', async () => {
    const { events, observer } = recorder();
    const seen: number[][] = [];
    const b = new DynamicBatcher<number, number>(async (x) => (seen.push(x), x), { maxBatchSize: 8, maxQueueDelayUs: 50_000 }, observer);
    const gone = new AbortController();
    const kept = [b.submit(1), b.submit(3)];
    const dropped = b.submit(2, { signal: gone.signal });
    await sleep(5);
    gone.abort();
    const err = await dropped.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClientGoneError);
    expect((err as ClientGoneError).httpStatus).toBe(499);
    expect(await Promise.all(kept)).toEqual([1, 3]);
    expect(seen).toEqual([[1, 3]]);
    expect(events.dropped).toEqual(['client_gone']);
    // An already-aborted signal is refused at the door.
    await expect(b.submit(4, { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(ClientGoneError);
    expect(seen).toEqual([[1, 3]]);
  });

  it('an error in run rejects every request of that batch, and only of that batch', async () => {
    const b = new DynamicBatcher<number, number>(
      async (x) => {
        if (x.includes(13)) throw new Error('bad batch');
        return x;
      },
      { maxBatchSize: 2, maxQueueDelayUs: 1_000_000 },
    );
    const results = await Promise.allSettled([b.submit(12), b.submit(13), b.submit(14), b.submit(15)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'fulfilled', 'fulfilled']);
    expect((results[0] as PromiseRejectedResult).reason).toMatchObject({ message: 'bad batch' });
    // A wrong number of outputs is an error too, never a silent mismatch.
    const short = new DynamicBatcher<number, number>(async (x) => x.slice(1), { maxBatchSize: 2, maxQueueDelayUs: 1_000_000 });
    await expect(Promise.all([short.submit(1), short.submit(2)])).rejects.toMatchObject({ code: 'internal' });
  });

  it('drain finishes everything queued and in flight without waiting for the delay, then refuses new requests', async () => {
    const g = gatedRun();
    const b = new DynamicBatcher<number, number>(g.run, { maxBatchSize: 2, maxQueueDelayUs: 10_000_000 });
    const all = Promise.all([1, 2, 3].map((v) => b.submit(v)));
    await sleep(5);
    expect(g.batches).toEqual([[1, 2]]); // 3 waits for company (10 s delay)
    let drained = false;
    const d = b.drain().then(() => (drained = true));
    await expect(b.submit(4)).rejects.toBeInstanceOf(ModelNotReadyError);
    g.gates[0]!.release();
    await sleep(5);
    expect(g.batches).toEqual([[1, 2], [3]]); // draining: the remainder goes at once
    expect(drained).toBe(false);
    g.gates[1]!.release();
    await d;
    expect(await all).toEqual([10, 20, 30]);
    await b.drain(); // idle: returns at once
  });

  it('refuses nonsensical options', () => {
    expect(() => new DynamicBatcher(immediate, { maxBatchSize: 0 })).toThrow(ValidationError);
    expect(() => new DynamicBatcher(immediate, { maxBatchSize: 4, preferredBatchSizes: [8] })).toThrow(/exceeds/);
    expect(() => new DynamicBatcher(immediate, { maxQueueDelayUs: -1 })).toThrow(ValidationError);
  });

  describe('greedy by default: batching never costs a lone request latency (fake clock)', () => {
    it('a lone request on an idle instance is computed at once: no timer, zero queue time, answered with the clock unmoved', async () => {
      expect(DEFAULT_BATCHER_OPTIONS.maxQueueDelayUs).toBe(0);
      const clock = fakeTimers();
      const { events, observer } = recorder();
      const g = gatedRun();
      const b = new DynamicBatcher<number, number>(g.run, {}, observer, { timers: clock.timers });
      const answer = b.submit(7);
      expect(g.batches).toEqual([[7]]); // dispatched inside submit itself
      expect(b.depth).toBe(0);
      g.gates[0]!.release();
      expect(await answer).toBe(70);
      expect(clock.now()).toBe(0);
      expect(events.batches.map((e) => [e.size, e.queueMs])).toEqual([[1, [0]]]);
      expect(clock.calls()).toBe(1); // the request's own deadline, no batching timer
      expect(clock.armed()).toBe(0); // and that deadline is cleared
    });

    it('under load, what arrives while the instance is busy leaves as one batch the moment it frees up', async () => {
      const clock = fakeTimers();
      const { events, observer } = recorder();
      const g = gatedRun();
      const b = new DynamicBatcher<number, number>(g.run, { maxBatchSize: 32 }, observer, { timers: clock.timers });
      const first = b.submit(1);
      const rest: Promise<number>[] = [];
      for (const v of [2, 3, 4, 5, 6]) {
        await clock.advance(1); // arrivals spread over the first batch's compute
        rest.push(b.submit(v));
      }
      expect(g.batches).toEqual([[1]]);
      expect(b.depth).toBe(5);
      g.gates[0]!.release();
      await settle();
      expect(g.batches[1]).toEqual([2, 3, 4, 5, 6]); // no clock movement needed
      expect(clock.now()).toBe(5);
      g.gates[1]!.release();
      expect(await first).toBe(10);
      expect(await Promise.all(rest)).toEqual([20, 30, 40, 50, 60]);
      // Each waited only for the busy instance: 4, 3, 2, 1, 0 ms.
      expect(events.batches[1]!.queueMs).toEqual([4, 3, 2, 1, 0]);
    });

    it('never exceeds the max batch size, keeps arrival order across batches, and fills every instance', async () => {
      const clock = fakeTimers();
      const g = gatedRun();
      const b = new DynamicBatcher<number, number>(g.run, { maxBatchSize: 4 }, {}, { timers: clock.timers, instances: 2 });
      const all = Array.from({ length: 12 }, (_, i) => b.submit(i));
      // Two instances: the first two requests each start a batch of one at once; the other ten queue.
      expect(g.batches).toEqual([[0], [1]]);
      g.gates[0]!.release();
      await settle();
      expect(g.batches[2]).toEqual([2, 3, 4, 5]);
      g.gates[1]!.release();
      await settle();
      expect(g.batches[3]).toEqual([6, 7, 8, 9]);
      g.gates[2]!.release();
      await settle();
      expect(g.batches[4]).toEqual([10, 11]);
      g.gates.slice(3).forEach((x) => x.release());
      expect(await Promise.all(all)).toEqual(Array.from({ length: 12 }, (_, i) => i * 10));
      expect(g.batches.flat()).toEqual(Array.from({ length: 12 }, (_, i) => i)); // FIFO: nobody overtaken
      expect(Math.max(...g.batches.map((x) => x.length))).toBe(4);
      expect(clock.now()).toBe(0);
    });

    it('a request dropped from the middle of the queue (timeout, client gone) leaves the others in order', async () => {
      const clock = fakeTimers();
      const { events, observer } = recorder();
      const g = gatedRun();
      const b = new DynamicBatcher<number, number>(g.run, { maxBatchSize: 8 }, observer, { timers: clock.timers });
      const busy = b.submit(0);
      const gone = new AbortController();
      const a = b.submit(1);
      const dropped = b.submit(2, { signal: gone.signal });
      const late = b.submit(3, { timeoutUs: 5_000 });
      const c = b.submit(4);
      const errors = Promise.all([dropped.catch((e: unknown) => e), late.catch((e: unknown) => e)]);
      gone.abort();
      await clock.advance(5);
      const [goneErr, lateErr] = await errors;
      expect(goneErr).toBeInstanceOf(ClientGoneError);
      expect(lateErr).toBeInstanceOf(InferenceTimeoutError);
      g.gates[0]!.release();
      await settle();
      expect(g.batches[1]).toEqual([1, 4]);
      g.gates[1]!.release();
      expect(await Promise.all([busy, a, c])).toEqual([0, 10, 40]);
      expect(events.dropped).toEqual(['client_gone', 'timeout']);
    });

    it('an error fails exactly the requests of its batch, each with that error; the next batch is computed and answered', async () => {
      const clock = fakeTimers();
      const g = gatedRun();
      const b = new DynamicBatcher<number, number>(g.run, { maxBatchSize: 3 }, {}, { timers: clock.timers });
      const first = b.submit(1);
      const second = [b.submit(2), b.submit(3), b.submit(4)];
      const third = [b.submit(5)];
      const outcomes = Promise.allSettled([first, ...second, ...third]); // observed before any of them settles
      g.gates[0]!.release();
      await settle();
      expect(g.batches[1]).toEqual([2, 3, 4]);
      const boom = new Error('session failed');
      g.gates[1]!.fail(boom);
      await settle();
      expect(g.batches[2]).toEqual([5]); // the failure did not stall the queue
      g.gates[2]!.release();
      const settled = await outcomes;
      expect(settled.map((r) => (r.status === 'fulfilled' ? r.value : r.reason))).toEqual([10, boom, boom, boom, 50]);
    });

    it('preferred batch sizes shape greedy batches: the largest one the queue fills leaves first', async () => {
      const clock = fakeTimers();
      const g = gatedRun();
      const b = new DynamicBatcher<number, number>(g.run, { maxBatchSize: 16, preferredBatchSizes: [4, 8] }, {}, { timers: clock.timers });
      const all = Array.from({ length: 11 }, (_, i) => b.submit(i));
      expect(g.batches).toEqual([[0]]);
      for (let i = 0; i < 3; i++) {
        g.gates[i]!.release();
        await settle();
      }
      expect(g.batches.map((x) => x.length)).toEqual([1, 8, 2]); // 10 queued → 8, then the 2 left (no wait)
      expect(await Promise.all(all)).toHaveLength(11);
      expect(clock.now()).toBe(0);
    });

    it("with Triton's max queue delay set, a lone request waits exactly that delay for company", async () => {
      const clock = fakeTimers();
      const { events, observer } = recorder();
      const g = gatedRun();
      const b = new DynamicBatcher<number, number>(g.run, { maxBatchSize: 8, maxQueueDelayUs: 2000 }, observer, { timers: clock.timers });
      const lone = b.submit(1);
      await clock.advance(1.999);
      expect(g.batches).toEqual([]);
      const company = b.submit(2);
      await clock.advance(0.001);
      expect(g.batches).toEqual([[1, 2]]);
      g.gates[0]!.release();
      expect(await Promise.all([lone, company])).toEqual([10, 20]);
      expect(events.batches[0]!.queueMs.map((q) => Math.round(q * 1000))).toEqual([2000, 1]);
    });
  });
});
