// Shape arithmetic shared by shape inference and gradient rules. Dimensions are numbers or symbolic strings.
import { EngineError } from '../errors.js';
import type { Dim, Shape, TensorRef } from '../graph.js';

export function describe(t: TensorRef): string {
  return `${t.dtype}[${t.shape.join(', ')}]`;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Number of elements when every dim is static, else undefined. */
export function staticSize(shape: Shape): number | undefined {
  let n = 1;
  for (const d of shape) {
    if (typeof d !== 'number') return undefined;
    n *= d;
  }
  return n;
}

export function isStatic(shape: Shape): shape is readonly number[] {
  return shape.every((d) => typeof d === 'number');
}

/** Normalizes a possibly negative axis; throws naming the op when out of range. */
export function normAxis(opType: string, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) {
    throw new EngineError('invalid_argument', `${opType}: axis ${axis} is out of range for rank ${rank}`);
  }
  return a;
}

/**
 * Numpy broadcasting of several shapes. A symbolic dim broadcasts with 1 and with itself; a symbolic dim
 * against a number n > 1 resolves to n (the runtime would fail otherwise).
 */
export function broadcastShapes(opType: string, inputs: readonly TensorRef[]): Dim[] {
  const rank = Math.max(...inputs.map((t) => t.shape.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    let dim: Dim = 1;
    for (const t of inputs) {
      const d = t.shape[t.shape.length - rank + i] ?? 1;
      if (d === 1 || d === dim) continue;
      if (dim === 1) dim = d;
      else if (typeof d === 'number' && typeof dim === 'number') {
        throw new EngineError('shape_mismatch', `${opType}: shapes ${inputs.map(describe).join(' and ')} do not broadcast (dim ${i - rank}: ${dim} vs ${d})`, {
          op: opType,
          shapes: inputs.map((t) => t.shape),
        });
      } else if (typeof dim === 'string' && typeof d === 'number') dim = d;
      // two different symbolic dims: keep the first (they must be equal at run time)
    }
    out.push(dim);
  }
  return out;
}

/**
 * A dim as coefficient × symbols: 12 → {12, []}, 'batch' → {1, [batch]}, 'batch*64' → {64, [batch]}.
 * Lets Reshape/Flatten round-trip symbolic batch dims exactly ([batch, 64, D] → [batch*64, D] → [batch, 64, D]).
 */
interface Monomial {
  coeff: number;
  symbols: string[];
}

function monomial(dims: readonly Dim[]): Monomial {
  const m: Monomial = { coeff: 1, symbols: [] };
  for (const d of dims) {
    if (typeof d === 'number') m.coeff *= d;
    else
      for (const part of d.split('*')) {
        if (/^\d+$/.test(part)) m.coeff *= Number(part);
        else m.symbols.push(part);
      }
  }
  return m;
}

function fromMonomial(m: Monomial): Dim {
  if (m.symbols.length === 0) return m.coeff;
  return m.coeff === 1 ? m.symbols.join('*') : [...m.symbols, String(m.coeff)].join('*');
}

/** Product of dims, symbolic where needed (canonical 'a*b*64' form). */
export function product(dims: readonly Dim[]): Dim {
  return fromMonomial(monomial(dims));
}

/** total / known, or undefined when it does not divide (symbolically or numerically). */
export function quotient(total: readonly Dim[], known: readonly Dim[]): Dim | undefined {
  const t = monomial(total);
  const k = monomial(known);
  if (k.coeff === 0 || t.coeff % k.coeff !== 0) return undefined;
  const rest = [...t.symbols];
  for (const s of k.symbols) {
    const i = rest.indexOf(s);
    if (i < 0) return undefined;
    rest.splice(i, 1);
  }
  return fromMonomial({ coeff: t.coeff / k.coeff, symbols: rest });
}
