// `secondread policy …` end to end, in-process, on a SECONDREAD_HOME holding a registered model whose answers are
// known (the evaluation fixture's brightness classifier) and a small published dataset version.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { silentLogger } from '../../core/logger.js';
import { type EvaluationFixture, FIXTURE_IMAGES, openEvaluationFixture, publishTinyVersion } from '../../monitoring/evaluations/testing.js';
import { PolicyStore } from '../../workflow/policies.js';
import { evaluatePolicy } from '../../workflow/policy.js';
import type { PolicyFitReport } from '../../workflow/policy-report.js';
import { scoreSplit } from '../../workflow/score-split.js';
import { runCli, setEnv } from '../testing.js';

let f: EvaluationFixture;
let restore: () => void;
beforeAll(async () => {
  f = await openEvaluationFixture();
  restore = setEnv({ SECONDREAD_HOME: f.home, LOG_LEVEL: 'silent', SECONDREAD_CONFIG: '' });
});
afterAll(async () => {
  restore?.();
  await f?.close();
});

type Written = PolicyFitReport & { policy: { id: string; version: number } | null };

describe('secondread policy fit', () => {
  it('with a perfect reader: clears every agreement, stores the policy, writes chart, report.json and report.md', async () => {
    const out = join(f.home, 'fit-1');
    const r = await runCli(
      'policy',
      'fit',
      '--model',
      'brightness@production',
      '--dataset',
      f.datasetVersion.slice(0, 12),
      '--split',
      'test',
      '--reader-accuracy',
      '1',
      '--max-false-clear',
      '0',
      '--method',
      'empirical',
      '--by',
      'alice',
      '--out',
      out,
    );
    expect(r.code).toBe(0);
    // Progress on stderr (a log line per phase when stderr is not a terminal, a bar when it is).
    expect(r.err).toBe('score: 12/12 \n');
    // 12 test images: the model is right on 8 (2 are oct-dme, a class it does not know); a perfect A agrees exactly there.
    expect(r.out).toMatch(/brightness v1 on ds-\w+ \(test\): 12 studies, simulated reader A \(accuracy 100\.0%, miss, seed 1\)/);
    expect(r.out).toContain('second-review reduction 66.67% (8 of 12 auto-finalized); after 5.0% QA sampling 63.33%');
    expect(r.out).toContain('false-clear rate 0.00% (0 of 8 auto-finalized; bound 0.00%)');
    expect(r.out).toMatch(/lung-normal\s+0\.\d{6}\s+fitted\s+3\s+3\s+3\s+0/);
    expect(r.out).toContain('  method: empirical — the false-clear rate is within the bound on this split only');
    expect(r.out).toMatch(/policy (pol_\w+) stored: version 1 of brightness v1, in force for it from now on/);

    const written = JSON.parse(await readFile(join(out, 'report.json'), 'utf8')) as Written;
    expect(written).toMatchObject({
      kind: 'policy-fit',
      model: { name: 'brightness', version: 1, temperature: 1.5 },
      dataset: { version: f.datasetVersion, split: 'test' },
      unknownToModel: [{ class: 'oct-dme', images: 2 }],
    });
    expect(written.fit).toMatchObject({ studies: 12, autoFinalized: 8, falseClears: 0, agreements: 8, readerAccuracy: 1 });
    const stored = await new PolicyStore(f.db).get(written.policy!.id);
    expect(stored).toMatchObject({ modelName: 'brightness', modelVersion: 1, version: 1, createdBy: 'alice', qaFraction: 0.05, alwaysDoubleRead: [] });
    expect(stored.thresholds).toEqual(written.fit.rule.thresholds);
    expect(Object.keys(stored.thresholds).sort()).toEqual(['lung-covid', 'lung-normal', 'oct-cnv']);
    expect((stored.report as PolicyFitReport).fit.autoFinalized).toBe(8);
    expect(await readFile(join(out, 'report.md'), 'utf8')).toContain(`Stored as policy \`${stored.id}\`, version 1 of brightness v1`);
    expect((await sharp(await readFile(join(out, 'tradeoff.png'))).metadata()).format).toBe('png');

    const ls = await runCli('policy', 'ls', '--model', 'brightness');
    expect(ls.code).toBe(0);
    expect(ls.out).toMatch(new RegExp(`${stored.id}\\s+brightness\\s+v1\\s+1\\s+yes\\s+3\\s+—\\s+5\\.0%\\s+66\\.7%\\s+0\\.00%\\s+empirical`));
    const show = await runCli('policy', 'show', stored.id);
    expect(show.out).toContain(`policy ${stored.id}: version 1 of brightness v1 (in force)`);
    expect(show.out).toContain('second-review reduction 66.67%');
    expect(JSON.parse((await runCli('policy', 'show', stored.id, '--json')).out)).toMatchObject({
      id: stored.id,
      inForce: true,
      thresholds: stored.thresholds,
    });
  });

  it('with recorded reads: studies without a read are left out, and the stored rule reproduces the reported figures', async () => {
    // A reads what the model says (so every model error is a false clear if cleared), except two studies it never read.
    const scored = await scoreSplit(
      { db: f.db, objects: f.objects, registry: f.registry, logger: silentLogger },
      { model: 'brightness', version: 1, datasetVersion: f.datasetVersion, split: 'test' },
    );
    const reads = scored.cases.slice(2).map((c) => `${c.key},${c.predictions[0]!.class}`);
    const csv = join(f.home, 'reads.csv');
    await writeFile(csv, `sha256,label\n${reads.join('\n')}\n`);
    const out = join(f.home, 'fit-2');
    const r = await runCli(
      'policy',
      'fit',
      '--model',
      'brightness:1',
      '--dataset',
      f.datasetVersion,
      '--split',
      'test',
      '--reader-a-reads',
      csv,
      '--max-false-clear',
      '0.3',
      '--method',
      'empirical',
      '--always-double-read',
      'oct-cnv',
      '--qa-fraction',
      '0.1',
      '--out',
      out,
      '--json',
    );
    expect(r.code).toBe(0);
    expect(r.err).toContain('warning: 2 of 12 studies of the split have no read');
    const j = JSON.parse(r.out) as Written & { policy: { id: string; version: number } };
    expect(j.readerA).toMatchObject({ kind: 'recorded', file: 'reads.csv', reads: 10 });
    expect(j.policy.version).toBe(2);
    expect(j.policy).not.toHaveProperty('report');
    const listed = JSON.parse((await runCli('policy', 'ls', '--json')).out) as object[];
    expect(listed).toHaveLength(2);
    for (const p of listed) expect(p).not.toHaveProperty('report');
    const fit = j.fit;
    expect(fit).toMatchObject({ studies: 10, unread: 2, agreements: 10 });
    expect(fit.rule).toMatchObject({ alwaysDoubleRead: ['oct-cnv'], qaFraction: 0.1 });
    expect(fit.falseClears).toBeLessThanOrEqual(0.3 * fit.autoFinalized);
    // Replay the stored rule over the same studies with the production decision function (no QA draw).
    const labels = new Map(reads.map((l) => l.split(',') as [string, string]));
    let cleared = 0;
    let wrong = 0;
    for (const c of scored.cases) {
      const label = labels.get(c.key);
      if (label === undefined) continue;
      if (evaluatePolicy({ label, model: { top: c.predictions[0]! }, policy: fit.rule, draw: 1 }).decision === 'auto_finalized') {
        cleared++;
        if (label !== c.truth) wrong++;
      }
    }
    expect([cleared, wrong]).toEqual([fit.autoFinalized, fit.falseClears]);
    expect(fit.autoFinalized).toBeGreaterThan(0);
  });

  it('by default certifies the bound out of sample, and on 12 studies says it cannot: the policy clears nothing', async () => {
    const out = join(f.home, 'fit-ltt');
    const r = await runCli('policy', 'fit', '--model', 'brightness', '--dataset', f.datasetVersion, '--split', 'test', '--reader-accuracy', '1', '--out', out);
    expect(r.code).toBe(0);
    expect(r.err).toContain('warning: nothing certified at bound 0.50% and confidence 95% on 12 studies: the policy clears nothing');
    expect(r.out).toMatch(/ {2}method: Learn then Test at 95% confidence — candidates from \d+ studies \(search part, 30%\), tested in a fixed sequence/);
    expect(r.out).toContain('  guarantee: NOTHING CERTIFIED');
    expect(r.out).toContain('Showing it takes at least 598 clears on the test part without a single false clear');
    expect(r.out).toContain('  price: 66.67 points of second-review reduction — the empirical fit');
    expect(r.out).toContain('second-review reduction 0.00% (0 of 12 auto-finalized)');
    const written = JSON.parse(await readFile(join(out, 'report.json'), 'utf8')) as Written;
    expect(written.fit).toMatchObject({ method: 'ltt', confidence: 0.95, autoFinalized: 0, rule: { thresholds: {} } });
    expect(written.fit.guarantee).toMatchObject({ method: 'learn-then-test', chosen: null, upperBound: null, searchFraction: 0.3, splitSeed: 1 });
    expect(written.fit.empirical.autoFinalized).toBe(8);
    expect(await readFile(join(out, 'report.md'), 'utf8')).toContain('## The guarantee');
    const stored = await new PolicyStore(f.db).get(written.policy!.id);
    expect(stored.thresholds).toEqual({});
    expect((await runCli('policy', 'ls', '--model', 'brightness')).out).toMatch(new RegExp(`${stored.id}.*LTT 95%`));
    // A wider bound at a lower confidence, another split: the options reach the fit.
    const j = JSON.parse(
      (
        await runCli(
          ...[
            'policy',
            'fit',
            '--model',
            'brightness',
            '--dataset',
            f.datasetVersion,
            '--split',
            'test',
            '--dry-run',
            '--json',
            '--out',
            join(f.home, 'fit-ltt2'),
          ],
          ...['--max-false-clear', '0.4', '--confidence', '0.6', '--search-fraction', '0.5', '--split-seed', '3'],
        )
      ).out,
    ) as Written;
    expect(j.fit.guarantee).toMatchObject({ confidence: 0.6, searchFraction: 0.5, splitSeed: 3 });
    expect(j.fit.maxFalseClear).toBe(0.4);
  });

  it('--dry-run stores nothing', async () => {
    const before = (await new PolicyStore(f.db).list()).length;
    const r = await runCli(
      'policy',
      'fit',
      '--model',
      'brightness',
      '--dataset',
      f.datasetVersion,
      '--split',
      'val',
      '--dry-run',
      '--out',
      join(f.home, 'dry'),
    );
    expect(r.code).toBe(0);
    expect(r.out).toContain('dry run: no policy stored');
    expect(await readFile(join(f.home, 'dry', 'report.md'), 'utf8')).toContain('Not stored (dry run).');
    expect((await new PolicyStore(f.db).list()).length).toBe(before);
  });

  it('explains itself in --help', async () => {
    const r = await runCli('policy', 'fit', '--help');
    expect(r.code).toBe(0);
    expect(r.out).toContain('--max-false-clear <rate>');
    expect(r.out).toContain('false-clear rate false clears / auto-finalized');
    expect(r.out).toContain('reduction x (1 - qa fraction)');
    expect(r.out).toContain('--confidence <c>');
    expect(r.out).toContain('Learn then Test');
  });

  it('refuses bad input with a clear message and exit code 2', async () => {
    const base = ['policy', 'fit', '--model', 'brightness', '--dataset', f.datasetVersion, '--dry-run', '--out', join(f.home, 'never')];
    const emptyVal = await publishTinyVersion(
      f.db,
      f.objects,
      FIXTURE_IMAGES.filter((i) => i.split !== 'val'),
      'ds-00000000000000000077',
    );
    const cases: [string[], RegExp][] = [
      [['--model', 'nope'], /model 'nope' was not found/],
      [['--model', 'brightness:9'], /model version 'brightness v9' was not found/],
      [['--model', 'brightness@canary'], /brightness@canary/],
      [['--model', 'Bad Name!'], /invalid model reference/],
      [['--dataset', 'ds-zzzz'], /dataset version 'ds-zzzz' was not found/],
      [['--split', 'holdout'], /--split must be one of train, val, test, final_eval/],
      [['--dataset', emptyVal], /split 'val' of ds-00000000000000000077 has no images/],
      [['--max-false-clear', '5'], /--max-false-clear must be a number in 0…1, got '5'/],
      [['--qa-fraction', 'x'], /--qa-fraction must be a number/],
      [['--method', 'bayes'], /--method must be one of ltt, empirical, got 'bayes'/],
      [['--confidence', '1'], /--confidence must be strictly between 0 and 1/],
      [['--search-fraction', '0'], /--search-fraction must be strictly between 0 and 1/],
      [['--split-seed', '-1'], /--split-seed/],
      [['--reader-accuracy', '1.5'], /--reader-accuracy must be a number in 0…1/],
      [['--confusion', 'random'], /--confusion must be one of miss, uniform/],
      [['--reader-class-accuracy', 'oct-drusen'], /expected class=accuracy/],
      [['--always-double-read', 'lung-normal,lung-cancer'], /--always-double-read: unknown class 'lung-cancer'/],
      [['--reader-a-reads', join(f.home, 'missing.csv')], /cannot read reads file .*ENOENT/],
      [['--reader-a-reads', join(f.home, 'reads.csv'), '--reader-accuracy', '0.8'], /do not pass --reader-accuracy/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(...base, ...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err, args.join(' ')).toMatch(message);
      expect(r.err).not.toMatch(/\n\s+at /);
    }
    const show = await runCli('policy', 'show', 'pol_nope');
    expect([show.code, show.err]).toEqual([2, "error: policy 'pol_nope' was not found [not_found]\n"]);
  });
});
