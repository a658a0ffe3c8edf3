import { describe, expect, it } from 'vitest';

import { type Flags, parseFlags, UsageError } from './args.js';

interface O {
  name: string;
  n: number;
  sizes: number[];
  on: boolean;
  tags: string[];
  alpha: number;
}
const USAGE = 'usage: bench [--name X] [--n 3] [--sizes 1,2] [--tags a,b] [--on]';
const FLAGS: Flags<O> = {
  '--name': (o, v) => (o.name = v.text()),
  '--n': (o, v) => (o.n = v.int(1)),
  '--sizes': (o, v) => (o.sizes = v.ints(1)),
  '--tags': (o, v) => (o.tags = v.list()),
  '--on': (o) => (o.on = true),
  '--alpha': (o, v) => (o.alpha = v.number()),
};
const parse = (...args: string[]) => parseFlags(args, USAGE, { name: 'a', n: 3, sizes: [1], on: false, tags: [], alpha: 0.05 }, FLAGS);
const refusal = (...args: string[]): UsageError => {
  try {
    parse(...args);
  } catch (err) {
    if (err instanceof UsageError) return err;
    throw err;
  }
  throw new Error(`accepted ${args.join(' ')}`);
};

describe('bench argument parsing', () => {
  it('keeps the defaults and applies each flag by the table', () => {
    expect(parse()).toEqual({ name: 'a', n: 3, sizes: [1], on: false, tags: [], alpha: 0.05 });
    expect(parse('--alpha', '0.01', '--n=4', '--name=x=y')).toMatchObject({ alpha: 0.01, n: 4, name: 'x=y' });
    expect(parse('--on', '--n', '7', '--sizes', '256,512', '--name', 'b', '--tags', 'x,y')).toEqual({
      name: 'b',
      n: 7,
      sizes: [256, 512],
      on: true,
      tags: ['x', 'y'],
      alpha: 0.05,
    });
  });

  it('--help is a UsageError with exit code 0 and the usage as its message', () => {
    for (const h of ['--help', '-h']) expect(refusal('--n', '2', h)).toMatchObject({ exitCode: 0, message: USAGE });
  });

  it('refuses unknown flags, missing values and bad numbers with exit code 2 and the usage', () => {
    for (const [args, reason] of [
      [['--bogus'], 'unknown option --bogus'],
      [['toString'], 'unknown option toString'],
      [['--name'], '--name needs a value'],
      [['--name', '--on'], '--name needs a value'],
      [['--n', '0'], "--n needs a positive integer, got '0'"],
      [['--n', '1.5'], "--n needs a positive integer, got '1.5'"],
      [['--n', ''], "--n needs a positive integer, got ''"],
      [['--sizes', '256,x'], "--sizes needs comma-separated values, each a positive integer, got 'x'"],
      [['--sizes', '256,'], "--sizes needs comma-separated values, each a positive integer, got ''"],
      [['--alpha', 'x'], "--alpha needs a number, got 'x'"],
      [['--on=1'], '--on takes no value'],
      [['--n='], "--n needs a positive integer, got ''"],
    ] as const) {
      expect(refusal(...args)).toMatchObject({ exitCode: 2, message: `${reason}\n${USAGE}` });
    }
  });
});
