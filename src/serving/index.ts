// Serving: model runtime, dynamic batcher, deployments (alias, canary, shadow).
export * from './types.js';
export * from './errors.js';
export * from './batcher.js';
