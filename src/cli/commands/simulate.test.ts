// `secondread simulate` end to end, in-process, on a SECONDREAD_HOME holding a tiny dataset version (4
// final_eval images) and a registered classifier whose answers are known in advance (the brightness
// model of the evaluation fixture: right on all four), with a policy for it: the report's counts must
// equal the split, every study's image must be in the object store, and the simulator's count must
// equal the server's metrics.
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadConfig } from '../../core/config.js';
import { sha256Hex } from '../../core/ids.js';
import { createLogger } from '../../core/logger.js';
import { splitImages } from '../../monitoring/evaluations/run.js';
import { type EvaluationFixture, openEvaluationFixture } from '../../monitoring/evaluations/testing.js';
import type { SimulationReport } from '../../simulate/report.js';
import { startInProcessServer } from '../../simulate/server.js';
import { PolicyStore } from '../../workflow/policies.js';
import { UserStore } from '../../workflow/users.js';
import { runCli, setEnv, tempCliHome } from '../testing.js';

const CONFIG_ENV = {
  DATABASE_URL: undefined,
  OBJECT_STORE_URL: undefined,
  REDIS_URL: undefined,
  SECONDREAD_SQLITE_PATH: undefined,
  SECONDREAD_CONFIG: undefined,
};

let f: EvaluationFixture;
let out: string;
let restore: () => void;

beforeAll(async () => {
  f = await openEvaluationFixture();
  // Every class the model knows clears at 0.5; no QA sampling, so each decision follows from the reads.
  await new PolicyStore(f.db).create({
    modelName: f.model,
    modelVersion: 1,
    rule: { thresholds: { 'lung-normal': 0.5, 'lung-covid': 0.5, 'oct-cnv': 0.5 }, qaFraction: 0 },
    by: 'test',
  });
  out = await mkdtemp(join(tmpdir(), 'sr-simulate-'));
  restore = setEnv({ SECONDREAD_HOME: f.home, LOG_LEVEL: 'silent', ...CONFIG_ENV });
});
afterAll(async () => {
  restore();
  await f.close();
  await rm(out, { recursive: true, force: true });
});

type ReportJson = Omit<SimulationReport, 'markdown'>;
const readReport = async (dir: string) => JSON.parse(await readFile(join(dir, 'report.json'), 'utf8')) as ReportJson;

