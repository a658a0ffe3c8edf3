// The `secondread data …` command group. Several command modules (synth, build, validate, cache,
// ls, stats) attach subcommands to it; whichever registers first creates it, the rest reuse it.
import type { Command } from 'commander';

export function dataCommand(program: Command): Command {
  const existing = program.commands.find((c) => c.name() === 'data');
  if (existing) return existing;
  return program.command('data').description('datasets: synthesize phantoms, build (ETL), validate, cache, list, stats');
}
