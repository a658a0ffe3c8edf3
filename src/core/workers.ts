// A small worker-thread pool for CPU-bound work (phantom rendering, image decoding, ...). The CLI
// runs TypeScript through tsx, registered in the main thread only, so a worker whose module is a
// .ts file registers tsx itself first; built .js modules start plain.
import { availableParallelism } from 'node:os';
import { parentPort, type TransferListItem, Worker } from 'node:worker_threads';

import { SecondreadError } from './errors.js';

interface Request<T> {
  id: number;
  task: T;
}

type Reply<R> =
  { id: number; ok: true; result: R } | { id: number; ok: false; message: string; code?: string; httpStatus?: number; details?: Record<string, unknown> };

export interface WorkerPool<T, R> {
  readonly size: number;
  run(task: T): Promise<R>;
  /** Terminates the workers; pending tasks are rejected. */
  close(): Promise<void>;
}

/**
 * The URL of a module next to `fromUrl` (pass `import.meta.url`), with the same extension as the
 * caller: `.ts` when running from source under tsx or vitest, `.js` when running the build.
 */
export function siblingModule(fromUrl: string, basename: string): URL {
  const ext = new URL(fromUrl).pathname.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./${basename}${ext}`, fromUrl);
}

/**
 * A default pool size: one worker per core (at most `max`). The main thread mostly waits on the
 * workers and on native I/O (sharp, zlib), so it does not need a core of its own.
 */
export function defaultWorkerCount(max = 4): number {
  return Math.max(1, Math.min(max, availableParallelism()));
}

/**
 * Starts a worker on `moduleUrl`. Node 20 does not apply `--import` loader hooks to a worker's
 * entry module, so a .ts module is reached through a tiny bootstrap that registers tsx first.
 */
function startWorker(moduleUrl: URL): Worker {
  if (!moduleUrl.pathname.endsWith('.ts')) return new Worker(moduleUrl);
  // Resolved here (in this package), not from the user's working directory.
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then(({ register }) => { register(); return import(${JSON.stringify(moduleUrl.href)}); });`;
  return new Worker(bootstrap, { eval: true });
}

export function createWorkerPool<T, R>(moduleUrl: URL, size: number): WorkerPool<T, R> {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`worker pool size must be a positive integer, got ${size}`);
  const pending = new Map<number, { resolve: (r: R) => void; reject: (e: Error) => void }>();
  const waiting: Array<Request<T>> = [];
  const idle: Worker[] = [];
  const busy = new Map<Worker, number>();
  let nextId = 1;
  let closed = false;

  const dispatch = () => {
    while (idle.length > 0 && waiting.length > 0) {
      const worker = idle.pop() as Worker;
      const req = waiting.shift() as Request<T>;
      busy.set(worker, req.id);
      worker.postMessage(req);
    }
  };

  const workers = Array.from({ length: size }, () => {
    const worker = startWorker(moduleUrl);
    worker.on('message', (reply: Reply<R>) => {
      busy.delete(worker);
      idle.push(worker);
      const p = pending.get(reply.id);
      pending.delete(reply.id);
      if (reply.ok) p?.resolve(reply.result);
      // A typed error keeps its code, HTTP status and details across the thread boundary (its class does not).
      else p?.reject(new SecondreadError(reply.code ?? 'worker_task_failed', reply.message, reply.httpStatus ?? 500, reply.details));
      dispatch();
    });
    worker.on('error', (err) => {
      // A crashed worker fails its task and every queued one: the pool is no longer trustworthy.
      closed = true;
      for (const [, p] of pending) p.reject(err);
      pending.clear();
      waiting.length = 0;
    });
    idle.push(worker);
    return worker;
  });

  return {
    size,
    run(task) {
      if (closed) return Promise.reject(new Error('worker pool is closed'));
      const id = nextId++;
      return new Promise<R>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        waiting.push({ id, task });
        dispatch();
      });
    },
    async close() {
      closed = true;
      for (const [, p] of pending) p.reject(new Error('worker pool closed'));
      pending.clear();
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}

/**
 * The worker side: answers each task with `handler`'s result. The handler may name buffers to
 * transfer (not copy) back to the main thread.
 */
export function serveWorkerTasks<T, R>(
  handler: (task: T) => Promise<{ result: R; transfer?: TransferListItem[] }> | { result: R; transfer?: TransferListItem[] },
): void {
  const port = parentPort;
  if (!port) throw new Error('serveWorkerTasks must run inside a worker thread');
  port.on('message', async (req: Request<T>) => {
    try {
      const { result, transfer } = await handler(req.task);
      port.postMessage({ id: req.id, ok: true, result } satisfies Reply<R>, transfer);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const typed = err instanceof SecondreadError ? { code: err.code, httpStatus: err.httpStatus, details: err.details } : {};
      try {
        port.postMessage({ id: req.id, ok: false, message, ...typed } satisfies Reply<R>);
      } catch {
        // Details that cannot be cloned must not leave the task unanswered.
        port.postMessage({ id: req.id, ok: false, message, code: typed.code, httpStatus: typed.httpStatus } satisfies Reply<R>);
      }
    }
  });
}
