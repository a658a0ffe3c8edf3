// Shape inference registry: one function per ONNX op type, run by Graph.node for every node it adds.
import { EngineError } from '../errors.js';
import type { Attr, Dim, DType, Graph, TensorRef } from '../graph.js';
import { AttrView } from './attrs.js';
import { describe } from './shape-util.js';

export interface OutputSpec {
  dtype: DType;
  shape: Dim[];
  /** Build-time value of a small integer output (e.g. Shape), used to fold shapes statically. */
  value?: Dim[];
}

export class InferCtx extends AttrView {
  constructor(
    readonly g: Graph,
    readonly opType: string,
    readonly inputs: readonly (TensorRef | undefined)[],
    attrs: Readonly<Record<string, Attr>>,
    readonly nOutputs: number | undefined,
  ) {
    super(attrs);
  }

  /** A required input. */
  input(i: number): TensorRef {
    const t = this.inputs[i];
    if (!t) throw this.error(`input ${i} is required`);
    return t;
  }

  optional(i: number): TensorRef | undefined {
    return this.inputs[i];
  }

  /** Values of an integer input known at build time; throws if they are not. */
  values(i: number, what: string): readonly Dim[] {
    const v = this.g.valueOf(this.input(i));
    if (!v) throw this.error(`the ${what} input must be known at build time (a constant or a Shape)`);
    return v;
  }

  /** A fresh symbolic dim for a size that cannot be computed statically. */
  unknownDim(): string {
    return this.g.uniqueName(`${this.opType}_dim`);
  }

  error(message: string): EngineError {
    let n = this.inputs.length;
    while (n > 0 && !this.inputs[n - 1]) n--;
    const shapes = this.inputs
      .slice(0, n)
      .map((t) => (t ? describe(t) : '∅'))
      .join(', ');
    return new EngineError('shape_mismatch', `${this.opType}(${shapes}): ${message}`, { op: this.opType });
  }
}

export type ShapeFn = (ctx: InferCtx) => OutputSpec[];

const shapeFns = new Map<string, ShapeFn>();

export function registerShape(opTypes: string | readonly string[], fn: ShapeFn): void {
  for (const op of typeof opTypes === 'string' ? [opTypes] : opTypes) shapeFns.set(op, fn);
}

export function hasShapeRule(opType: string): boolean {
  return shapeFns.has(opType);
}

export function inferOutputs(
  g: Graph,
  opType: string,
  inputs: readonly (TensorRef | undefined)[],
  attrs: Readonly<Record<string, Attr>>,
  nOutputs: number | undefined,
): OutputSpec[] {
  const fn = shapeFns.get(opType);
  if (!fn) throw new EngineError('unsupported_op', `the graph builder has no shape inference for op '${opType}'`, { op: opType });
  return fn(new InferCtx(g, opType, inputs, attrs, nOutputs));
}
