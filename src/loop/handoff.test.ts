// The hand-off of a retrained candidate to the change protocol, on rollout's fixture (a real ONNX classifier whose
// answers follow from each image's brightness): a good candidate passes → staging, its own policy, and with
// startCanary the staged canary at its first step; a bad one (class names permuted: mostly wrong, as a model
// trained on corrupted labels would be) is rejected with reasons and nothing moves.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { silentLogger } from '../core/logger.js';
import type { JobContext } from '../jobs/index.js';
import { RolloutService } from '../rollout/index.js';
import { openRolloutFixture, type RolloutFixture, testProtocol } from '../rollout/testing.js';
import { protocolHandOff } from './loop.js';
import type { Candidate } from './retrain.js';

let fx: RolloutFixture;
let rollout: RolloutService;
const ctx = { jobId: 'job_test', progress: async () => undefined, signal: new AbortController().signal, logger: silentLogger } as JobContext;

beforeEach(async () => {
  fx = await openRolloutFixture();
  rollout = new RolloutService({ db: fx.db, objects: fx.objects, registry: fx.registry, logger: silentLogger, clock: fx.clock });
});
afterEach(async () => {
  await fx.close();
});

const candidate = (version: number): Candidate => ({
  name: fx.model,
  version,
  runId: 'run_x',
  parent: { version: 1, runId: 'run_p' },
  datasetVersion: fx.lockedDataset,
  trigger: 'drift',
});

describe('protocolHandOff', () => {
  it('a good candidate passes the protocol: staging, and the canary starts at its first step', async () => {
    const v = await fx.candidate({ temperature: 1.2 });
    const out = await protocolHandOff(rollout, testProtocol(fx.lockedDataset), { startCanary: true })(candidate(v), ctx);
    expect(out).toMatchObject({ passed: true, failures: [], staging: v, canary: { step: 0, weight: 0.05 } });
    expect(await fx.registry.aliases(fx.model)).toMatchObject({ production: 1, staging: v, canary: v });
  }, 120_000);

  it('a bad candidate is rejected with its reasons; no alias moves', async () => {
    const v = await fx.candidate({ permuted: true });
    const out = await protocolHandOff(rollout, testProtocol(fx.lockedDataset), { startCanary: true })(candidate(v), ctx);
    expect(out).toMatchObject({ passed: false, staging: null, canary: null });
    expect((out.failures as string[]).length).toBeGreaterThan(0);
    expect(await fx.registry.aliases(fx.model)).toEqual({ production: 1 });
  }, 120_000);
});
