// Test helpers any layer's tests may use: a TypeScript file run in a child Node process (through tsx), for the
// tests that race separate processes against one database or object store.
import { spawn } from 'node:child_process';

export interface ChildResult {
  code: number | null;
  out: string;
  err: string;
}

/** Runs `file` with `args` in a fresh Node process (tsx loader); resolves with its exit code, stdout and stderr. */
export function runTsChild(file: string, args: readonly string[]): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', file, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('exit', (code) => resolve({ code, out, err }));
  });
}
