import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';

import { ValidationError } from '../core/errors.js';
import { parseProtocol } from './protocol.js';

const EXAMPLE = readFileSync(join(import.meta.dirname, '../../examples/change-protocol.yaml'), 'utf8');

/** The example with the value at a dotted path replaced (undefined: removed). */
function mutate(path: string, value: unknown): string {
  const doc = structuredClone(parseProtocol(EXAMPLE).protocol) as unknown as Record<string, unknown>;
  const keys = path.split('.');
  let at = doc;
  for (const k of keys.slice(0, -1)) at = at[k] as Record<string, unknown>;
  if (value === undefined) delete at[keys.at(-1)!];
  else at[keys.at(-1)!] = value;
  return stringify(doc);
}

describe('change protocol', () => {
  it('parses the example with its defaults and a stable sha256', () => {
    const a = parseProtocol(EXAMPLE);
    expect(a.protocol.name).toBe('cxr-oct');
    expect(a.protocol.canary.steps).toEqual([0.05, 0.25, 1]);
    expect(a.protocol.evaluation.splits).toEqual(['test', 'final_eval']);
    expect(a.protocol.criteria.falseClear.readerA).toEqual({ accuracy: 0.9, confusion: 'miss', seed: 1 });
    expect(a.sha256).toMatch(/^[0-9a-f]{64}$/);
    // Formatting does not change the identity; a criterion does.
    expect(parseProtocol(stringify(a.protocol)).sha256).toBe(a.sha256);
    expect(parseProtocol(mutate('criteria.accuracy.margin', 0.01)).sha256).not.toBe(a.sha256);
  });

  it.each([
    ['a margin outside [0, 1]', 'criteria.accuracy.margin', 2, /criteria\.accuracy\.margin/],
    ['steps that do not end at 1', 'canary.steps', [0.05, 0.25], /canary\.steps: the last step must be 1/],
    ['steps that do not increase', 'canary.steps', [0.25, 0.05, 1], /canary\.steps: steps must increase/],
    ['an unknown split', 'evaluation.splits', ['holdout'], /evaluation\.splits\.0: must be one of/],
    ['an unknown field', 'criteria.auc', { min: 0.9 }, /criteria: Unrecognized key/],
    ['a missing criterion', 'criteria.ece', undefined, /criteria\.ece/],
    ['another schema', 'schema', 'v2', /schema: must be 'secondread\.change-protocol\/1'/],
    ['a zero minimum sample', 'canary.minStudies', 0, /canary\.minStudies/],
  ])('rejects %s with the YAML path', (_what, path, value, message) => {
    expect(() => parseProtocol(mutate(path, value))).toThrow(ValidationError);
    expect(() => parseProtocol(mutate(path, value))).toThrow(message);
  });

  it('rejects text that is not YAML', () => {
    expect(() => parseProtocol('a: [1, 2', 'p.yaml')).toThrow(/p\.yaml is not valid YAML/);
  });
});
