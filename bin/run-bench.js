#!/usr/bin/env node
// `npm run bench -- <name>`: runs bench/<name>.ts (through tsx) and lists the benchmarks without one.
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { register } from 'tsx/esm/api';

const benchDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'bench');
const available = readdirSync(benchDir)
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
  .map((f) => f.slice(0, -3));
const name = process.argv[2];
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- <name> [options]\nbenchmarks: ${available.join(', ') || '(none yet)'}`);
  process.exit(name ? 2 : 0);
}
register();
const mod = await import(pathToFileURL(join(benchDir, `${name}.ts`)).href);
const { SecondreadError } = await import(pathToFileURL(join(benchDir, '..', 'src', 'core', 'errors.ts')).href);
try {
  await mod.main(process.argv.slice(3));
} catch (err) {
  // Bad input (an unknown run or dataset version, a value out of range): the reason in one line, no stack trace.
  if (!(err instanceof SecondreadError)) throw err;
  console.error(`${name}: ${err.message}`);
  process.exitCode = 2;
}
