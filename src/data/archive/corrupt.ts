import { SecondreadError, ValidationError } from '../../core/errors.js';

/**
 * Failures of the format libraries themselves (bad signature, truncated data, inflate or CRC errors)
 * mean a corrupt archive: they become a ValidationError naming it. Our own typed errors (an unsafe
 * entry, a limit) pass through unchanged.
 */
export async function corruptIfFails<T>(archive: string, op: Promise<T>): Promise<T> {
  try {
    return await op;
  } catch (err) {
    if (err instanceof SecondreadError) throw err;
    throw new ValidationError(`archive '${archive}' is corrupt: ${(err as Error).message}`, { archive });
  }
}
