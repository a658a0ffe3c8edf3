// Background work serving starts but no request waits for (shadow scoring, unloading a retired version,
// a load a readiness probe started): tracked so that `settled()` and shutdown can wait for all of it.
export class BackgroundTasks {
  private readonly running = new Set<Promise<unknown>>();

  track(p: Promise<unknown>): void {
    const t = p.finally(() => this.running.delete(t));
    this.running.add(t);
  }

  /** Resolves when every task (including tasks started by tasks) has finished; never rejects. */
  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }
}
