// The dynamic batcher: requests wait in a bounded FIFO queue and leave in batches, one forward pass per
// batch. One pass over B inputs costs far less than B passes of one, so under load throughput grows with
// the batch size.
//
// Default policy — greedy (continuous) batching: whenever a compute instance is free and the queue holds
// work, everything queued (up to the max batch size) leaves at once. A lone request on an idle server is
// therefore computed with no added delay, and what arrives while the instances are busy accumulates
// into the next batch: the batch size follows the load by itself, with no timer to tune. A fixed queue
// delay (the old default, 2 ms) cost every lone request that delay and halved throughput at one
// connection (docs/serving.md, benchmark).
//
// Triton's knobs stay for those who set them (https://docs.nvidia.com/deeplearning/triton-inference-server,
// "Dynamic Batcher"): with `maxQueueDelayUs > 0`, a free instance waits until the queue reaches the max
// batch size or one of the preferred sizes, or until the oldest request has waited the delay. Preferred
// sizes also shape greedy batches: the largest one the queue can fill leaves first.
//
// A request leaves the queue in exactly one way: in a batch (its promise settles with the batch's
// outcome), by timing out (InferenceTimeoutError), by its client going away (ClientGoneError) — the
// last two are dropped before compute, so `run` never sees them.
import { SecondreadError, ValidationError } from '../core/errors.js';
import { ClientGoneError, InferenceTimeoutError, ModelNotReadyError, QueueFullError } from './errors.js';
import type { BatcherOptions, BatchObserver } from './types.js';

export type { BatchObserver, BatcherOptions } from './types.js';

export const DEFAULT_BATCHER_OPTIONS: BatcherOptions = {
  maxBatchSize: 32,
  preferredBatchSizes: [],
  maxQueueDelayUs: 0,
  maxQueueSize: 256,
  defaultTimeoutUs: 10_000_000,
};

/** Time as the batcher sees it (milliseconds), injectable so that tests can run it on a fake clock. */
export interface BatcherTimers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: BatcherTimers = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout | undefined),
};

/** What is not one of Triton's dynamic_batching knobs: its instance_group count, and the clock. */
export interface BatcherRuntimeOptions {
  /** Batches computed at the same time (default 1: one session, one pass at a time). */
  instances?: number;
  timers?: BatcherTimers;
}

interface Pending<I, O> {
  input: I;
  enqueuedAt: number;
  resolve(o: O): void;
  reject(e: unknown): void;
  /** Removes the timeout timer and abort listener. */
  cleanup(): void;
}

export function validateBatcherOptions(o: BatcherOptions): BatcherOptions {
  const int = (v: number, min: number, what: string) => {
    if (!Number.isInteger(v) || v < min) throw new ValidationError(`${what} must be an integer ≥ ${min}, got ${v}`);
  };
  int(o.maxBatchSize, 1, 'maxBatchSize');
  int(o.maxQueueSize, 1, 'maxQueueSize');
  int(o.maxQueueDelayUs, 0, 'maxQueueDelayUs');
  if (!(o.defaultTimeoutUs > 0)) throw new ValidationError(`defaultTimeoutUs must be positive, got ${o.defaultTimeoutUs}`);
  for (const p of o.preferredBatchSizes) {
    int(p, 1, 'preferred batch size');
    if (p > o.maxBatchSize) throw new ValidationError(`preferred batch size ${p} exceeds maxBatchSize ${o.maxBatchSize}`);
  }
  return { ...o, preferredBatchSizes: [...new Set(o.preferredBatchSizes)].sort((a, b) => b - a) };
}

export class DynamicBatcher<I, O> {
  readonly options: BatcherOptions;
  private readonly queue: Pending<I, O>[] = [];
  private readonly instances: number;
  private inFlight = 0;
  private timer: unknown;
  private readonly timers: BatcherTimers;
  private draining = false;
  private readonly idleWaiters: (() => void)[] = [];
  /** Moving average of one batch's compute time: the Retry-After estimate when the queue is full. */
  private avgComputeMs = 0;

  constructor(
    private readonly run: (inputs: I[]) => Promise<O[]>,
    options: Partial<BatcherOptions> = {},
    private readonly observer: BatchObserver = {},
    runtime: BatcherRuntimeOptions = {},
  ) {
    this.options = validateBatcherOptions({ ...DEFAULT_BATCHER_OPTIONS, ...options });
    this.instances = runtime.instances ?? 1;
    this.timers = runtime.timers ?? realTimers;
    if (!Number.isInteger(this.instances) || this.instances < 1) throw new ValidationError(`instances must be an integer ≥ 1, got ${this.instances}`);
  }

  /** Requests waiting for a batch (not those being computed). */
  get depth(): number {
    return this.queue.length;
  }

