import { describe, expect, it } from 'vitest';

import { ValidationError } from '../core/errors.js';
import { DynamicBatcher } from './batcher.js';
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

describe('DynamicBatcher', () => {
  it('forms one batch from requests that arrive within the queue delay, and answers each with its own output', async () => {
    const { events, observer } = recorder();
    const seen: number[][] = [];
    const b = new DynamicBatcher<number, number>(async (x) => (seen.push(x), x.map((v) => v * 10)), { maxBatchSize: 8, maxQueueDelayUs: 30_000 }, observer);
    const out = await Promise.all([1, 2, 3, 4, 5].map((v) => b.submit(v)));
    expect(out).toEqual([10, 20, 30, 40, 50]);
    expect(seen).toEqual([[1, 2, 3, 4, 5]]);
    expect(events.batches).toHaveLength(1);
    expect(events.batches[0]!.size).toBe(5);
    // Each waited about the queue delay (timers are ms-grained and may fire late on a busy machine).
    for (const q of events.batches[0]!.queueMs) expect(q).toBeGreaterThanOrEqual(25);
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
});
