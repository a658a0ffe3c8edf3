#!/usr/bin/env node
// The `secondread` command. Runs the TypeScript sources through tsx so a fresh clone needs no build
// step (`npm ci && npx secondread --help`); `npm run build` emits dist/ for container images.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
const code = await main(process.argv);
// A command may already have set a failure code (serve after an unclean shutdown): keep it.
process.exitCode = code || process.exitCode;
