// Test helpers of the simulator (no vitest import, so any tier can use them): a virtual clock for the
// scheduler, so rate and deadline tests take no real time and cannot flake.
import type { Timer } from './scheduler.js';

interface Sleeper {
  at: number;
  seq: number;
  resolve: () => void;
}

/**
 * A Timer whose time moves only when `drive` says so: every sleeper waits for the virtual clock to
 * reach its wake-up time; `drive` lets all pending promise work settle, then jumps to the earliest
 * wake-up, until the driven promise is done.
 */
export class VirtualTimer implements Timer {
  /** @param earlyMs sleepers wake this much before their time, as real timers may (against a finer clock). */
  constructor(private readonly earlyMs = 0) {}

  private ms = 0;
  private seq = 0;
  private sleepers: Sleeper[] = [];

  now(): number {
    return this.ms;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const s: Sleeper = { at: this.ms + Math.max(0, ms - (ms > this.earlyMs ? this.earlyMs : 0)), seq: this.seq++, resolve };
      this.sleepers.push(s);
      signal?.addEventListener(
        'abort',
        () => {
          this.sleepers = this.sleepers.filter((x) => x !== s);
          resolve();
        },
        { once: true },
      );
    });
  }

  /** Runs virtual time forward until `p` settles; `at` hooks fire when the clock first reaches their time. */
  async drive<T>(p: Promise<T>, at: { ms: number; run: () => void }[] = []): Promise<T> {
    let done = false;
    const result = p.finally(() => (done = true));
    const hooks = [...at].sort((a, b) => a.ms - b.ms);
    for (;;) {
      await new Promise((r) => setImmediate(r));
      if (done) return result;
      this.sleepers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.sleepers[0];
      const hook = hooks[0];
      if (hook && (!next || hook.ms <= next.at)) {
        hooks.shift();
        this.ms = Math.max(this.ms, hook.ms);
        hook.run();
        continue;
      }
      if (!next) throw new Error('virtual timer: nothing is sleeping and the driven promise is still pending');
      this.sleepers.shift();
      this.ms = next.at;
      next.resolve();
    }
  }
}
