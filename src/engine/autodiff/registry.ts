// The gradient registry: one vector-Jacobian rule per op type (ONNX op or composite), keyed by name.
import { EngineError } from '../errors.js';
import type { Attr, Graph, TensorRef } from '../graph.js';
import { AttrView } from '../ops/attrs.js';

export class GradContext extends AttrView {
  constructor(
    readonly g: Graph,
    readonly opType: string,
    readonly inputs: readonly (TensorRef | undefined)[],
    readonly outputs: readonly TensorRef[],
    attrs: Readonly<Record<string, Attr>>,
    /** Cotangent of each output; undefined where the output does not reach the loss. */
    readonly dOutputs: readonly (TensorRef | undefined)[],
    /** Whether input i needs a gradient; a rule may skip the others. */
    readonly needs: readonly boolean[],
    /** Forward intermediates a composite saved for its rule. */
    readonly saved: Readonly<Record<string, TensorRef>> = {},
  ) {
    super(attrs);
  }

  /** Cotangent of output 0 (present whenever the rule runs for a single-output op). */
  get dy(): TensorRef {
    const d = this.dOutputs[0];
    if (!d) throw new EngineError('invalid_argument', `${this.opType}: output 0 has no cotangent`);
    return d;
  }

  x(i: number): TensorRef {
    const t = this.inputs[i];
    if (!t) throw new EngineError('invalid_argument', `${this.opType}: input ${i} is missing`);
    return t;
  }

  y(i = 0): TensorRef {
    const t = this.outputs[i];
    if (!t) throw new EngineError('invalid_argument', `${this.opType}: output ${i} is not materialized`);
    return t;
  }

  savedTensor(name: string): TensorRef {
    const t = this.saved[name];
    if (!t) throw new EngineError('invalid_argument', `${this.opType}: saved tensor '${name}' is missing`);
    return t;
  }
}

/** Returns one gradient per input (undefined where not needed or not differentiable). */
export type GradRule = (ctx: GradContext) => (TensorRef | undefined)[];

const rules = new Map<string, GradRule>();

export function registerGradient(opType: string, rule: GradRule): void {
  rules.set(opType, rule);
}

export function gradientRule(opType: string): GradRule | undefined {
  return rules.get(opType);
}

export function registeredGradients(): string[] {
  return [...rules.keys()].sort();
}
