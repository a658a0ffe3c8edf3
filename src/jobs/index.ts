export * from './types.js';
export { JOB_FAILED, WORKER_LOST, JobQueueClosedError, UnknownJobKindError, jobErrorOf } from './errors.js';
export { createInProcessQueue, type InProcessQueueOptions } from './in-process.js';
export { DEFAULT_QUEUE_NAME, QueueUnavailableError, createBullQueue, type BullQueueOptions } from './bull.js';
export { jobBackend, openJobQueue, type OpenJobQueueDeps } from './open.js';
export { listJobsOfKind } from './store.js';
