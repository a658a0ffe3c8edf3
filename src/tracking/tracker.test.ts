import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { NotFoundError, ValidationError } from '../core/errors.js';
import { gitCommit } from './code-version.js';
import { openTrackingFixture, type TrackingFixture } from './testing.js';

let f: TrackingFixture;
beforeEach(async () => {
  f = await openTrackingFixture('sqlite');
});
afterEach(async () => {
  await f.close();
});

describe('Tracker runs', () => {
  it('starts a run with params, tags, lineage, host and the git commit, and finishes it with a summary', async () => {
    const run = await f.tracker.startRun({ experiment: 'vit', params: { lr: 0.001, model: 'vit-tiny' }, tags: { purpose: 'test' }, datasetVersion: 'ds_1' });
    expect(run.status).toBe('running');
    expect(run.params).toEqual({ lr: 0.001, model: 'vit-tiny' });
    expect(run.tags).toEqual({ purpose: 'test' });
    expect(run.datasetVersion).toBe('ds_1');
    expect(run.host.length).toBeGreaterThan(0);
    // The tests run inside the project's checkout: the run carries its HEAD commit.
    expect(run.codeVersion).toBe(await gitCommit());
    expect(run.codeVersion).toMatch(/^[0-9a-f]{40}$/);

    const child = await f.tracker.startRun({ experiment: 'vit', params: {}, parentRunId: run.id });
    expect(child.parentRunId).toBe(run.id);
    expect(child.experimentId).toBe(run.experimentId);

    await f.tracker.finishRun(run.id, 'finished', { 'test/accuracy': 0.91 });
    const done = await f.tracker.getRun(run.id);
    expect(done.status).toBe('finished');
    expect(done.endedAt).not.toBeNull();
    expect(done.summary).toEqual({ 'test/accuracy': 0.91 });

    const listed = await f.tracker.listRuns({ experiment: 'vit' });
    expect(listed.map((r) => r.id).sort()).toEqual([run.id, child.id].sort());
    expect(await f.tracker.listRuns({ experiment: 'other' })).toEqual([]);
  });

  it('returns null as the code version outside a git checkout', async () => {
    expect(await gitCommit(f.dir)).toBeNull();
  });

  it('rejects unknown runs, bad parents and bad statuses with typed errors', async () => {
    await expect(f.tracker.getRun('run_missing')).rejects.toBeInstanceOf(NotFoundError);
    await expect(f.tracker.startRun({ experiment: 'e', params: {}, parentRunId: 'run_missing' })).rejects.toBeInstanceOf(NotFoundError);
    await expect(f.tracker.startRun({ experiment: '', params: {} })).rejects.toBeInstanceOf(ValidationError);
    const run = await f.tracker.startRun({ experiment: 'e', params: {} });
    await expect(f.tracker.finishRun(run.id, 'done' as never)).rejects.toBeInstanceOf(ValidationError);
  });

  it('resumes a killed run back to running', async () => {
    const run = await f.tracker.startRun({ experiment: 'e', params: {} });
    await f.tracker.finishRun(run.id, 'killed');
    const resumed = await f.tracker.resumeRun(run.id);
    expect(resumed.status).toBe('running');
    expect(resumed.endedAt).toBeNull();
  });
});