  /**
   * A request whose signal aborts before its batch is formed is dropped before compute (ClientGoneError); one still
   * queued after `timeoutUs` (default the options' defaultTimeoutUs) is dropped with InferenceTimeoutError.
   */
  submit(input: I, o: { signal?: AbortSignal; timeoutUs?: number } = {}): Promise<O> {
    if (this.draining) return Promise.reject(new ModelNotReadyError('this model version is being unloaded; retry', { retryAfterSeconds: 1 }));
    if (o.signal?.aborted) {
      this.observer.dropped?.('client_gone');
      return Promise.reject(new ClientGoneError());
    }
    if (this.queue.length >= this.options.maxQueueSize) {
      this.observer.dropped?.('queue_full');
      const retryAfterSeconds = this.retryAfterSeconds();
      return Promise.reject(
        new QueueFullError(`the inference queue is full (${this.options.maxQueueSize} requests waiting); retry in ${retryAfterSeconds} s`, {
          retryAfterSeconds,
          queueSize: this.options.maxQueueSize,
        }),
      );
    }
    return new Promise<O>((resolve, reject) => {
      const timeoutMs = (o.timeoutUs ?? this.options.defaultTimeoutUs) / 1000;
      const signal = o.signal;
      const entry: Pending<I, O> = {
        input,
        enqueuedAt: this.timers.now(),
        resolve,
        reject,
        cleanup: () => {
          this.timers.clearTimeout(deadline);
          signal?.removeEventListener('abort', onAbort);
        },
      };
      const deadline = this.timers.setTimeout(
        () =>
          this.drop(
            entry,
            'timeout',
            new InferenceTimeoutError(`the request waited ${timeoutMs} ms in the inference queue without being computed`, { timeoutMs }),
          ),
        timeoutMs,
      );
      const onAbort = () => this.drop(entry, 'client_gone', new ClientGoneError());
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(entry);
      this.observer.queueDepth?.(this.queue.length);
      this.schedule();
    });
  }

  /** Stops accepting requests (ModelNotReadyError), then finishes everything queued and in flight. */
  async drain(): Promise<void> {
    this.draining = true;
    this.schedule();
    if (this.queue.length === 0 && this.inFlight === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private drop(entry: Pending<I, O>, reason: 'timeout' | 'client_gone', err: Error): void {
    const i = this.queue.indexOf(entry);
    if (i < 0) return; // already in a batch: its outcome is the batch's
    this.queue.splice(i, 1);
    entry.cleanup();
    this.observer.dropped?.(reason);
    this.observer.queueDepth?.(this.queue.length);
    entry.reject(err);
    this.notifyIdle();
  }

  /** Fills every free instance with a batch now, or (with a queue delay set) arms a timer for the oldest request's delay. */
  private schedule(): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    while (this.inFlight < this.instances && this.queue.length > 0) {
      const size = this.readySize();
      if (size === 0) {
        const waitedMs = this.timers.now() - this.queue[0]!.enqueuedAt;
        const leftMs = this.options.maxQueueDelayUs / 1000 - waitedMs;
        this.timer = this.timers.setTimeout(() => this.schedule(), Math.max(0, leftMs));
        return;
      }
      void this.dispatch(this.queue.splice(0, size));
    }
  }

  /** Size of the batch a free instance takes now, or 0 to keep waiting (only with a queue delay set). */
  private readySize(): number {
    const { maxBatchSize, preferredBatchSizes, maxQueueDelayUs } = this.options;
    const n = this.queue.length;
    if (n >= maxBatchSize) return maxBatchSize;
    // The largest preferred size the queue can fill goes at once (sorted descending).
    const preferred = preferredBatchSizes.find((p) => p <= n);
    if (preferred !== undefined) return preferred;
    // Greedy (delay 0): waiting for company would only delay what is queued, since a free instance
    // computes it now and whatever arrives meanwhile forms the next batch.
    if (maxQueueDelayUs === 0 || this.draining) return n;
    if ((this.timers.now() - this.queue[0]!.enqueuedAt) * 1000 >= maxQueueDelayUs) return n;
    return 0;
  }

  private async dispatch(batch: Pending<I, O>[]): Promise<void> {
    this.inFlight += 1;
    const start = this.timers.now();
    for (const e of batch) e.cleanup();
    this.observer.queueDepth?.(this.queue.length);
    try {
      let outputs: O[];
      try {
        outputs = await this.run(batch.map((e) => e.input));
        if (outputs.length !== batch.length)
          throw new SecondreadError('internal', `the batch function returned ${outputs.length} outputs for ${batch.length} inputs`, 500);
      } catch (err) {
        for (const e of batch) e.reject(err);
        return;
      }
      const computeMs = this.timers.now() - start;
      this.avgComputeMs = this.avgComputeMs === 0 ? computeMs : 0.8 * this.avgComputeMs + 0.2 * computeMs;
      // Answers first: nothing the observer does can keep them from their requests.
      batch.forEach((e, i) => e.resolve(outputs[i]!));
      this.observer.batch?.({ size: batch.length, queueMs: batch.map((e) => start - e.enqueuedAt), computeMs });
    } finally {
      this.inFlight -= 1;
      this.schedule();
      this.notifyIdle();
    }
  }

  /** Time for the queue ahead to clear, from recent batch compute times (at least 1 s). */
  private retryAfterSeconds(): number {
    const batchesAhead = Math.ceil(this.queue.length / this.options.maxBatchSize) / this.instances;
    return Math.max(1, Math.ceil((batchesAhead * this.avgComputeMs) / 1000));
  }

  private notifyIdle(): void {
    if (this.queue.length > 0 || this.inFlight > 0) return;
    for (const w of this.idleWaiters.splice(0)) w();
  }
}
