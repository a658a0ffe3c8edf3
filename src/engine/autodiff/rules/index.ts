// The gradient table: every rule family joined into one frozen op type → rule map (an op in two families throws
// when this module loads). One file per family, as tfjs-core keeps one gradient config per kernel.
import { gradientTable, type GradRule } from '../registry.js';
import { activation } from './activation.js';
import { conv } from './conv.js';
import { elementwise } from './elementwise.js';
import { loss } from './loss.js';
import { matmul } from './matmul.js';
import { norm } from './norm.js';
import { reduction } from './reduce.js';
import { shape } from './shape.js';

export const GRADIENTS = gradientTable({ elementwise, activation, matmul, reduction, shape, loss, conv, norm });

/** The rule of `opType`, or undefined where the engine has none. */
export function gradientRule(opType: string): GradRule | undefined {
  return GRADIENTS[opType];
}

/** Op types with a gradient rule, sorted. */
export function registeredGradients(): string[] {
  return Object.keys(GRADIENTS).sort();
}
