/**
 * Reverse-mode autodiff over a built graph. The backward nodes are appended to the same graph, built only
 * from standard ONNX ops by the rules in ./rules (one per op type, composites included).
 *
 * 1. The graph is read as units: each composite (g.composite) is one unit, every other node is one.
 * 2. Pruning: a unit is differentiated only if it lies on a path from some `wrt` tensor to `loss` (a path that
 *    does not pass through a StopGradient).
 * 3. Units are visited in reverse order; the cotangents of a tensor that feeds several consumers are
 *    summed (Add/Sum) before its producer's rule runs. Integer/bool tensors never get gradients.
 * 4. A rule returns one lazy gradient per input; only those of inputs on a wrt → loss path are built (the
 *    one place unused gradients are pruned), then checked against the input's shape and dtype.
 */

import { EngineError } from '../errors.js';
import type { Attr, Graph, TensorRef } from '../graph.js';
import { isFloat } from '../onnx/dtype.js';
import { sum } from '../ops/elementwise.js';
import { describe, sameShape } from '../ops/shape-util.js';
import { onesLike, zerosLike } from './helpers.js';
import { GradContext } from './registry.js';
import { gradientRule } from './rules/index.js';

interface Unit {
  opType: string;
  inputs: readonly (TensorRef | undefined)[];
  outputs: readonly TensorRef[];
  attrs: Readonly<Record<string, Attr>>;
  saved: Readonly<Record<string, TensorRef>>;
  /** Tensors produced inside a composite that are not its outputs. */
  internal: readonly string[];
}

export interface GradientOptions {
  /** Upstream cotangent of `loss` (same shape); default ones (∂loss/∂loss). */
  seed?: TensorRef;
}

function units(g: Graph): Unit[] {
  const out: Unit[] = [];
  const comps = [...g.composites()].sort((a, b) => a.firstNode - b.firstNode);
  const nodes = g.nodes();
  let ci = 0;
  for (let i = 0; i < nodes.length;) {
    while (ci < comps.length && (comps[ci] as { firstNode: number }).firstNode < i) ci++; // nested: outer wins
    const c = comps[ci];
    if (c && c.firstNode === i && c.endNode > i) {
      const outNames = new Set(c.outputs.map((o) => o.name));
      const internal = nodes.slice(c.firstNode, c.endNode).flatMap((n) => n.outputs.filter((o) => !outNames.has(o)));
      out.push({ opType: c.opType, inputs: c.inputs, outputs: c.outputs, attrs: c.attrs, saved: c.saved, internal });
      i = c.endNode;
      ci++;
      continue;
    }
    const n = nodes[i] as (typeof nodes)[number];
    out.push({
      opType: n.opType,
      inputs: n.inputs.map((name) => (name ? g.tensor(name) : undefined)),
      outputs: n.outputs.map((name) => g.tensor(name)),
      attrs: n.attrs,
      saved: {},
      internal: [],
    });
    i++;
  }
  return out;
}

/**
 * Gradients of `loss` with respect to each `wrt` tensor, appended to `g`. A wrt tensor that does not
 * reach the loss gets a zero tensor. Returns a map keyed by the wrt tensor's name.
 */
export function gradients(g: Graph, loss: TensorRef, wrt: readonly TensorRef[], opts: GradientOptions = {}): Map<string, TensorRef> {
  if (!isFloat(loss.dtype)) throw new EngineError('invalid_argument', `loss '${loss.name}' must be a float tensor, got ${describe(loss)}`);
  for (const w of wrt) {
    if (!isFloat(w.dtype)) throw new EngineError('invalid_argument', `cannot differentiate with respect to '${w.name}' (${describe(w)}): not a float tensor`);
    g.tensor(w.name);
  }
  if (opts.seed && (!sameShape(opts.seed.shape, loss.shape) || opts.seed.dtype !== loss.dtype)) {
    throw new EngineError('shape_mismatch', `seed ${describe(opts.seed)} does not match loss ${describe(loss)}`);
  }
  const all = units(g);

  // Forward: tensors that depend on some wrt tensor. Nothing depends on a wrt tensor through a StopGradient, so
  // what is computed from its output (e.g. a detector's in-graph target assignment: TopK, ArgMax, one-hots) is
  // not differentiated and needs no gradient rules.
  const fromWrt = new Set(wrt.map((w) => w.name));
  for (const u of all) {
    if (u.opType === 'StopGradient') continue;
    if (u.inputs.some((t) => t && fromWrt.has(t.name))) {
      for (const o of u.outputs) if (isFloat(o.dtype)) fromWrt.add(o.name);
    }
  }
  // Backward: tensors the loss depends on.
  const toLoss = new Set([loss.name]);
  for (let i = all.length - 1; i >= 0; i--) {
    const u = all[i] as Unit;
    if (u.outputs.some((o) => toLoss.has(o.name))) for (const t of u.inputs) if (t) toLoss.add(t.name);
  }
  const onPath = (name: string): boolean => fromWrt.has(name) && toLoss.has(name);
  const active = all.filter((u) => u.outputs.some((o) => onPath(o.name)));
  for (const u of active) {
    for (const name of u.internal) {
      if (onPath(name) && !u.outputs.some((o) => o.name === name)) {
        throw new EngineError('invalid_argument', `tensor '${name}' is internal to composite ${u.opType} and cannot be on the path to the loss`);
      }
    }
  }

  const contributions = new Map<string, TensorRef[]>();
  const addContribution = (t: TensorRef, grad: TensorRef): void => {
    const list = contributions.get(t.name);
    if (list) list.push(grad);
    else contributions.set(t.name, [grad]);
  };
  const total = (name: string): TensorRef | undefined => {
    const list = contributions.get(name);
    if (!list || list.length === 0) return undefined;
    const s = list.length === 1 ? (list[0] as TensorRef) : sum(g, list);
    contributions.set(name, [s]);
    return s;
  };

  return g.scope('grad', () => {
    addContribution(loss, opts.seed ?? onesLike(g, loss));
    for (let i = active.length - 1; i >= 0; i--) {
      const u = active[i] as Unit;
      const dOutputs = u.outputs.map((o) => total(o.name));
      if (dOutputs.every((d) => d === undefined)) continue;
      const needs = u.inputs.map((t) => t !== undefined && isFloat(t.dtype) && onPath(t.name));
      if (!needs.some(Boolean)) continue;
      const rule = gradientRule(u.opType);
      if (!rule) throw new EngineError('no_gradient_rule', `no gradient rule for op '${u.opType}'`, { op: u.opType });
      const lazy = rule(new GradContext(g, u.opType, u.inputs, u.outputs, u.attrs, dOutputs, u.saved));
      u.inputs.forEach((t, k) => {
        const build = lazy[k];
        if (!t || !needs[k] || !build) return;
        const d = build();
        if (!sameShape(d.shape, t.shape) || d.dtype !== t.dtype) {
          throw new EngineError('shape_mismatch', `gradient rule ${u.opType} gave ${describe(d)} for input ${k} '${t.name}' of ${describe(t)}`);
        }
        addContribution(t, d);
      });
    }
    const result = new Map<string, TensorRef>();
    for (const w of wrt) result.set(w.name, total(w.name) ?? zerosLike(g, w));
    return result;
  });
}
