// ONNX node attributes: the typed form a node stores (`Attr`), the loose values the builder accepts (`AttrValue`:
// plain numbers, arrays, strings) and the normalization between them. ONNX attributes are typed, and a number is
// an int unless its name is a float in every op the engine emits (FLOAT_ATTRS) or it is wrapped with `attr.float`.
import { EngineError } from './errors.js';
import type { ConstTensor } from './graph-records.js';

export type Attr =
  | { readonly type: 'int'; readonly value: number }
  | { readonly type: 'float'; readonly value: number }
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'ints'; readonly value: readonly number[] }
  | { readonly type: 'floats'; readonly value: readonly number[] }
  | { readonly type: 'strings'; readonly value: readonly string[] }
  | { readonly type: 'tensor'; readonly value: ConstTensor };

/** Loose attribute values; numbers become ints unless the attribute is a known float (see FLOAT_ATTRS) or wrapped with `attr.float`. */
export type AttrValue = number | readonly number[] | string | readonly string[] | Attr;

export const attr = {
  float: (value: number): Attr => ({ type: 'float', value }),
  floats: (value: readonly number[]): Attr => ({ type: 'floats', value }),
  int: (value: number): Attr => ({ type: 'int', value }),
  ints: (value: readonly number[]): Attr => ({ type: 'ints', value }),
};

// ONNX attributes are typed; these names are floats in every op the engine emits.
const FLOAT_ATTRS = new Set(['epsilon', 'momentum', 'alpha', 'beta', 'gamma', 'lambd', 'bias', 'value_float', 'high', 'low', 'mean', 'scale']);
const FLOAT_ATTRS_BY_OP: Record<string, readonly string[]> = {
  RandomUniform: ['seed'],
  RandomUniformLike: ['seed'],
  RandomNormal: ['seed'],
  RandomNormalLike: ['seed'],
};

export function normalizeAttrs(opType: string, attrs: Readonly<Record<string, AttrValue>>): Record<string, Attr> {
  const out: Record<string, Attr> = {};
  const floatNames = FLOAT_ATTRS_BY_OP[opType] ?? [];
  for (const [k, v] of Object.entries(attrs)) {
    const isFloatName = FLOAT_ATTRS.has(k) || floatNames.includes(k);
    if (typeof v === 'number') out[k] = isFloatName ? { type: 'float', value: v } : { type: 'int', value: checkInt(opType, k, v) };
    else if (typeof v === 'string') out[k] = { type: 'string', value: v };
    else if (Array.isArray(v)) {
      if (v.every((x) => typeof x === 'string')) out[k] = { type: 'strings', value: v as string[] };
      else out[k] = isFloatName ? { type: 'floats', value: v as number[] } : { type: 'ints', value: (v as number[]).map((x) => checkInt(opType, k, x)) };
    } else out[k] = v as Attr;
  }
  return out;
}

function checkInt(opType: string, name: string, v: number): number {
  if (!Number.isInteger(v)) throw new EngineError('invalid_argument', `${opType}: attribute '${name}' must be an integer, got ${v}`);
  return v;
}
