// The gradient table's types and its builder. A rule is the vector-Jacobian product of one op type (ONNX op or
// composite); each op family (./rules/<family>.ts) exports one object of rules, and ./rules/index.ts joins the
// families into one frozen table, where an op defined by two families is an error, not a silent replace.
//
// A rule returns, per input, a lazy gradient: a function that builds the gradient's nodes when called. The
// gradient builder (./gradients.ts) calls only those of inputs on a wrt → loss path, so unused gradients are
// pruned in that one place and a rule never asks which inputs are needed.
import { EngineError } from '../errors.js';
import type { Attr, Graph, TensorRef } from '../graph.js';
import { AttrView } from '../ops/attrs.js';

/** What a rule reads: the forward unit (inputs, outputs, attributes, a composite's saved tensors) and its cotangents. */
export class GradContext extends AttrView {
  constructor(
    readonly g: Graph,
    readonly opType: string,
    readonly inputs: readonly (TensorRef | undefined)[],
    readonly outputs: readonly TensorRef[],
    attrs: Readonly<Record<string, Attr>>,
    /** Cotangent of each output; undefined where the output does not reach the loss. */
    readonly dOutputs: readonly (TensorRef | undefined)[],
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

  /** Input i (required). */
  x(i: number): TensorRef {
    const t = this.inputs[i];
    if (!t) throw new EngineError('invalid_argument', `${this.opType}: input ${i} is missing`);
    return t;
  }

  /** Input i, or undefined where the optional input is omitted. */
  maybeX(i: number): TensorRef | undefined {
    return this.inputs[i];
  }

  /** Output i (required): forward results a rule reuses instead of recomputing. */
  y(i = 0): TensorRef {
    const t = this.outputs[i];
    if (!t) throw new EngineError('invalid_argument', `${this.opType}: output ${i} is not materialized`);
    return t;
  }

  /** Output i, or undefined where the optional output was not built (Dropout's mask, MaxPool's indices). */
  maybeY(i: number): TensorRef | undefined {
    return this.outputs[i];
  }

  /** A tensor the composite saved under `name` (required). */
  savedTensor(name: string): TensorRef {
    const t = this.saved[name];
    if (!t) throw new EngineError('invalid_argument', `${this.opType}: saved tensor '${name}' is missing`);
    return t;
  }
}

/** Builds one input's gradient; called only when that input needs one. */
export type LazyGrad = () => TensorRef;

/** One lazy gradient per input, by position; undefined where the input has none (ints, constant bounds). */
export type GradRule = (ctx: GradContext) => readonly (LazyGrad | undefined)[];

/** The rules of one op family, keyed by op type. */
export type GradFamily = Readonly<Record<string, GradRule>>;

/** The frozen table op type → rule, joined from named families; an op defined in two families throws. */
export function gradientTable(families: Readonly<Record<string, GradFamily>>): Readonly<Record<string, GradRule>> {
  const table: Record<string, GradRule> = Object.create(null) as Record<string, GradRule>;
  const owner = new Map<string, string>();
  for (const [family, rules] of Object.entries(families)) {
    for (const [op, rule] of Object.entries(rules)) {
      const first = owner.get(op);
      if (first !== undefined) {
        throw new EngineError('invalid_argument', `gradient rule for '${op}' is defined twice (families ${first} and ${family})`, { op });
      }
      owner.set(op, family);
      table[op] = rule;
    }
  }
  return Object.freeze(table);
}
