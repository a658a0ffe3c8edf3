// The scenario file: the shipped shifted-stream scenario validates; every mistake names its YAML path, the
// change protocol's and the forced criteria's included.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';

import { describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';

import { CLASS_MODALITY, SECONDREAD_CLASSES } from '../../data/classes.js';
import { misalignedClassOf } from './corrupt-labels.js';
import { parseScenario, readScenarioFile, validateScenario } from './schema.js';

const SHIPPED = resolve(import.meta.dirname, '../../../scenarios/shifted-stream.yaml');

async function shipped(): Promise<Record<string, unknown>> {
  return parseYaml(await readFile(SHIPPED, 'utf8')) as Record<string, unknown>;
}

/** The shipped document with `path` set to `value` (or removed when value is undefined). */
async function edited(path: string, value: unknown): Promise<unknown> {
  const doc = await shipped();
  const keys = path.split('.');
  let at = doc as Record<string, unknown>;
  for (const k of keys.slice(0, -1)) at = at[k] as Record<string, unknown>;
  if (value === undefined) delete at[keys[keys.length - 1]!];
  else at[keys[keys.length - 1]!] = value;
  return doc;
}

describe('scenario file', () => {
  it('the shipped shifted-stream scenario validates, with its protocol and the forced protocol derived from it', async () => {
    const s = await readScenarioFile(SHIPPED);
    expect(s.document.name).toBe('shifted-stream');
    expect(s.document.data.shifted.cxrScanner).toBe('film');
    expect(s.protocol.protocol.name).toBe('shifted-stream');
    expect(s.forcedProtocol.protocol).toMatchObject({
      name: 'shifted-stream-forced',
      canary: s.protocol.protocol.canary,
      criteria: { accuracy: { margin: 1 } },
    });
    expect(s.forcedProtocol.sha256).not.toBe(s.protocol.sha256);
  });

  it.each([
    ['phases.shifted.window', 5, /phases\.shifted\.window: /],
    ['data.shifted.cxrScanner', 'polaroid', /data\.shifted\.cxrScanner: /],
    ['model.preset', 'resnet-999', /model\.preset: /],
    ['phases.canary', undefined, /phases\.canary: /],
    ['phases.retrain.train', { dataset: 'ds-x' }, /phases\.retrain\.train: model, dataset, fromModel and resume are chosen by the scenario/],
    ['protocol.criteria.accuracy.margin', 2, /protocol\.criteria\.accuracy\.margin: /],
    ['protocol.canary.steps', [0.5, 0.25], /protocol\.canary\.steps: /],
    ['protocol.evaluation.dataset', 'ds-abc', /protocol\.evaluation\.dataset: leave it out/],
    ['forcedCriteria.ece', undefined, /forcedCriteria\.ece: /],
    ['extra', 1, /\(root\): Unrecognized key/],
    ['schema', 'secondread.scenario/9', /schema: must be 'secondread\.scenario\/1'/],
  ])('%s = %j is refused, naming the path', async (path, value, message) => {
    const doc = await edited(path, value);
    expect(() => validateScenario(doc, 'x.yaml')).toThrow(message);
  });

  it('refuses a check interval longer than the stream, and text that is not YAML', async () => {
    const doc = (await edited('phases.shifted.checkEvery', 500)) as object;
    expect(() => parseScenario(stringify(doc))).toThrow(/phases\.shifted\.checkEvery: larger than phases\.shifted\.maxStudies/);
    expect(() => parseScenario('a: [1, 2', 'bad.yaml')).toThrow(/scenario 'bad\.yaml' is not valid YAML/);
  });
});

describe('misalignedClassOf (the bad candidate’s labels)', () => {
  it('is a permutation of the nine classes with no fixed point, moving 8 of 9 into the other modality', () => {
    const moved = SECONDREAD_CLASSES.map((c) => misalignedClassOf(c));
    expect(new Set(moved).size).toBe(SECONDREAD_CLASSES.length);
    expect(moved.every((m, i) => m !== SECONDREAD_CLASSES[i])).toBe(true);
    expect(SECONDREAD_CLASSES.filter((c) => CLASS_MODALITY[misalignedClassOf(c)] !== CLASS_MODALITY[c])).toHaveLength(8);
    expect(misalignedClassOf('lung-normal')).toBe('oct-normal');
  });
});
