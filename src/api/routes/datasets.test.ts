// The dataset routes over HTTP on their own app, with a real ETL build (the seed archives' layouts,
// small) and a hand-published version holding one large image, on a SQLite test database.
import { resolve } from 'node:path';

import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { sha256Hex } from '../../core/ids.js';
import { SECONDREAD_CLASSES } from '../../data/classes.js';
import { beginBuild, completeBuild } from '../../data/datasets/repository.js';
import type { ManifestImage } from '../../data/datasets/types.js';
import { buildDataset } from '../../data/etl/build.js';
import { loadDatasetConfig } from '../../data/etl/config.js';
import { writeSeedArchives } from '../../data/etl/testing.js';
import { grayPng } from '../../data/images/testing.js';
import { accessMismatches, type CatalogFixture, openCatalogFixture } from './catalog-testing.js';
import { DATASET_ROLES, datasetsRoutes } from './datasets.js';

const EXAMPLE = resolve(import.meta.dirname, '../../../examples/datasets.yaml');
const BIG = 'ds-00000000000000000b16';
const BUILDING = 'ds-0000000000000000b00d';

let f: CatalogFixture;
let app: FastifyInstance;
let seed: string;
let big: { sha256: string; bytes: Buffer };

beforeAll(async () => {
  f = await openCatalogFixture();
  const { db } = f.tracking.t;
  await writeSeedArchives(f.tracking.dir, { cxrPerClass: 4, tbPerClass: 3, octPatients: 2, octScans: 2 });
  seed = (await buildDataset({ db, objects: f.tracking.objects, config: loadDatasetConfig(EXAMPLE, { rawDir: f.tracking.dir }) })).versionId;

  // A version with one 300×200 image, published by hand: the thumbnail must really be a thumbnail.
  const bytes = await grayPng(300, 200, (x, y) => (x + y) % 256);
  big = { sha256: sha256Hex(bytes), bytes };
  const key = `datasets/${BIG}/images/lung-covid/t-lung-covid-big.png`;
  await f.tracking.objects.put(key, bytes);
  const image: ManifestImage = {
    sha256: big.sha256,
    objectKey: key,
    fileName: 't-lung-covid-big.png',
    dataset: 't',
    sourceArchive: 't.zip',
    archiveSha256: 'a'.repeat(64),
    entryPath: 'big.png',
    sourceClass: 'COVID',
    class: 'lung-covid',
    split: 'train',
    finalEval: false,
    patientKey: null,
    width: 300,
    height: 200,
    bytes: bytes.length,
    format: 'png',
    bitDepth: 8,
    meanIntensity: 120,
    stdIntensity: 60,
  };
  await beginBuild(db, { id: BIG, name: 'big', inputs: {}, now: '2024-01-01T00:00:00.000Z' });
  await completeBuild(db, BIG, [image], { counts: { train: { 'lung-covid': 1 }, val: {}, test: {} }, finalEval: 0 }, '2024-01-01T00:00:01.000Z');
  await beginBuild(db, { id: BUILDING, name: null, inputs: {}, now: '2024-01-02T00:00:00.000Z' });

  app = await f.serve(datasetsRoutes, { db, objects: f.tracking.objects });
});
afterAll(async () => {
  await f.close();
});

const get = (url: string, role: Parameters<CatalogFixture['auth']>[0] = 'ml-engineer', headers: Record<string, string> = {}) =>
  app.inject({ method: 'GET', url, headers: { ...f.auth(role), ...headers } });

