// The `secondread` command line. Each command lives in its own module under ./commands and is
// listed in ./commands/index.ts; this file only wires them up and turns errors into exit codes.
import { Command, CommanderError } from 'commander';

import { describeError, SecondreadError } from '../core/errors.js';
import { registerCommands } from './commands/index.js';

export function buildProgram(): Command {
  const program = new Command('secondread')
    .description('secondread: an AI second reader for double-read chest X-ray and retinal OCT')
    .version('0.1.0')
    // Root options (--version) only before the subcommand, so a subcommand may have its own
    // --version (`models show <name> --version 3`).
    .enablePositionalOptions()
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerCommands(program);
  return program;
}

/** Runs the CLI; returns the process exit code. Never lets a stack trace reach the user. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version also arrive here, with exit code 0.
      return err.exitCode;
    }
    process.stderr.write(`error: ${describeError(err)}\n`);
    if (process.env.SECONDREAD_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    return err instanceof SecondreadError && err.httpStatus < 500 ? 2 : 1;
  }
}
