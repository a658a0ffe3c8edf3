// The boundary check of a KServe v2 raw tensor: shape [N, C, H, W] matching the model, N within the
// per-call limit, as many finite FP32 values as the shape says. A bad tensor is a ValidationError (400).
import { ValidationError } from '../core/errors.js';
import type { TensorInput } from './types.js';

/** Checks a raw tensor against the model input [N, C, H, W]; returns N. */
export function checkTensor(input: TensorInput, chw: number[], maxBatch: number, inputName: string): number {
  const { shape, data } = input;
  const expected = `[N, ${chw.join(', ')}]`;
  if (!Array.isArray(shape) || shape.length !== 4 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new ValidationError(`input '${inputName}' must have shape ${expected}, got [${String(shape)}]`, { shape, expected });
  }
  if (shape.slice(1).some((d, i) => d !== chw[i]))
    throw new ValidationError(`input '${inputName}' must have shape ${expected}, got [${shape.join(', ')}]`, { shape, expected });
  const n = shape[0]!;
  if (n > maxBatch) throw new ValidationError(`at most ${maxBatch} rows per inference request, got ${n}`, { rows: n, max: maxBatch });
  const count = shape.reduce((a, b) => a * b, 1);
  if (!(data instanceof Float32Array) || data.length !== count)
    throw new ValidationError(`shape [${shape.join(', ')}] needs ${count} FP32 values, got ${data?.length ?? 0}`, { shape, values: data?.length ?? 0 });
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) throw new ValidationError(`input value ${i} is not a finite number`, { index: i });
  return n;
}
