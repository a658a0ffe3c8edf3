// runSimulation against the real in-process server on the evaluation fixture (a tiny dataset version
// and the brightness classifier): stopping (Ctrl-C) still writes the report of what was done; a server
// that cannot be reached fails each study with a clear message, stops at --max-failures, and the run's
// users are still revoked.
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadConfig } from '../core/config.js';
import { silentLogger } from '../core/logger.js';
import { type EvaluationFixture, openEvaluationFixture } from '../monitoring/evaluations/testing.js';
import { UserStore } from '../workflow/users.js';
import { newSimulationId, replayOrder, runSimulation, type SimulationOptions } from './run.js';
import { type InProcessServer, startInProcessServer } from './server.js';

let f: EvaluationFixture;
let server: InProcessServer;
let out: string;

beforeAll(async () => {
  f = await openEvaluationFixture();
  server = await startInProcessServer({ config: loadConfig({ env: { SECONDREAD_HOME: f.home } }), logger: silentLogger, db: f.db, objects: f.objects });
  out = await mkdtemp(join(tmpdir(), 'sr-simrun-'));
});
afterAll(async () => {
  await server.close();
  await f.close();
  await rm(out, { recursive: true, force: true });
});

const options = (o: Partial<SimulationOptions> = {}): SimulationOptions => ({
  id: newSimulationId(),
  datasetVersion: f.datasetVersion,
  split: 'test',
  limit: null,
  rate: null,
  concurrency: 1,
  maxSeconds: null,
  maxFailures: 10,
  readerA: { accuracy: 0.9, confusion: 'miss', seed: 1 },
  readerB: { accuracy: 1, confusion: 'miss', seed: 2 },
  metricsEverySeconds: 5,
  outDir: join(out, o.id ?? 'run'),
  ...o,
});

describe('runSimulation', () => {
  it('replays in sha256 order, classes mixed, and --limit takes the first of that order', async () => {
    const images = [{ sha256: 'c' }, { sha256: 'a' }, { sha256: 'b' }] as never[];
    expect(replayOrder(images, null).map((i: { sha256: string }) => i.sha256)).toEqual(['a', 'b', 'c']);
    expect(replayOrder(images, 2).map((i: { sha256: string }) => i.sha256)).toEqual(['a', 'b']);
    expect(replayOrder(images, 1, 1).map((i: { sha256: string }) => i.sha256)).toEqual(['b']);
    expect(replayOrder(images, null, 2).map((i: { sha256: string }) => i.sha256)).toEqual(['c']);
    // wrapping: past the end the order starts again, until the limit; without a limit it does not wrap
    expect(replayOrder(images, 5, 2, true).map((i: { sha256: string }) => i.sha256)).toEqual(['c', 'a', 'b', 'c', 'a']);
    expect(replayOrder(images, 2, 7, true).map((i: { sha256: string }) => i.sha256)).toEqual(['b', 'c']);
    expect(replayOrder(images, 2, 7).map((i: { sha256: string }) => i.sha256)).toEqual([]);
  });

  it('stopped after the first study: the report covers what was done and says why it stopped', async () => {
    const stop = new AbortController();
    const rep = await runSimulation(
      {
        db: f.db,
        objects: f.objects,
        users: new UserStore(f.db),
        server: { url: server.url, inProcess: true, note: server.note },
        onProgress: (e) => {
          if (e.done === 1) stop.abort();
        },
        stop: stop.signal,
      },
      options({ outDir: join(out, 'stopped') }),
    );
    expect(rep.record.schedule).toEqual({ stoppedBy: 'interrupted', started: 1, completed: 1, failed: 0, notStarted: 11 });
    expect(rep.figures.studies).toBe(1);
    expect(rep.differences).toEqual([]);
    const md = await readFile(join(out, 'stopped', 'report.md'), 'utf8');
    expect(md).toContain('| stopped | interrupted (Ctrl-C): no study started after it, those in flight finished |');
    expect(md).toContain('| not started | 11 |');
  }, 60_000);

  it('an unreachable server: each study fails with the reason, the run stops at --max-failures, the users are revoked', async () => {
    // A port that was free a moment ago: nothing listens there.
    const probe = createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const o = options({ maxFailures: 2, outDir: join(out, 'down') });
    const rep = await runSimulation(
      { db: f.db, objects: f.objects, users: new UserStore(f.db), server: { url: `http://127.0.0.1:${port}`, inProcess: false, note: null } },
      o,
    );
    expect(rep.record.schedule).toMatchObject({ stoppedBy: 'max_failures', started: 2, completed: 0, failed: 2 });
    expect(rep.record.failures).toHaveLength(2);
    expect(rep.record.failures[0]).toMatchObject({
      stage: 'intake',
      studyId: null,
      message: `POST /v1/studies: cannot reach http://127.0.0.1:${port} (ECONNREFUSED); is the server running?`,
    });
    expect(rep.crossCheck).toBeNull();
    expect(rep.record.serverMetrics.error).toMatch(/cannot reach/);
    expect(rep.charts).toEqual([]);
    const tokens = (await new UserStore(f.db).listTokens()).filter((t) => t.userName.startsWith(`${o.id}-`));
    expect(tokens.map((t) => t.userName).sort()).toEqual([`${o.id}-adjudicator`, `${o.id}-engineer`, `${o.id}-reader`]);
    expect(tokens.every((t) => t.revokedAt !== null)).toBe(true);
    const users = (await new UserStore(f.db).listUsers()).filter((u) => u.name.startsWith(`${o.id}-`));
    expect(users.every((u) => u.disabledAt !== null)).toBe(true);
  }, 60_000);

  it('refuses a split with no images and a version that is not there', async () => {
    const users = new UserStore(f.db);
    const deps = { db: f.db, objects: f.objects, users, server: { url: server.url, inProcess: true, note: null } };
    await expect(runSimulation(deps, options({ datasetVersion: 'ds-missing' }))).rejects.toThrow(/dataset version 'ds-missing' was not found/);
    await expect(runSimulation(deps, options({ id: 'Sim-Bad' }))).rejects.toThrow(/simulation id must be/);
  });
});
