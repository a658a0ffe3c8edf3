// Test fixture for the worker pool: squares a number, fails on a negative one.
import { ValidationError } from '../errors.js';
import { serveWorkerTasks } from '../workers.js';

serveWorkerTasks<number, number>((n) => {
  if (n < 0) throw new ValidationError(`cannot square negative ${n}`, { value: n });
  return { result: n * n };
});
