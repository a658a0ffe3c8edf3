import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';

import { CLASS_MODALITY, type SecondreadClass } from '../data/classes.js';
import { DEFAULT_ECONOMICS, rate, type WorkflowMetrics } from '../workflow/metrics.js';
import { barChartLayout } from './bar-chart.js';
import { buildReport, CHART_FILES, type SimulationRecord, summaryLines, writeReport } from './report.js';
import type { StudyOutcome } from './tally.js';

/** One study of the scenario: truth, the model's top class (null: no model read), A, the decision, B. */
function study(
  index: number,
  truth: SecondreadClass,
  model: SecondreadClass | null,
  a: string,
  decision: 'auto' | 'B' | 'qa',
  b: string | null = null,
  reasons: string[] = [],
): StudyOutcome {
  return {
    index,
    key: index.toString(16).padStart(64, '0'),
    truth,
    modality: CLASS_MODALITY[truth],
    studyId: `st_${index}`,
    imageKey: `studies/st_${index}/image.png`,
    model: model === null ? null : { name: 'cxr-oct', version: 2, top: model },
    labelA: a,
    decision: decision === 'auto' ? 'auto_finalized' : 'second_read',
    reasons: decision === 'qa' ? ['qa_sample'] : reasons,
    qa: decision === 'qa',
    policyId: model === null ? null : 'pol_1',
    labelB: decision === 'auto' ? null : b,
    finalLabel: decision === 'auto' ? a : b!,
    blindedBeforeA: true,
    imageRoundTrip: true,
    startedMs: index * 100,
    endedMs: index * 100 + 50,
  };
}

/**
 * Ten studies whose figures are known by construction: 5 auto-finalized (one a false clear: #3, a
 * missed covid), 2 QA samples (B disagrees with A on #9), 1 without a model read.
 */
const OUTCOMES: StudyOutcome[] = [
  study(1, 'lung-normal', 'lung-normal', 'lung-normal', 'auto'),
  study(2, 'lung-covid', 'lung-covid', 'lung-covid', 'auto'),
  study(3, 'lung-covid', 'lung-normal', 'lung-normal', 'auto'),
  study(4, 'lung-normal', 'lung-normal', 'lung-normal', 'qa', 'lung-normal'),
  study(5, 'lung-opacity', 'lung-opacity', 'lung-normal', 'B', 'lung-opacity', ['disagreement']),
  study(6, 'oct-cnv', 'oct-cnv', 'oct-cnv', 'auto'),
  study(7, 'oct-dme', 'oct-dme', 'oct-dme', 'B', 'oct-dme', ['low_confidence']),
  study(8, 'oct-normal', null, 'oct-normal', 'B', 'oct-normal', ['no_model_read']),
  study(9, 'oct-drusen', 'oct-drusen', 'oct-drusen', 'qa', 'oct-normal'),
  study(10, 'lung-normal', 'lung-normal', 'lung-normal', 'auto'),
];

/** What the server would say about the same studies, plus `extra` studies it counts that the simulator does not. */
function serverMetrics(extra = 0): WorkflowMetrics {
  return {
    since: '2026-03-01T10:00:00.000Z',
    studies: 10 + extra,
    decided: 10,
    autoFinalized: 5,
    secondRead: 5,
    qaSampled: 2,
    adjudicated: 5,
    secondReviewReduction: rate(5, 10),
    falseClear: { qa: rate(1, 2), truth: rate(1, 5) },
    agreementByClass: [
      { class: 'lung-covid', ...rate(1, 1) },
      { class: 'lung-normal', ...rate(4, 5) },
      { class: 'oct-cnv', ...rate(1, 1) },
      { class: 'oct-dme', ...rate(1, 1) },
      { class: 'oct-drusen', ...rate(1, 1) },
    ],
    turnaroundSeconds: { count: 10, mean: 1, median: 1, p90: 1 },
    worklistDepth: { A: extra, B: 0, qaInB: 0 },
    savings: {
      economics: DEFAULT_ECONOMICS,
      minutesSaved: 16,
      costSaved: 134.91,
      costSavedPerScan: 13.491,
      byModality: {
        cxr: { autoFinalized: 4, modelReads: 6, minutesSaved: 12, costSaved: 99.94 },
        oct: { autoFinalized: 1, modelReads: 3, minutesSaved: 4, costSaved: 34.97 },
      },
    },
  };
}

