export * from './optimizer.js';
export { adamw, type AdamWOptions } from './adamw.js';
export { sgd, type SgdOptions } from './sgd.js';
export { clipScale, globalGradNorm } from './clip.js';
export * from './schedule.js';
