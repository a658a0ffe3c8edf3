// Test helper: runs the CLI in-process and captures what it wrote. No vitest import (like the other
// testing.ts modules), so it stays usable from any tier and out of the build's dependencies.
import { main } from './main.js';

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

type Write = typeof process.stdout.write;

/** `secondread <args…>` in this process: exit code, stdout and stderr. */
export async function runCli(...args: string[]): Promise<CliResult> {
  const saved = { out: process.stdout.write, err: process.stderr.write };
  const captured = { out: '', err: '' };
  const capture = (k: 'out' | 'err'): Write => ((chunk: unknown) => {
    captured[k] += String(chunk);
    return true;
  }) as Write;
  process.stdout.write = capture('out');
  process.stderr.write = capture('err');
  try {
    return { code: await main(['node', 'secondread', ...args]), ...captured };
  } finally {
    process.stdout.write = saved.out;
    process.stderr.write = saved.err;
  }
}
