// Typed reads of a node's attributes, shared by shape inference (InferCtx) and gradient rules (GradContext).
import type { Attr } from '../graph.js';

export class AttrView {
  constructor(readonly attrs: Readonly<Record<string, Attr>>) {}

  int(name: string, dflt: number): number {
    const a = this.attrs[name];
    return a?.type === 'int' ? a.value : dflt;
  }

  float(name: string, dflt: number): number {
    const a = this.attrs[name];
    return a?.type === 'float' ? a.value : dflt;
  }

  ints(name: string): readonly number[] | undefined {
    const a = this.attrs[name];
    return a?.type === 'ints' ? a.value : undefined;
  }

  string(name: string, dflt: string): string {
    const a = this.attrs[name];
    return a?.type === 'string' ? a.value : dflt;
  }
}
