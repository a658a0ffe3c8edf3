// The code version of a run: the git commit of the working directory, when there is one. Never
// fails: a run outside a checkout (an installed package, a container without .git) records null.
import { execFile } from 'node:child_process';

const SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

let cached: Promise<string | null> | undefined;

/** The HEAD commit of `cwd`'s repository, or null (no git, not a repository, or too slow). */
export function gitCommit(cwd = process.cwd(), timeoutMs = 3000): Promise<string | null> {
  return new Promise((resolve) => {
    execFile('git', ['rev-parse', 'HEAD'], { cwd, timeout: timeoutMs, windowsHide: true }, (err, stdout) => {
      const sha = String(stdout ?? '').trim();
      resolve(!err && SHA.test(sha) ? sha : null);
    });
  });
}

/** gitCommit of the process's working directory, asked once per process. */
export function processCodeVersion(): Promise<string | null> {
  return (cached ??= gitCommit());
}