describe('secondread simulate', () => {
  it('replays final_eval through the API: counts equal the split, images captured, figures match the server', async () => {
    const dir = join(out, 'agree');
    const r = await runCli('simulate', '--dataset', f.datasetVersion.slice(0, 12), '--rate', '0', '--reader-a-accuracy', '1', '--out', dir);
    expect(r.code, r.err).toBe(0);
    const split = await splitImages(f.db, f.datasetVersion, 'final_eval');
    expect(split).toHaveLength(4);

    const rep = await readReport(dir);
    expect(rep.record.dataset).toEqual({ version: f.datasetVersion, split: 'final_eval', splitSize: 4, replayed: 4 });
    expect(rep.record.schedule).toEqual({ stoppedBy: 'complete', started: 4, completed: 4, failed: 0, notStarted: 0 });
    // Reader A is right, the model is right on all four with p ≥ 0.5: every study is cleared, none wrongly.
    expect(rep.figures).toMatchObject({
      studies: 4,
      autoFinalized: 4,
      secondRead: 0,
      adjudicated: 0,
      noModelRead: 0,
      blindingViolations: 0,
      imageRoundTripFailures: 0,
      models: { 'brightness@1': 4 },
    });
    expect(rep.figures.secondReviewReduction).toEqual({ numerator: 4, denominator: 4, rate: 1 });
    expect(rep.figures.falseClear.truth).toEqual({ numerator: 0, denominator: 4, rate: 0 });
    // Three CXR (3 min, 25 USD a read) and one OCT (4 min, 35 USD) cleared, four model reads at 0.01.
    expect(rep.figures.savings.minutesSaved).toBe(3 * 3 + 4);
    expect(rep.figures.savings.costSaved).toBeCloseTo(3 * 25 + 35 - 4 * 0.01, 9);
    expect(rep.differences).toEqual([]);
    expect(rep.crossCheck!.find((c) => c.figure === 'studies')).toEqual({ figure: 'studies', simulator: 4, server: 4, match: true });

    // The split's images, one study each, with the truth of the manifest.
    expect(rep.record.outcomes.map((o) => o.key).sort()).toEqual(split.map((i) => i.sha256).sort());
    for (const o of rep.record.outcomes) expect(o.truth).toBe(split.find((i) => i.sha256 === o.key)!.class);

    // Captured: each study's image is in the object store under its study key, byte for byte the dataset image.
    expect(rep.record.capture).toMatchObject({ checked: 4, found: 4, missing: [] });
    for (const o of rep.record.outcomes) {
      expect(o.imageKey).toBe(`studies/${o.studyId}/image.png`);
      expect(sha256Hex(await f.objects.getBytes(o.imageKey))).toBe(o.key);
    }
    const stored = await f.db
      .selectFrom('studies')
      .select(['id', 'dataset_version', 'dataset_sha256', 'truth_class', 'status'])
      .where(
        'id',
        'in',
        rep.record.outcomes.map((o) => o.studyId),
      )
      .execute();
    expect(stored.map((s) => [s.dataset_version, s.status])).toEqual(Array(4).fill([f.datasetVersion, 'auto_finalized']));

    // The run's three users can do nothing any more.
    const tokens = (await new UserStore(f.db).listTokens()).filter((t) => rep.record.users.includes(t.userName));
    expect(tokens).toHaveLength(3);
    expect(tokens.every((t) => t.revokedAt !== null)).toBe(true);

    // report.md carries the same counts, and the charts exist.
    const md = await readFile(join(dir, 'report.md'), 'utf8');
    expect(md).toContain('| in the split | 4 |');
    expect(md).toContain('| completed | 4 |');
    expect(md).toContain('| second-review reduction (auto-finalized / decided) | 100.0 % (4/4) |');
    expect(md).toContain('**all match**');
    expect((await readdir(dir)).sort()).toEqual([
      'accuracy-by-class.png',
      'agreement-by-class.png',
      'reduction-false-clear.png',
      'report.json',
      'report.md',
      'savings.png',
    ]);
    expect(r.out).toMatch(/simulation sim-\w+: 4 of 4 studies completed \(final_eval of ds-\w+: 4 images\), 0 failed, 0 not started/);
    expect(r.out).toContain('images captured in the object store: 4/4');
    expect(r.out).toContain('simulator vs GET /v1/workflow/metrics: all figures match');
  }, 60_000);

  it('a reader A who is always wrong sends every study to B, who corrects it; --limit bounds the count', async () => {
    const dir = join(out, 'wrong');
    const r = await runCli(
      'simulate',
      '--dataset',
      f.datasetVersion,
      '--rate',
      '50',
      '--concurrency',
      '2',
      '--reader-a-accuracy',
      '0',
      '--limit',
      '3',
      '--out',
      dir,
    );
    expect(r.code, r.err).toBe(0);
    const rep = await readReport(dir);
    expect(rep.record.dataset).toMatchObject({ splitSize: 4, replayed: 3 });
    expect(rep.figures).toMatchObject({ studies: 3, autoFinalized: 0, secondRead: 3, adjudicated: 3, reasons: { disagreement: 3 }, finalWrong: { total: 0 } });
    expect(rep.figures.byTruth.every((c) => c.readerACorrect.numerator === 0 && c.finalCorrect.rate === 1)).toBe(true);
    // The metrics window starts with this run: the first run's studies are not counted.
    expect(rep.differences).toEqual([]);
    expect(rep.crossCheck!.find((c) => c.figure === 'studies')).toMatchObject({ simulator: 3, server: 3 });
  }, 60_000);

  it('without a model read every study goes to B, and the report says so', async () => {
    const dir = join(out, 'nomodel');
    const r = await runCli('simulate', '--dataset', f.datasetVersion, '--rate', '0', '--model', 'not-registered', '--out', dir);
    expect(r.code, r.err).toBe(0);
    const rep = await readReport(dir);
    expect(rep.figures).toMatchObject({ studies: 4, noModelRead: 4, autoFinalized: 0, adjudicated: 4, reasons: { no_model_read: 4 }, models: {} });
    expect(rep.differences).toEqual([]);
    const md = await readFile(join(dir, 'report.md'), 'utf8');
    expect(md).toContain("model 'not-registered' is not registered: no model read any study");
    expect(md).toContain('**No model read any study**');
    expect(r.out).toContain('models: none (every study went to reader B)');
  }, 60_000);

  it('drives a running loopback server with --url', async () => {
    const config = loadConfig();
    const db = f.db;
    const server = await startInProcessServer({ config, logger: createLogger('silent'), db, objects: f.objects });
    try {
      const dir = join(out, 'url');
      const r = await runCli(
        'simulate',
        '--dataset',
        f.datasetVersion,
        '--url',
        server.url,
        '--rate',
        '0',
        '--reader-a-accuracy',
        '1',
        '--limit',
        '2',
        '--out',
        dir,
      );
      expect(r.code, r.err).toBe(0);
      const rep = await readReport(dir);
      expect(rep.record.server).toEqual({ url: server.url, inProcess: false, note: null });
      expect(rep.figures).toMatchObject({ studies: 2, autoFinalized: 2 });
      expect(rep.record.capture).toMatchObject({ checked: 2, found: 2 });
      expect(rep.differences).toEqual([]);
    } finally {
      await server.close();
    }
  }, 60_000);
});

