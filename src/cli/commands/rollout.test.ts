// `secondread rollout …` in-process on the rollout fixture's home (a real registry, dataset and ONNX classifier):
// a passing and a rejected evaluation, the reports table, then start, status, step and rollback, and the audit
// chain still verifying.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';

import { openRolloutFixture, type RolloutFixture, testProtocol } from '../../rollout/testing.js';
import { runCli, setEnv } from '../testing.js';

let fx: RolloutFixture;
let restore: () => void;
let protocolFile: string;
let good: number;
let bad: number;

beforeAll(async () => {
  fx = await openRolloutFixture();
  good = await fx.candidate();
  bad = await fx.candidate({ permuted: true });
  protocolFile = join(fx.home, 'change-protocol.yaml');
  await writeFile(protocolFile, stringify(testProtocol(fx.lockedDataset).protocol));
  restore = setEnv({ SECONDREAD_HOME: fx.home, LOG_LEVEL: 'silent' });
});
afterAll(async () => {
  restore?.();
  process.exitCode = undefined;
  await fx?.close();
});

describe('secondread rollout', () => {
  it('evaluate: a pass moves staging; a rejection exits 1 with its reasons', async () => {
    const ok = await runCli('rollout', 'evaluate', `${fx.model}:${good}`, '--protocol', protocolFile, '--by', 'emil');
    expect(ok.err).not.toMatch(/error/); // stderr carries the progress of scoring and timing
    expect(ok.code).toBe(0);
    expect(ok.out).toContain(`${fx.model} v${good}: PASSED by change protocol test-protocol v3`);
    expect(ok.out).toMatch(/accuracy\s+test\s+pass\s+candidate 1\.000 vs production 1\.000/);
    expect(ok.out).toContain(`staging → v${good}`);
    expect(process.exitCode ?? 0).toBe(0);

    const no = await runCli('rollout', 'evaluate', `${fx.model}:${bad}`, '--protocol', protocolFile, '--out', join(fx.home, 'bad'));
    expect(no.out).toContain(`${fx.model} v${bad}: REJECTED`);
    expect(no.out).toMatch(/rejected because:\n {2}- accuracy \(test\): candidate 0\.333/);
    expect(process.exitCode).toBe(1);
    process.exitCode = undefined;

    const list = await runCli('rollout', 'reports', fx.model);
    expect(list.out).toMatch(new RegExp(`rr_\\S+\\s+${bad}\\s+v1\\s+test-protocol v3\\s+rejected\\s+accuracy/test, macro_f1/test`));
    expect(list.out).toMatch(new RegExp(`rr_\\S+\\s+${good}\\s+v1\\s+test-protocol v3\\s+passed\\s+—`));
  });

  it('refuses a protocol file with mistakes, naming the YAML path (exit 2)', async () => {
    const broken = join(fx.home, 'broken.yaml');
    await writeFile(broken, stringify({ ...testProtocol(fx.lockedDataset).protocol, canary: { steps: [0.5] } }));
    const r = await runCli('rollout', 'evaluate', `${fx.model}:${good}`, '--protocol', broken);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/invalid change protocol '.*broken\.yaml': canary\.steps: the last step must be 1/);
  });

  it('start, status, step and rollback', async () => {
    const start = await runCli('rollout', 'start', fx.model, '--by', 'emil');
    expect(start.code).toBe(0);
    expect(start.out).toMatch(new RegExp(`v${good} against production v1 — active, canary at 5%`));
    expect(start.out).toContain('steps: [5%] → 25% → 100%');
    const status = await runCli('rollout', 'status', fx.model);
    expect(status.out).toContain('decision: wait');
    expect(status.out).toMatch(/agreement\s+insufficient\s+agreement with reader A: 0 canary \/ 0 production studies of 40 needed/);
    const step = await runCli('rollout', 'step', fx.model, '--json');
    expect(JSON.parse(step.out)).toMatchObject({ action: 'waiting', rollout: { step: 0 } });
    const back = await runCli('rollout', 'rollback', fx.model, '--reason', 'not today', '--by', 'emil');
    expect(back.out).toMatch(/ — rolled_back\n.*; ended [0-9-]+ [0-9:]+: not today/);
    expect((await runCli('rollout', 'step', fx.model)).code).toBe(2);
    const audit = await runCli('audit', 'verify');
    expect(audit.code).toBe(0);
  });
});