function record(o: Partial<SimulationRecord> = {}): SimulationRecord {
  const outcomes = o.outcomes ?? OUTCOMES;
  return {
    id: 'sim-test',
    startedAt: '2026-03-01T10:00:00.000Z',
    endedAt: '2026-03-01T10:00:01.500Z',
    elapsedSeconds: 1.5,
    dataset: { version: 'ds-0123456789abcdef', split: 'final_eval', splitSize: 12, replayed: 11 },
    server: { url: 'http://127.0.0.1:40000', inProcess: true, note: null },
    settings: {
      rate: 10,
      concurrency: 4,
      maxSeconds: 600,
      limit: 11,
      readerA: { accuracy: 0.9, confusion: 'miss', seed: 1 },
      readerB: { accuracy: 1, confusion: 'miss', seed: 2 },
    },
    users: ['sim-x-engineer', 'sim-x-reader', 'sim-x-adjudicator'],
    schedule: { stoppedBy: 'complete', started: 11, completed: outcomes.length, failed: 1, notStarted: 0 },
    outcomes,
    failures: [{ index: 11, key: 'b'.repeat(64), stage: 'read_a', studyId: 'st_11', message: 'POST /v1/studies/st_11/reads → 500 internal: boom | pipe' }],
    capture: { store: 'file:///tmp/objects', checked: outcomes.length, found: outcomes.length, missing: [], note: null },
    serverMetrics: {
      final: serverMetrics(1),
      error: null,
      snapshots: [
        { seconds: 0.6, metrics: serverMetrics(0) },
        { seconds: 1.5, metrics: serverMetrics(1) },
      ],
    },
    economics: DEFAULT_ECONOMICS,
    economicsSource: 'server',
    ...o,
  };
}

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('simulation report', () => {
  it('computes the figures known by construction', () => {
    const { figures: f } = buildReport(record());
    expect(f).toMatchObject({ studies: 10, decided: 10, autoFinalized: 5, secondRead: 5, qaSampled: 2, adjudicated: 5, noModelRead: 1, blindingViolations: 0 });
    expect(f.secondReviewReduction).toEqual(rate(5, 10));
    expect(f.falseClear).toEqual({ truth: rate(1, 5), qa: rate(1, 2) });
    expect(f.agreementByClass.find((r) => r.class === 'lung-normal')).toEqual({ class: 'lung-normal', ...rate(4, 5) });
    expect(f.finalWrong).toEqual({ total: 2, autoFinalized: 1, adjudicated: 1 });
    expect(f.savings.minutesSaved).toBe(16);
    expect(f.savings.costSaved).toBeCloseTo(134.91, 10);
    expect(f.reasons).toEqual({ qa_sample: 2, disagreement: 1, low_confidence: 1, no_model_read: 1 });
    expect(f.models).toEqual({ 'cxr-oct@2': 9 });
    expect(f.byTruth.find((c) => c.class === 'lung-covid')).toEqual({
      class: 'lung-covid',
      studies: 2,
      autoFinalized: 2,
      falseClears: 1,
      modelCorrect: rate(1, 2),
      readerACorrect: rate(1, 2),
      finalCorrect: rate(1, 2),
    });
    expect(f.byTruth.find((c) => c.class === 'oct-normal')?.modelCorrect).toEqual(rate(0, 0));
  });

  it('writes the figures into report.md, and names every difference from the server', async () => {
    const { markdown: md, differences } = buildReport(record());
    for (const line of [
      '| second-review reduction (auto-finalized / decided) | 50.0 % (5/10) |',
      '| false-clear rate, truth (cleared with a wrong label / cleared) | 20.0 % (1/5) |',
      '| false-clear rate, QA (B ≠ A / QA adjudicated) | 50.0 % (1/2) |',
      '| second reads | 5 (QA samples 2) |',
      '| final label ≠ truth | 2 (cleared by the policy 1, adjudicated 1) |',
      '| physician time saved | 16 min (0.27 h) |',
      '| cost saved | 134.91 USD (13.49 USD per scan) |',
      '| lung-covid | 2 | 2 | 1 | 50.0 % (1/2) | 50.0 % (1/2) | 50.0 % (1/2) |',
      '| oct-normal | 1 | 0 | 0 | n/a (0/0) | 100.0 % (1/1) | 100.0 % (1/1) |',
      '| lung-normal | 80.0 % (4/5) | 80.0 % (4/5) |',
      '| in the split | 12 |',
      '| to replay (after --limit) | 11 |',
      '| completed | 10 |',
      '| failed | 1 |',
      '| 11 | read_a | st_11 | POST /v1/studies/st_11/reads → 500 internal: boom \\| pipe |',
      '| studies | 10 | 11 | **differs** |',
      '| auto-finalized | 5 | 5 | ok |',
      '| cost saved | 134.91 | 134.91 | ok |',
      '| model | cxr-oct@2 (9 studies) |',
      'Second-read reasons: `disagreement` 1, `low_confidence` 1, `no_model_read` 1, `qa_sample` 2.',
      "10 of 10 completed studies' images were found in the object store (file:///tmp/objects)",
      "Before read A, reader A's view of all 10 studies withheld the model's read and the decision.",
      '> 1 of 10 studies had no model read (they went to reader B).',
    ]) {
      expect(md).toContain(line);
    }
    expect(md).toContain('**1 differ**');
    expect(md).toMatch(/1 studies failed after intake/);
    expect(differences.map((d) => d.figure)).toEqual(['studies']);
  });

  it('all match when the server counts the same studies', () => {
    const rep = buildReport(record({ serverMetrics: { final: serverMetrics(0), error: null, snapshots: [] } }));
    expect(rep.differences).toEqual([]);
    expect(rep.crossCheck!.length).toBeGreaterThan(20);
    expect(rep.markdown).toContain('**all match**');
    expect(summaryLines(rep)).toEqual([
      'simulation sim-test: 10 of 11 studies completed (final_eval of ds-0123456789abcdef: 12 images), 1 failed, 0 not started — every study of the replay was run; 1.5 s',
      '  second-review reduction 50.0 % (5/10)   false-clear (truth) 20.0 % (1/5)   false-clear (QA) 50.0 % (1/2)',
      '  saved 16 physician minutes, 134.91 USD   models: cxr-oct@2',
      '  images captured in the object store: 10/10   blinding violations: 0',
      '  simulator vs GET /v1/workflow/metrics: all figures match',
    ]);
  });

  it('a cross-check catches a server figure that disagrees (not only counts)', () => {
    const m = serverMetrics(0);
    m.agreementByClass[1] = { class: 'lung-normal', ...rate(5, 5) };
    m.savings.costSaved = 135;
    const rep = buildReport(record({ serverMetrics: { final: m, error: null, snapshots: [] } }));
    expect(rep.differences.map((d) => [d.figure, d.simulator, d.server])).toEqual([
      ['agreement lung-normal: model = A', 4, 5],
      ['cost saved', expect.closeTo(134.91, 6), 135],
    ]);
  });

  it('says when no model read any study, and when the server metrics are unavailable', () => {
    const noModel = OUTCOMES.map((o) => ({
      ...o,
      model: null,
      decision: 'second_read' as const,
      reasons: ['no_model_read'],
      qa: false,
      labelB: o.truth,
      finalLabel: o.truth,
      policyId: null,
    }));
    const rep = buildReport(
      record({
        outcomes: noModel,
        serverMetrics: { final: null, error: 'GET /v1/workflow/metrics → 404 not_found: no route', snapshots: [] },
        economicsSource: 'default',
      }),
    );
    expect(rep.markdown).toContain('**No model read any study**');
    expect(rep.markdown).toContain('| second-review reduction (auto-finalized / decided) | 0.0 % (0/10) |');
    expect(rep.markdown).toContain('| false-clear rate, truth (cleared with a wrong label / cleared) | n/a (0/0) |');
    expect(rep.markdown).toContain('GET /v1/workflow/metrics could not be read: GET /v1/workflow/metrics → 404 not_found: no route.');
    expect(rep.markdown).toContain('the built-in placeholders');
    expect(rep.crossCheck).toBeNull();
    expect(summaryLines(rep)[2]).toContain('models: none (every study went to reader B)');
    expect(summaryLines(rep)[4]).toBe('  server metrics unavailable: GET /v1/workflow/metrics → 404 not_found: no route');
  });

  it('writes report.md, report.json and four PNG charts', async () => {
    dir = await mkdtemp(join(tmpdir(), 'sr-simreport-'));
    const rep = await writeReport(join(dir, 'out'), record());
    const files = (await readdir(join(dir, 'out'))).sort();
    expect(files).toEqual(['accuracy-by-class.png', 'agreement-by-class.png', 'reduction-false-clear.png', 'report.json', 'report.md', 'savings.png']);
    expect(rep.charts.sort()).toEqual(Object.values(CHART_FILES).sort());
    expect(await readFile(join(dir, 'out', 'report.md'), 'utf8')).toBe(rep.markdown);
    const json = JSON.parse(await readFile(join(dir, 'out', 'report.json'), 'utf8')) as {
      figures: { autoFinalized: number };
      differences: unknown[];
      record: { outcomes: unknown[] };
    };
    expect(json.figures.autoFinalized).toBe(5);
    expect(json.record.outcomes).toHaveLength(10);
    for (const name of rep.charts) {
      const meta = await sharp(join(dir, 'out', name)).metadata();
      expect(meta.format, name).toBe('png');
      expect(meta.width!, name).toBeGreaterThan(300);
    }
  });

  it('writes no charts when no study completed', async () => {
    dir = await mkdtemp(join(tmpdir(), 'sr-simreport-'));
    const rep = await writeReport(dir, record({ outcomes: [], serverMetrics: { final: null, error: 'unreachable', snapshots: [] } }));
    expect(rep.charts).toEqual([]);
    expect(rep.markdown).not.toContain('## Charts');
    expect((await readdir(dir)).sort()).toEqual(['report.json', 'report.md']);
  });
});

