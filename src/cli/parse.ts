// Numbers typed on the command line, checked once: a bad value is a ValidationError naming the flag
// (the CLI prints it and exits 2), never a NaN that travels on.
import { ValidationError } from '../core/errors.js';

/** A whole number in [min, max] written as digits (no sign, exponent or decimals). */
export function parseInteger(what: string, v: string, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < min || n > max) {
    const range = min === 1 && max === Number.MAX_SAFE_INTEGER ? 'a positive integer' : `an integer from ${min} to ${max}`;
    throw new ValidationError(`${what} must be ${range}, got '${v}'`);
  }
  return n;
}

/** Comma-separated whole numbers, each in [min, max] (`1,2,2`): --preferred-batch-sizes, --stem-strides, … */
export function parseIntegerList(what: string, v: string, min = 1, max = Number.MAX_SAFE_INTEGER): number[] {
  return v.split(',').map((part) => parseInteger(what, part.trim(), min, max));
}

/** A finite number in [min, max]. */
export function parseNumber(what: string, v: string, min: number, max: number): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new ValidationError(`${what} must be a number in ${min}…${max}, got '${v}'`);
  return n;
}