describe('secondread simulate flags', () => {
  it('refuses a non-loopback --url before opening anything', async () => {
    const t = await tempCliHome('sr-simulate-flags-', CONFIG_ENV);
    try {
      for (const url of ['http://10.1.2.3:8080', 'http://example.com', 'http://0.0.0.0:8080']) {
        const r = await runCli('simulate', '--dataset', 'ds-x', '--url', url);
        expect([r.code, r.err], url).toEqual([
          2,
          expect.stringMatching(/error: --url must be a loopback address \(http:\/\/127\.0\.0\.1:<port>.*is not a loopback address.*\[not_loopback\]/),
        ]);
      }
      expect(existsSync(t.home)).toBe(false);
    } finally {
      // Puts back the fixture's SECONDREAD_HOME.
      await t.cleanup();
    }
  });

  it('refuses bad flags with exit code 2', async () => {
    for (const [args, message] of [
      [['--rate', '-1'], /--rate must be a number/],
      [['--concurrency', '0'], /--concurrency must be an integer from 1 to 256/],
      [['--limit', '0'], /--limit must be a positive integer/],
      [['--reader-a-accuracy', '1.2'], /--reader-a-accuracy must be a number in 0…1/],
      [['--split', 'holdout'], /--split must be one of train, val, test, final_eval/],
      [['--confusion', 'random'], /--confusion must be one of miss, uniform/],
      [['--url', 'http://127.0.0.1:1', '--model', 'm'], /with --url the server decides/],
      [['--max-seconds', 'soon'], /--max-seconds/],
    ] as const) {
      const r = await runCli('simulate', '--dataset', f.datasetVersion, ...args);
      expect([r.code, r.err], args.join(' ')).toEqual([2, expect.stringMatching(message)]);
    }
    const r = await runCli('simulate', '--dataset', 'ds-nope');
    expect([r.code, r.err]).toEqual([2, expect.stringMatching(/dataset version 'ds-nope' was not found/)]);
    expect(await runCli('simulate')).toMatchObject({ code: 2, err: expect.stringMatching(/--dataset is required \(or --scenario <file\.yaml>\)/) });
    expect(await runCli('simulate', '--scenario', '/nonexistent/s.yaml')).toMatchObject({ code: 2, err: expect.stringMatching(/cannot read scenario/) });
  });
});