describe('Tracker metrics', () => {
  it('upserts on (run, key, step, split): a resumed run rewriting steps never duplicates rows', async () => {
    const run = await f.tracker.startRun({ experiment: 'e', params: {} });
    // First attempt: steps 0..4, then the process dies.
    await f.tracker.logMetrics(
      run.id,
      [0, 1, 2, 3, 4].map((step) => ({ key: 'train/loss', value: 2 - step * 0.1, step, epoch: 0 })),
    );
    await f.tracker.logMetrics(run.id, [{ key: 'val/accuracy', value: 0.5, step: 4, epoch: 0, split: 'val' }]);
    // Resume from the checkpoint at step 3: steps 3..6 are logged again with new values.
    await f.tracker.resumeRun(run.id);
    await f.tracker.logMetrics(
      run.id,
      [3, 4, 5, 6].map((step) => ({ key: 'train/loss', value: 1 - step * 0.1, step, epoch: 0 })),
    );
    await f.tracker.logMetrics(run.id, [{ key: 'val/accuracy', value: 0.6, step: 4, epoch: 0, split: 'val' }]);

    const loss = await f.tracker.metrics(run.id, 'train/loss');
    expect(loss.map((p) => p.step)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(loss[2]!.value).toBeCloseTo(1.8);
    expect(loss[3]!.value).toBeCloseTo(0.7); // the resumed value replaced the first one
    const count = await f.t.db
      .selectFrom('run_metrics')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('run_id', '=', run.id)
      .executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(8);
    const acc = await f.tracker.metrics(run.id, 'val/accuracy');
    expect(acc).toEqual([expect.objectContaining({ value: 0.6, step: 4, epoch: 0, split: 'val' })]);
    expect((await f.tracker.latestMetrics(run.id))['train/loss']).toBeCloseTo(0.4);
  });

  it('keeps the last of duplicate points in one call, stores NaN, and rejects bad points', async () => {
    const run = await f.tracker.startRun({ experiment: 'e', params: {} });
    await f.tracker.logMetrics(run.id, [
      { key: 'lr', value: 1, step: 0 },
      { key: 'lr', value: 2, step: 0 },
      { key: 'train/loss', value: Number.NaN, step: 0 },
    ]);
    expect((await f.tracker.metrics(run.id, 'lr')).map((p) => p.value)).toEqual([2]);
    expect((await f.tracker.metrics(run.id, 'train/loss'))[0]!.value).toBeNaN();
    await expect(f.tracker.logMetrics(run.id, [{ key: 'lr', value: 1, step: -1 }])).rejects.toBeInstanceOf(ValidationError);
    await expect(f.tracker.logMetrics(run.id, [{ key: '', value: 1, step: 0 }])).rejects.toBeInstanceOf(ValidationError);
    await expect(f.tracker.logMetrics('run_missing', [{ key: 'lr', value: 1, step: 0 }])).rejects.toBeInstanceOf(NotFoundError);
  });

  it('logs CPU % and RSS as system metrics', async () => {
    const run = await f.tracker.startRun({ experiment: 'e', params: {} });
    await f.tracker.logSystemMetrics(run.id, 0);
    // Burn some CPU so the second interval is measurably busy.
    const until = Date.now() + 60;
    let x = 0;
    while (Date.now() < until) x += Math.sqrt(x + 1);
    expect(x).toBeGreaterThan(0);
    await f.tracker.logSystemMetrics(run.id, 1);
    const cpu = await f.tracker.metrics(run.id, 'system/cpu_percent');
    const rss = await f.tracker.metrics(run.id, 'system/rss_mb');
    expect(cpu.map((p) => p.step)).toEqual([0, 1]);
    expect(cpu[1]!.value).toBeGreaterThan(20);
    expect(rss[1]!.value).toBeGreaterThan(10); // MiB: a Node process with vitest is far above this
  });
});

describe('Tracker artifacts', () => {
  it('stores, overwrites, lists and reads artifacts under runs/<id>/artifacts/', async () => {
    const run = await f.tracker.startRun({ experiment: 'e', params: {} });
    const key = await f.tracker.putArtifact(run.id, 'metrics.json', JSON.stringify({ a: 1 }));
    expect(key).toBe(`runs/${run.id}/artifacts/metrics.json`);
    await f.tracker.putArtifact(run.id, 'metrics.json', JSON.stringify({ a: 22 }));
    await f.tracker.putArtifact(run.id, 'model.onnx', new Uint8Array([1, 2, 3]));
    expect(JSON.parse((await f.tracker.getArtifact(run.id, 'metrics.json')).toString())).toEqual({ a: 22 });
    const list = await f.tracker.listArtifacts(run.id);
    expect(list.map((a) => [a.name, a.size, a.contentType])).toEqual([
      ['metrics.json', 8, 'application/json'],
      ['model.onnx', 3, 'application/octet-stream'],
    ]);
    expect(await f.objects.head(key)).toMatchObject({ size: 8 });
  });

  it('rejects artifact names that could leave the run prefix', async () => {
    const run = await f.tracker.startRun({ experiment: 'e', params: {} });
    for (const bad of ['../x', 'a/b', '', '.hidden', 'x\u0000y']) {
      await expect(f.tracker.putArtifact(run.id, bad, 'x')).rejects.toBeInstanceOf(ValidationError);
    }
    await expect(f.tracker.getArtifact(run.id, 'absent.json')).rejects.toBeInstanceOf(NotFoundError);
  });
});
