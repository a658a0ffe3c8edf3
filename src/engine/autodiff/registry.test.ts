// The gradient table: built from families, frozen, and an op defined in two families is an error.
import { describe, expect, it } from 'vitest';

import { EngineError } from '../errors.js';
import { gradientTable, type GradRule } from './registry.js';
import { GRADIENTS, registeredGradients } from './rules/index.js';

const rule: GradRule = (ctx) => [() => ctx.dy];

describe('gradientTable', () => {
  it('joins families into one frozen table', () => {
    const table = gradientTable({ a: { Neg: rule }, b: { Exp: rule } });
    expect(Object.keys(table).sort()).toEqual(['Exp', 'Neg']);
    expect(Object.isFrozen(table)).toBe(true);
    expect(table.toString).toBeUndefined(); // no prototype: only op types are keys
  });

  it('refuses an op defined in two families, naming both', () => {
    expect(() => gradientTable({ first: { Neg: rule }, second: { Neg: rule } })).toThrow(EngineError);
    expect(() => gradientTable({ first: { Neg: rule }, second: { Neg: rule } })).toThrow(/'Neg' is defined twice \(families first and second\)/);
  });

  it("the engine's table is frozen and covers the ops the models use", () => {
    expect(Object.isFrozen(GRADIENTS)).toBe(true);
    for (const op of [
      'Add',
      'MatMul',
      'Gemm',
      'Conv',
      'LayerNormalization',
      'BatchNormalizationTraining',
      'Gelu',
      'Softmax',
      'SoftmaxCrossEntropyLoss',
      'Slice',
    ]) {
      expect(registeredGradients()).toContain(op);
    }
  });
});
