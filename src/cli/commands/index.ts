// Every CLI command, in the order `secondread --help` lists them. One module per command (group).
import type { Command } from 'commander';
import { registerStart } from './start.js';

export function registerCommands(program: Command): void {
  registerStart(program);
}
