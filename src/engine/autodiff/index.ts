export { gradients, type GradientOptions } from './gradients.js';
export { registerGradient, gradientRule, registeredGradients, GradContext, type GradRule } from './registry.js';
export { unbroadcast, expandLike, onesLike, zerosLike } from './helpers.js';
