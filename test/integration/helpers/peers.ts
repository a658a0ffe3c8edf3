// Python peers (Debian's PyTorch and onnx under /usr/bin/python3) for integration tests. Where a run
// says the peers must be there ($CI set, as .ci/run does), a missing one fails the run instead of
// silently skipping the comparison.
import { spawnSync } from 'node:child_process';

export const PYTHON = process.env.SECONDREAD_PYTHON ?? '/usr/bin/python3';

/** True when `/usr/bin/python3 -c "import <modules>"` works; throws under CI when it does not. */
export function pythonHas(...modules: string[]): boolean {
  const r = spawnSync(PYTHON, ['-c', `import ${modules.join(', ')}`], { encoding: 'utf8' });
  if (r.status === 0) return true;
  const reason = `${PYTHON} cannot import ${modules.join(', ')}: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}`;
  if (process.env.CI) throw new Error(`${reason} (CI is set, so this is a failure, not a skip)`);
  console.warn(`SKIPPING: ${reason}. Install python3-torch python3-onnx libopenblas0-pthread to run it.`);
  return false;
}

/** True when `<command> --version` runs; throws under CI when it does not (e.g. DCMTK's dcmdump). */
export function commandAvailable(command: string, install: string): boolean {
  const r = spawnSync(command, ['--version'], { encoding: 'utf8' });
  if (r.status === 0) return true;
  const reason = `${command} is not installed (${install})`;
  if (process.env.CI) throw new Error(`${reason} (CI is set, so this is a failure, not a skip)`);
  console.warn(`SKIPPING: ${reason}`);
  return false;
}

/** Relative error of a tensor against a peer's: ‖ours − ref‖₂ / ‖ref‖₂ (the engine-vs-PyTorch proofs' measure). */
export function relErr(ours: ArrayLike<number>, ref: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    num += (Number(ours[i]) - Number(ref[i])) ** 2;
    den += Number(ref[i]) ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
}
