// Renders items through a worker pool (or inline) and post-processes them (encoding), at most `window`
// at a time, yielding results in item order: writers append in plan order, so output is reproducible.
import type { WorkerPool } from '../../core/workers.js';

export function orderedResults<I, T, R, O>(
  items: readonly I[],
  toTask: (item: I) => T,
  renderInline: (task: T) => R,
  post: (rendered: R, item: I) => Promise<O>,
  pool: WorkerPool<T, R> | undefined,
  window: number,
): AsyncGenerator<{ item: I; result: O }> {
  const start = (item: I): Promise<O> => {
    const rendered = pool ? pool.run(toTask(item)) : Promise.resolve().then(() => renderInline(toTask(item)));
    return rendered.then((r) => post(r, item));
  };
  return (async function* () {
    const inFlight: Array<Promise<O>> = [];
    let next = 0;
    for (let i = 0; i < items.length; i++) {
      while (next < items.length && next - i < window) {
        const p = start(items[next++] as I);
        p.catch(() => {}); // awaited below in order; this only stops an early failure from being "unhandled"
        inFlight.push(p);
      }
      const result = await (inFlight.shift() as Promise<O>);
      yield { item: items[i] as I, result };
    }
  })();
}
