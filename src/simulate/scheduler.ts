// The replay scheduler: starts one unit of work per item at no more than `rate` per second (a fixed
// interval between starts; a stalled start is not made up later by a burst), with at most
// `concurrency` in flight, and stops starting work when the deadline passes, when too many items
// failed, or when `stop` is aborted (Ctrl-C). Work already started is always awaited, so the caller's
// tally and the server agree on every study that was begun; `abort` (a second Ctrl-C) is handed to the
// work itself to cut it short.
import { ValidationError } from '../core/errors.js';

/** Time as the scheduler sees it, injectable so tests run on a virtual clock. */
export interface Timer {
  /** Milliseconds on a monotonic clock. */
  now(): number;
  /** Resolves after `ms`, or early (without throwing) when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const realTimer: Timer = {
  now: () => performance.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const done = () => {
        clearTimeout(t);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const t = setTimeout(done, Math.max(0, ms));
      signal?.addEventListener('abort', done, { once: true });
    }),
};

export interface ScheduleOptions {
  /** Starts per second; null = as fast as the concurrency cap allows. */
  rate: number | null;
  /** Items in flight at once. */
  concurrency: number;
  /** No item starts after this many seconds from the first start (null: no time bound). */
  maxSeconds: number | null;
  /** Stop starting items once this many have failed (null: never). */
  maxFailures?: number | null;
  /** Aborted: start nothing more, await what is in flight. */
  stop?: AbortSignal;
  /** Passed to the work: aborted, the work should give up at once. */
  abort?: AbortSignal;
  timer?: Timer;
  /** Called after each item settles, in settling order. */
  onSettled?: (settled: Settled<unknown>, counts: ScheduleCounts) => void;
}

export type StopReason = 'complete' | 'max_seconds' | 'max_failures' | 'interrupted';

export type Settled<R> = { index: number; startedMs: number; endedMs: number } & ({ ok: true; value: R } | { ok: false; error: unknown });

export interface ScheduleCounts {
  started: number;
  succeeded: number;
  failed: number;
}

export interface ScheduleResult<R> extends ScheduleCounts {
  /** Settled items in settling order; items never started are absent. */
  settled: Settled<R>[];
  stoppedBy: StopReason;
  notStarted: number;
  /** From the scheduler's start to the last item settling. */
  elapsedMs: number;
}

export function validateScheduleOptions(o: Pick<ScheduleOptions, 'rate' | 'concurrency' | 'maxSeconds' | 'maxFailures'>): void {
  if (o.rate !== null && !(Number.isFinite(o.rate) && o.rate > 0))
    throw new ValidationError(`rate must be a positive number of studies per second, got ${o.rate}`);
  if (!Number.isInteger(o.concurrency) || o.concurrency < 1) throw new ValidationError(`concurrency must be a positive integer, got ${o.concurrency}`);
  if (o.maxSeconds !== null && !(Number.isFinite(o.maxSeconds) && o.maxSeconds > 0))
    throw new ValidationError(`max seconds must be a positive number, got ${o.maxSeconds}`);
  if (o.maxFailures != null && (!Number.isInteger(o.maxFailures) || o.maxFailures < 1))
    throw new ValidationError(`max failures must be a positive integer, got ${o.maxFailures}`);
}

/** Runs `work` over `items` under the options' rate, concurrency and bounds. Never throws for a failed item. */
export async function runSchedule<T, R>(
  items: readonly T[],
  work: (item: T, index: number, abort: AbortSignal | undefined) => Promise<R>,
  o: ScheduleOptions,
): Promise<ScheduleResult<R>> {
  validateScheduleOptions(o);
  const timer = o.timer ?? realTimer;
  const intervalMs = o.rate === null ? 0 : 1000 / o.rate;
  const t0 = timer.now();
  const deadline = o.maxSeconds === null ? Infinity : t0 + o.maxSeconds * 1000;
  const settled: Settled<R>[] = [];
  const counts: ScheduleCounts = { started: 0, succeeded: 0, failed: 0 };
  const inFlight = new Set<Promise<void>>();
  let stoppedBy: StopReason = 'complete';
  let nextStart = t0;

  // Wakes the start loop when an item settles (a slot frees up) or when stop aborts.
  let wake: () => void = () => {};
  const woken = () => new Promise<void>((resolve) => (wake = resolve));
  const onStop = () => wake();
  o.stop?.addEventListener('abort', onStop);

  const reasonToStop = (): StopReason | null => {
    if (o.stop?.aborted) return 'interrupted';
    if (o.maxFailures != null && counts.failed >= o.maxFailures) return 'max_failures';
    if (timer.now() >= deadline) return 'max_seconds';
    return null;
  };

  try {
    for (let i = 0; i < items.length; i++) {
      // A free slot first, then the start time: the interval counts from the previous start.
      while (inFlight.size >= o.concurrency && !o.stop?.aborted) await Promise.race([woken(), ...inFlight]);
      // Real timers may wake a fraction of a millisecond early: sleep again until the start time comes
      // (or the deadline, or a stop).
      while (timer.now() < nextStart && timer.now() < deadline && !o.stop?.aborted) await timer.sleep(Math.min(nextStart, deadline) - timer.now(), o.stop);
      const reason = reasonToStop();
      if (reason) {
        stoppedBy = reason;
        break;
      }
      const startedMs = timer.now() - t0;
      nextStart = timer.now() + intervalMs;
      counts.started++;
      const index = i;
      const p: Promise<void> = work(items[i]!, index, o.abort).then(
        (value) => {
          counts.succeeded++;
          record({ index, startedMs, endedMs: timer.now() - t0, ok: true, value });
        },
        (error: unknown) => {
          counts.failed++;
          record({ index, startedMs, endedMs: timer.now() - t0, ok: false, error });
        },
      );
      const tracked = p.finally(() => {
        inFlight.delete(tracked);
        wake();
      });
      inFlight.add(tracked);
    }
    while (inFlight.size > 0) await Promise.race(inFlight);
  } finally {
    o.stop?.removeEventListener('abort', onStop);
  }
  return { ...counts, settled, stoppedBy, notStarted: items.length - counts.started, elapsedMs: timer.now() - t0 };

  function record(s: Settled<R>): void {
    settled.push(s);
    o.onSettled?.(s as Settled<unknown>, { ...counts });
  }
}