describe('GET /v1/datasets', () => {
  it('lists versions newest first with counts per split × class that add up to the image count', async () => {
    const res = await get('/v1/datasets');
    expect(res.statusCode).toBe(200);
    const list = res.json().datasets as {
      id: string;
      status: string;
      imageCount: number;
      counts: Record<string, Record<string, number>> | null;
      finalEval: number | null;
    }[];
    expect(list.map((d) => d.id)).toEqual([seed, BUILDING, BIG]); // created now, 2024-01-02, 2024-01-01
    const built = list.find((d) => d.id === seed)!;
    expect(built.status).toBe('ready');
    const total = Object.values(built.counts!)
      .flatMap((c) => Object.values(c))
      .reduce((a, b) => a + b, 0);
    expect(total).toBe(built.imageCount);
    expect(built.imageCount).toBeGreaterThan(20);
    expect(built.counts!.train!['oct-cnv']).toBeGreaterThan(0);
    expect(list.find((d) => d.id === BUILDING)).toMatchObject({ status: 'building', counts: null, finalEval: null });
  });
});

describe('GET /v1/datasets/:id', () => {
  it('the version, what it was built from (archive file names, no server paths) and its validation summary; a prefix works', async () => {
    const res = await get(`/v1/datasets/${seed.slice(0, 10)}`);
    expect(res.statusCode).toBe(200);
    const d = res.json();
    expect(d).toMatchObject({ id: seed, status: 'ready', validation: { ok: true, errors: 0, leaks: 0 } });
    expect(d.validation.splitTotals.train + d.validation.splitTotals.val + d.validation.splitTotals.test).toBe(d.imageCount);
    expect(d.build.archives.map((a: { archive: string }) => a.archive).sort()).toEqual([
      'COVID-19_Radiography_Dataset.zip',
      'OCT2017.tar.gz',
      'TB_Chest_Radiography_Database.zip',
    ]);
    expect(JSON.stringify(d.build)).not.toContain(f.tracking.dir);
    expect(d.inputs).toHaveProperty('sources');
    expect(d.finalEval).toBe(d.validation.finalEval.val + d.validation.finalEval.test);
    expect((await get(`/v1/datasets/${BUILDING}`)).json()).toMatchObject({ status: 'building', validation: null, build: null, counts: null });
  });

  it('404 for an unknown version, 400 for anything that is not a version id', async () => {
    const missing = await get('/v1/datasets/ds-ffffffff');
    expect([missing.statusCode, missing.json().code]).toEqual([404, 'not_found']);
    for (const bad of ['..%2F..%2Fetc', 'DS-1234abcd', 'ds-12', 'ds-zzzzzz', `${seed}0`, 'ds-1234%00']) {
      const res = await get(`/v1/datasets/${bad}`);
      expect([res.statusCode, res.json().code], bad).toEqual([400, 'invalid_input']);
    }
  });
});

describe('GET /v1/datasets/:id/samples', () => {
  it('n per class, each with its thumbnail URL; the same seed gives the same sample', async () => {
    const res = await get(`/v1/datasets/${seed}/samples?n=2`);
    expect(res.statusCode).toBe(200);
    const { version, samples } = res.json() as { version: string; samples: { sha256: string; class: string; thumbnail: string }[] };
    expect(version).toBe(seed);
    const classes = [...new Set(samples.map((s) => s.class))];
    expect(classes).toEqual(SECONDREAD_CLASSES.filter((c) => classes.includes(c)));
    expect(classes.length).toBeGreaterThanOrEqual(8);
    for (const c of classes) expect(samples.filter((s) => s.class === c)).toHaveLength(2);
    expect(samples[0]!.thumbnail).toBe(`/v1/datasets/${seed}/samples/${samples[0]!.sha256}/thumbnail`);
    expect((await get(`/v1/datasets/${seed}/samples?n=2`)).json()).toEqual(res.json());
  });

  it('one class and one split when asked; seeds draw different samples', async () => {
    const one = (await get(`/v1/datasets/${seed}/samples?class=lung-covid&split=train&n=3`)).json().samples as {
      class: string;
      split: string;
      sha256: string;
    }[];
    expect(one).toHaveLength(3);
    expect(one.every((s) => s.class === 'lung-covid' && s.split === 'train')).toBe(true);
    const order = async (q: string) =>
      ((await get(`/v1/datasets/${seed}/samples?class=oct-cnv&n=64${q}`)).json().samples as { sha256: string }[]).map((x) => x.sha256);
    const orders = await Promise.all(['', '&seed=1', '&seed=2', '&seed=7'].map(order));
    expect(orders.every((o) => o.length === orders[0]!.length && [...o].sort().join() === [...orders[0]!].sort().join())).toBe(true);
    expect(new Set(orders.map((o) => o.join())).size).toBeGreaterThan(1);
  });

  it('validates its query; a version still building has no samples (404)', async () => {
    for (const q of ['n=0', 'n=65', 'class=lung-flu', 'split=holdout', 'seed=-1', 'path=/etc']) {
      const res = await get(`/v1/datasets/${seed}/samples?${q}`);
      expect([res.statusCode, res.json().code], q).toEqual([400, 'invalid_input']);
    }
    expect((await get(`/v1/datasets/${BUILDING}/samples`)).statusCode).toBe(404);
    expect((await get('/v1/datasets/ds-ffffffff/samples')).statusCode).toBe(404);
  });
});

