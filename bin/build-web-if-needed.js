#!/usr/bin/env node
// `npm start` runs this first (prestart): it builds the web UI into dist/web when the build is missing
// or older than its sources, so a fresh clone (`npm ci && npm start`) serves a UI without a separate
// build step, and an up-to-date build costs nothing.
//   node bin/build-web-if-needed.js            build when stale
//   node bin/build-web-if-needed.js --check    exit 0 when up to date, 1 when a build is needed (no build)
//   --root <dir>                               the repository (default: this script's)
// SECONDREAD_SKIP_WEB_BUILD=1 skips it. Without Vite (an `npm ci --omit=dev` install) it says so and
// lets the server start: the server then answers / with how to build the UI.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const rootAt = args.indexOf('--root');
const root = rootAt >= 0 ? args[rootAt + 1] : fileURLToPath(new URL('..', import.meta.url));
const check = args.includes('--check');

/** What the build reads: web/ (tests aside), the class list it imports, and the locked dependencies. */
const INPUTS = ['web', 'src/data/classes.ts', 'package-lock.json'];
const IGNORED = /(\.test\.ts|vitest\.config\.ts)$/;

function newest(path) {
  if (!existsSync(path)) return { at: 0, path: null };
  const st = statSync(path);
  if (!st.isDirectory()) return IGNORED.test(path) ? { at: 0, path: null } : { at: st.mtimeMs, path };
  let best = { at: 0, path: null };
  for (const name of readdirSync(path)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const n = newest(join(path, name));
    if (n.at > best.at) best = n;
  }
  return best;
}

/** Why a build is needed, or null when dist/web is up to date. */
function staleness() {
  const index = join(root, 'dist', 'web', 'index.html');
  if (!existsSync(index)) return 'dist/web is missing';
  const built = statSync(index).mtimeMs;
  for (const input of INPUTS) {
    const n = newest(join(root, input));
    if (n.at > built) return `${n.path.slice(root.length).replace(/^[\\/]/, '')} is newer than dist/web`;
  }
  return null;
}

if (process.env.SECONDREAD_SKIP_WEB_BUILD === '1') process.exit(0);
const why = staleness();
if (check) {
  console.log(why ? `stale: ${why}` : 'up to date');
  process.exit(why ? 1 : 0);
}
if (!why) process.exit(0);

const vite = join(root, 'node_modules', 'vite', 'bin', 'vite.js');
if (!existsSync(vite)) {
  console.warn(`web UI not built (${why}) and Vite is not installed (npm ci without --omit=dev installs it); starting without the UI`);
  process.exit(0);
}
console.log(`building the web UI: ${why}`);
const r = spawnSync(process.execPath, [vite, 'build', 'web', '--logLevel', 'warn'], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, NODE_ENV: 'production' },
});
if (r.status !== 0) {
  console.error('the web UI build failed (see above); fix it or set SECONDREAD_SKIP_WEB_BUILD=1 to start without it');
  process.exit(r.status ?? 1);
}
console.log('web UI built into dist/web');