describe('bar chart', () => {
  it('draws each bar at its value, side by side per group, and refuses values outside 0…1', async () => {
    const o = {
      title: 't',
      groups: ['a', 'b'],
      series: [
        { name: 's1', values: [1, 0.5] },
        { name: 's2', values: [null, 0.25] },
      ],
    };
    const L = barChartLayout(o);
    expect(L.bar(0, 0).height).toBeCloseTo(L.plot.height);
    expect(L.bar(1, 0).height).toBeCloseTo(L.plot.height / 2);
    expect(L.bar(1, 1).height).toBeCloseTo(L.plot.height / 4);
    expect(L.bar(0, 1).height).toBe(0);
    expect(L.bar(0, 1).x).toBeGreaterThan(L.bar(0, 0).x);
    expect(L.bar(1, 0).x).toBeGreaterThan(L.bar(0, 1).x);
    expect(() => barChartLayout({ ...o, series: [{ name: 's', values: [1.5, 0] }] })).toThrow(/outside 0…1/);
    expect(() => barChartLayout({ ...o, series: [{ name: 's', values: [1] }] })).toThrow(/1 values for 2 groups/);

    const { renderBarChartPng } = await import('./bar-chart.js');
    const png = await renderBarChartPng(o);
    const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([L.width, L.height]);
    const at = (x: number, y: number) =>
      Array.from(data.subarray((Math.round(y) * info.width + Math.round(x)) * 3, (Math.round(y) * info.width + Math.round(x)) * 3 + 3));
    // Inside the full bar of group a: its series' colour (#0072B2); above the half bar of group b: white.
    const full = L.bar(0, 0);
    expect(at(full.x + full.width / 2, full.y + full.height / 2)).toEqual([0, 114, 178]);
    const half = L.bar(1, 0);
    expect(at(half.x + half.width / 2, half.y - 20)).toEqual([255, 255, 255]);
  });
});
