// The ETL on the scale-out backends: PostgreSQL for the manifest and an S3 server (s3rver) for the
// objects. The same build must produce the same version id, rows and validation as on the embedded
// default, and a rerun must be a no-op.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { postgresUrlForTests } from '../../../test/integration/helpers/postgres.js';
import { type S3TestServer, startS3Server } from '../../../test/integration/helpers/s3-server.js';
import { S3ObjectStore } from '../../storage/s3-object-store.js';
import { openTestDatabase } from '../../storage/testing.js';
import { buildCache } from '../cache/build-cache.js';
import { listImages } from '../datasets/repository.js';
import { validateVersion } from '../validate/validate-version.js';
import { buildDataset } from './build.js';
import { loadDatasetConfig } from './config.js';
import { openFixture, writeSeedArchives } from './testing.js';

const EXAMPLE = resolve(import.meta.dirname, '../../../examples/datasets.yaml');
const url = await postgresUrlForTests();

let dir: string;
let server: S3TestServer;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sr-etl-int-'));
  await writeSeedArchives(dir, { cxrPerClass: 6, tbPerClass: 6, octPatients: 4, octScans: 2 });
  server = await startS3Server();
});
afterAll(async () => {
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!url)('ETL on PostgreSQL + S3', () => {
  it('builds, validates, caches, and reruns as a no-op — the same version as on SQLite + filesystem', async () => {
    const config = loadDatasetConfig(EXAMPLE, { rawDir: dir });
    const pgdb = await openTestDatabase('postgres', { url });
    const s3 = new S3ObjectStore({
      bucket: server.bucket,
      prefix: `etl-${process.pid}`,
      endpoint: server.endpoint,
      region: server.region,
      credentials: server.credentials,
      forcePathStyle: true,
    });
    const local = await openFixture('sr-etl-int-local-');
    try {
      const r = await buildDataset({ db: pgdb.db, objects: s3, config });
      expect(r.built).toBe(true);
      const rows = await listImages(pgdb.db, r.versionId);
      expect(rows).toHaveLength(68);
      expect((await validateVersion(pgdb.db, r.versionId, { objects: s3 })).ok).toBe(true);
      expect(await buildDataset({ db: pgdb.db, objects: s3, config })).toMatchObject({ versionId: r.versionId, built: false });
      const cache = await buildCache({ db: pgdb.db, objects: s3, versionId: r.versionId, size: 16, dir: join(local.dir, 'cache') });
      expect(cache.reduce((n, f) => n + f.count, 0)).toBe(68);

      const embedded = await buildDataset({ db: local.db, objects: local.objects, config });
      expect(embedded.versionId).toBe(r.versionId);
      expect(await listImages(local.db, embedded.versionId)).toEqual(rows);
    } finally {
      await local.cleanup();
      await s3.close();
      await pgdb.close();
    }
  });
});
