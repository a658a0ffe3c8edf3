export { gradients, type GradientOptions } from './gradients.js';
export { GradContext, type GradFamily, type GradRule, type LazyGrad } from './registry.js';
export { gradientRule, registeredGradients } from './rules/index.js';
export { unbroadcast, expandLike, onesLike, zerosLike } from './helpers.js';
