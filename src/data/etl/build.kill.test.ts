// kill -9 in the middle of a build, then a clean rerun: the version must end ready with exactly the
// expected rows and objects — nothing missing, nothing twice, no debris.
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { listImages } from '../datasets/repository.js';
import { buildDataset } from './build.js';
import { loadDatasetConfig } from './config.js';
import { manifestKey } from './naming.js';
import { type Fixture, openFixture, writeSeedArchives } from './testing.js';

const EXAMPLE = resolve(import.meta.dirname, '../../../examples/datasets.yaml');
const CHILD = resolve(import.meta.dirname, 'testing-build-child.ts');

let fx: Fixture;
beforeEach(async () => {
  fx = await openFixture('sr-kill-');
});
afterEach(async () => {
  await fx.cleanup();
});

/** Starts the child build, waits until it reports PAUSED, SIGKILLs it; resolves with the exit signal. */
function buildAndKill(configFile: string, pauseAfter: number): Promise<NodeJS.Signals | null> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, fx.dir, configFile, String(pauseAfter)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('PAUSED')) child.kill('SIGKILL');
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => (signal ? resolvePromise(signal) : reject(new Error(`child exited ${code} without pausing: ${out} ${err}`))));
  });
}

describe('interrupted build', () => {
  it('after SIGKILL mid-upload, a rerun completes the same version with exactly the expected rows and objects', async () => {
    await writeSeedArchives(fx.dir);
    const configFile = join(fx.dir, 'datasets.yaml');
    await writeFile(configFile, (await readFile(EXAMPLE, 'utf8')).replace('raw_dir: /tmp/raw', `raw_dir: ${JSON.stringify(fx.dir)}`));

    expect(await buildAndKill(configFile, 40)).toBe('SIGKILL');
    const [row] = await fx.db.selectFrom('dataset_versions').selectAll().execute();
    expect(row).toMatchObject({ status: 'building' });
    const versionId = row!.id;
    const before: string[] = [];
    for await (const o of fx.objects.list(`datasets/${versionId}/images/`)) before.push(o.key);
    expect(before.length).toBeGreaterThanOrEqual(20); // the child really was mid-upload
    expect(await listImages(fx.db, versionId)).toHaveLength(0);
    // Debris under the version's prefix (e.g. from a run with different code) is cleaned up too.
    await fx.objects.put(`datasets/${versionId}/images/lung-covid/stray.png`, 'x');

    const r = await buildDataset({ db: fx.db, objects: fx.objects, config: loadDatasetConfig(configFile) });
    expect(r).toMatchObject({ versionId, built: true });
    expect(r.version.status).toBe('ready');
    expect(r.report.objects.reused).toBeGreaterThanOrEqual(before.length);
    expect(r.report.objects.removed).toBe(1);

    const rows = await listImages(fx.db, versionId);
    expect(rows).toHaveLength(108);
    expect(new Set(rows.map((x) => x.sha256)).size).toBe(108);
    const after: string[] = [];
    for await (const o of fx.objects.list(`datasets/${versionId}/images/`)) after.push(o.key);
    expect(after.sort()).toEqual(rows.map((x) => x.objectKey).sort());
    const lines = (await fx.objects.getBytes(manifestKey(versionId))).toString().trim().split('\n');
    expect(lines).toHaveLength(108);

    const again = await buildDataset({ db: fx.db, objects: fx.objects, config: loadDatasetConfig(configFile) });
    expect(again).toMatchObject({ versionId, built: false });
  });
});
