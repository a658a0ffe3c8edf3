// Serving: model runtime, dynamic batcher, deployments (alias, canary, shadow).
export * from './types.js';
export * from './errors.js';
export * from './batcher.js';
export { ModelRuntime, type RuntimeOptions } from './runtime.js';
export { DEFAULT_SERVING_OPTIONS, ServingService, canaryBucket, type ServingDeps } from './service.js';
export { type ShadowComparison, type ShadowStore } from './shadow.js';
