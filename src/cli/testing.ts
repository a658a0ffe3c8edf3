// Test helper: runs the CLI in-process and captures what it wrote. No vitest import (like the other
// testing.ts modules), so it stays usable from any tier and out of the build's dependencies.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
  const capture = (k: 'out' | 'err'): Write =>
    ((chunk: unknown) => {
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

/**
 * Sets environment variables for an in-process CLI test and returns the function that puts the previous
 * values back — deleting the ones that were unset (assigning `undefined` to process.env stores "undefined").
 */
export function setEnv(vars: Record<string, string | undefined>): () => void {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const apply = (values: Record<string, string | undefined>): void => {
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  apply(vars);
  return () => apply(saved);
}

/** A temporary directory whose `home` subfolder is SECONDREAD_HOME (logs silenced) until `cleanup()`. */
export async function tempCliHome(
  prefix: string,
  env: Record<string, string | undefined> = {},
): Promise<{ dir: string; home: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const home = join(dir, 'home');
  const restore = setEnv({ SECONDREAD_HOME: home, LOG_LEVEL: 'silent', ...env });
  return {
    dir,
    home,
    cleanup: async () => {
      restore();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
