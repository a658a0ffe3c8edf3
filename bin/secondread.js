#!/usr/bin/env node
// The `secondread` command. Runs the TypeScript sources through tsx so a fresh clone needs no build
// step (`npm ci && npx secondread --help`); `npm run build` emits dist/ for container images.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv);
