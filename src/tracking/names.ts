// Validation of user-supplied names. Anything that ends up in an object key passes through here, so
// no name can escape its prefix or build a filesystem path.
import { ValidationError } from '../core/errors.js';

export const MODEL_NAME = /^[a-z0-9][a-z0-9-_.]{0,62}$/;
export const ARTIFACT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;

export const ALIASES = ['staging', 'canary', 'production'] as const;
export type Alias = (typeof ALIASES)[number];

export function assertModelName(name: string): string {
  if (typeof name !== 'string' || !MODEL_NAME.test(name) || name.includes('..')) {
    throw new ValidationError(
      `invalid model name '${String(name).slice(0, 80)}': lower-case letters, digits, '-', '_', '.'; 1-63 characters, starting with a letter or digit`,
      { name },
    );
  }
  return name;
}

export function assertArtifactName(name: string): string {
  if (typeof name !== 'string' || !ARTIFACT_NAME.test(name) || name.includes('..')) {
    throw new ValidationError(`invalid artifact name '${String(name).slice(0, 80)}': letters, digits, '.', '_', '-'; 1-128 characters, no '/'`, { name });
  }
  return name;
}

export function assertAlias(alias: string): Alias {
  if (!(ALIASES as readonly string[]).includes(alias)) {
    throw new ValidationError(`invalid alias '${String(alias).slice(0, 40)}': one of ${ALIASES.join(', ')}`, { alias });
  }
  return alias as Alias;
}

/** Free-text labels (experiment and run names, tags, users): printable, bounded. */
export function assertLabel(what: string, value: string, max = 200): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > max || CONTROL_CHARS.test(value)) {
    throw new ValidationError(`invalid ${what} '${String(value).slice(0, 80)}': 1-${max} printable characters`, { [what]: value });
  }
  return value;
}

export function assertVersion(version: number): number {
  if (!Number.isInteger(version) || version < 1) throw new ValidationError(`invalid model version '${String(version)}': a positive integer`, { version });
  return version;
}
