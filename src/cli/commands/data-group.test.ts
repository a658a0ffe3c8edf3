import { Command } from 'commander';
import { describe, expect, it } from 'vitest';

import { dataCommand } from './data-group.js';

describe('dataCommand', () => {
  it('creates the `data` group once and hands the same one to every module', () => {
    const program = new Command('secondread');
    const a = dataCommand(program);
    a.command('synth');
    const b = dataCommand(program);
    b.command('build');
    expect(b).toBe(a);
    expect(program.commands.filter((c) => c.name() === 'data')).toHaveLength(1);
    expect(a.commands.map((c) => c.name())).toEqual(['synth', 'build']);
  });
});