describe('GET /v1/datasets/:id/samples/:sha256/thumbnail', () => {
  const url = (id: string, sha: string, q = '') => `/v1/datasets/${id}/samples/${sha}/thumbnail${q}`;

  it('a PNG whose longest side is 128 (or the size asked), cacheable, 304 on a matching If-None-Match', async () => {
    const res = await get(url(BIG, big.sha256));
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('image/png');
    expect(res.headers['cache-control']).toBe('private, max-age=31536000, immutable');
    const meta = await sharp(res.rawPayload).metadata();
    expect([meta.format, meta.width, meta.height, meta.channels]).toEqual(['png', 128, 85, 1]);
    const small = await sharp((await get(url(BIG, big.sha256, '?size=32'))).rawPayload).metadata();
    expect([small.width, small.height]).toEqual([32, 21]);
    const again = await get(url(BIG, big.sha256), 'admin', { 'if-none-match': res.headers.etag as string });
    expect(again.statusCode).toBe(304);
    expect(again.rawPayload.length).toBe(0);
  });

  it('small images are not enlarged; images of the built version are found by their manifest sha256', async () => {
    const sha = (await get(`/v1/datasets/${seed}/samples?class=lung-normal&n=1`)).json().samples[0].sha256 as string;
    const res = await get(url(seed, sha));
    expect(res.statusCode).toBe(200);
    expect((await sharp(res.rawPayload).metadata()).width).toBe(16);
  });

  it("404 for a sha256 that is not in THAT version's manifest, 400 for anything that is not a sha256", async () => {
    expect((await get(url(seed, big.sha256))).statusCode).toBe(404); // in another version only
    expect((await get(url(BUILDING, big.sha256))).statusCode).toBe(404);
    expect((await get(url(seed, 'f'.repeat(64)))).statusCode).toBe(404);
    for (const bad of [big.sha256.toUpperCase(), big.sha256.slice(1), '..%2F..%2Fmanifest.jsonl', `${big.sha256}.png`]) {
      const res = await get(url(BIG, bad));
      expect([res.statusCode, res.json().code], bad).toEqual([400, 'invalid_input']);
    }
    for (const q of ['?size=8', '?size=129', '?size=abc']) expect((await get(url(BIG, big.sha256, q))).statusCode, q).toBe(400);
  });
});

describe('access', () => {
  it(`only ${DATASET_ROLES.join(' and ')} (403 for the others), and never without a valid token (401)`, async () => {
    const urls = ['/v1/datasets', `/v1/datasets/${BIG}`, `/v1/datasets/${BIG}/samples`, `/v1/datasets/${BIG}/samples/${big.sha256}/thumbnail`];
    expect(await accessMismatches(app, f, urls, DATASET_ROLES)).toEqual([]);
  });
});
