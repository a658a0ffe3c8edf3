// The simulation report: report.md (what was run, the figures, the simulator's count next to the
// server's metrics, image capture, blinding), report.json (everything, for scripts) and the charts as
// PNG. The figures come from two independent sources — the simulator's tally of the study views the
// API answered, and GET /v1/workflow/metrics over the run's window — and every difference is listed.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { type LineChartOptions, renderChartsPng } from '../core/charts/line-chart.js';
import type { Economics, Rate, WorkflowMetrics } from '../workflow/metrics.js';
import { renderBarChartPng } from './bar-chart.js';
import type { StopReason } from './scheduler.js';
import { crossCheck, type CrossCheckRow, type SimFigures, type StudyOutcome, tally, tallyOverTime } from './tally.js';

export interface ReaderSettings {
  accuracy: number;
  confusion: string;
  seed: number;
}

/** A study that did not make it through the pipeline, and how far it got. */
export interface StudyFailure {
  index: number;
  key: string;
  /** intake, read_a, read_b, … */
  stage: string;
  /** Set when the study was created before the failure (the server counts it; the tally does not). */
  studyId: string | null;
  message: string;
}

export interface SimulationRecord {
  id: string;
  startedAt: string;
  endedAt: string;
  elapsedSeconds: number;
  dataset: { version: string; split: string; splitSize: number; replayed: number };
  server: { url: string; inProcess: boolean; note: string | null };
  settings: { rate: number | null; concurrency: number; maxSeconds: number | null; limit: number | null; readerA: ReaderSettings; readerB: ReaderSettings };
  users: string[];
  schedule: { stoppedBy: StopReason; started: number; completed: number; failed: number; notStarted: number };
  outcomes: StudyOutcome[];
  failures: StudyFailure[];
  /** Were the completed studies' images found in the object store under their study keys? */
  capture: { store: string; checked: number; found: number; missing: string[]; note: string | null };
  serverMetrics: { final: WorkflowMetrics | null; error: string | null; snapshots: { seconds: number; metrics: WorkflowMetrics }[] };
  economics: Economics;
  /** `server`: the economics GET /v1/workflow/metrics reported; `default`: the placeholders (metrics unavailable). */
  economicsSource: 'server' | 'default';
}

export interface SimulationReport {
  record: SimulationRecord;
  figures: SimFigures;
  /** Null when the server's metrics could not be read. */
  crossCheck: CrossCheckRow[] | null;
  differences: CrossCheckRow[];
  markdown: string;
  charts: string[];
}

export const CHART_FILES = {
  reduction: 'reduction-false-clear.png',
  agreement: 'agreement-by-class.png',
  accuracy: 'accuracy-by-class.png',
  savings: 'savings.png',
} as const;

const STOPPED: Record<StopReason, string> = {
  complete: 'every study of the replay was run',
  max_seconds: '--max-seconds reached: no study started after it',
  max_failures: 'too many studies failed (--max-failures)',
  interrupted: 'interrupted (Ctrl-C): no study started after it, those in flight finished',
};

export function pct(r: Rate): string {
  return r.rate === null ? `n/a (0/0)` : `${(100 * r.rate).toFixed(1)} % (${r.numerator}/${r.denominator})`;
}

function num(v: number | null, digits = 2): string {
  return v === null ? 'n/a' : Number.isInteger(v) ? String(v) : v.toFixed(digits);
}

function money(v: number, currency: string): string {
  return `${v.toFixed(2)} ${currency}`;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function buildReport(record: SimulationRecord): Omit<SimulationReport, 'charts'> {
  const figures = tally(record.outcomes, record.economics);
  const cc = record.serverMetrics.final ? crossCheck(figures, record.serverMetrics.final) : null;
  const differences = cc?.filter((r) => !r.match) ?? [];
  return { record, figures, crossCheck: cc, differences, markdown: renderMarkdown(record, figures, cc, differences) };
}

function renderMarkdown(r: SimulationRecord, f: SimFigures, cc: CrossCheckRow[] | null, differences: CrossCheckRow[]): string {
  const L: string[] = [];
  const e = r.economics;
  L.push(`# Simulation ${r.id}`, '');
  L.push(
    `Dataset version \`${r.dataset.version}\`, split \`${r.dataset.split}\` (${r.dataset.splitSize} images), replayed through the HTTP API at ${r.server.url}${r.server.inProcess ? ' (in-process server)' : ''}.`,
    '',
  );
  if (r.server.note) L.push(`> ${r.server.note}`, '');
  if (f.studies > 0 && f.noModelRead === f.studies) {
    L.push(
      '> **No model read any study** (no model is served as `production` for the workflow, or every model read failed): every study went to reader B (`no_model_read`), so there is no reduction to measure.',
      '',
    );
  } else if (f.noModelRead > 0) {
    L.push(`> ${f.noModelRead} of ${f.studies} studies had no model read (they went to reader B).`, '');
  }
  if (f.studies > 0 && (f.reasons.no_policy ?? 0) > 0) {
    L.push(
      `> ${f.reasons.no_policy} studies were read by a model version that has no policy in force (\`no_policy\`): they went to reader B. Fit one with \`secondread policy fit\`.`,
      '',
    );
  }

  L.push('## Run', '');
  L.push('| | |', '|---|---|');
  L.push(`| started | ${r.startedAt} |`, `| ended | ${r.endedAt} (${r.elapsedSeconds.toFixed(1)} s) |`);
  L.push(`| stopped | ${STOPPED[r.schedule.stoppedBy]} |`);
  L.push(`| rate | ${r.settings.rate === null ? 'unlimited' : `${r.settings.rate} studies/s`}, at most ${r.settings.concurrency} in flight |`);
  L.push(`| bounds | --limit ${r.settings.limit ?? 'none'}, --max-seconds ${r.settings.maxSeconds ?? 'none'} |`);
  L.push(`| reader A | accuracy ${r.settings.readerA.accuracy}, confusion ${r.settings.readerA.confusion}, seed ${r.settings.readerA.seed} |`);
  L.push(`| reader B | accuracy ${r.settings.readerB.accuracy}, confusion ${r.settings.readerB.confusion}, seed ${r.settings.readerB.seed} |`);
  L.push(
    `| model | ${
      Object.keys(f.models).length
        ? Object.entries(f.models)
            .map(([m, n]) => `${m} (${n} studies)`)
            .join(', ')
        : 'none'
    } |`,
  );
  L.push(`| policy | ${f.policies.length ? f.policies.join(', ') : 'none in force'} |`);
  L.push(`| users | ${r.users.join(', ')} (tokens revoked, accounts disabled at the end) |`, '');

  L.push('## Studies', '');
  L.push('| | studies |', '|---|---:|');
  L.push(`| in the split | ${r.dataset.splitSize} |`, `| to replay (after --limit) | ${r.dataset.replayed} |`, `| started | ${r.schedule.started} |`);
  L.push(`| completed | ${r.schedule.completed} |`, `| failed | ${r.schedule.failed} |`, `| not started | ${r.schedule.notStarted} |`, '');
  if (r.failures.length > 0) {
    L.push('Failures (first 20):', '');
    L.push('| # | stage | study | error |', '|---:|---|---|---|');
    for (const x of r.failures.slice(0, 20)) L.push(`| ${x.index} | ${x.stage} | ${x.studyId ?? '—'} | ${cell(x.message)} |`);
    L.push('');
  }

  L.push('## Figures', '');
  L.push(`Over the ${f.studies} completed studies (the simulator's own count).`, '');
  L.push('| figure | value |', '|---|---:|');
  L.push(`| second-review reduction (auto-finalized / decided) | ${pct(f.secondReviewReduction)} |`);
  L.push(`| false-clear rate, truth (cleared with a wrong label / cleared) | ${pct(f.falseClear.truth)} |`);
  L.push(`| false-clear rate, QA (B ≠ A / QA adjudicated) | ${pct(f.falseClear.qa)} |`);
  L.push(`| second reads | ${f.secondRead} (QA samples ${f.qaSampled}) |`);
  L.push(`| final label ≠ truth | ${f.finalWrong.total} (cleared by the policy ${f.finalWrong.autoFinalized}, adjudicated ${f.finalWrong.adjudicated}) |`);
  L.push(`| physician time saved | ${num(f.savings.minutesSaved)} min (${num(f.savings.minutesSaved / 60)} h) |`);
  L.push(
    `| cost saved | ${money(f.savings.costSaved, e.currency)}${f.savings.costSavedPerScan !== null ? ` (${money(f.savings.costSavedPerScan, e.currency)} per scan)` : ''} |`,
    '',
  );
  L.push(
    `Economics (${r.economicsSource === 'server' ? "the server's configuration, as GET /v1/workflow/metrics reported it" : 'the built-in placeholders: the server metrics were unavailable'}): ` +
      `${e.minutesPerRead.cxr} / ${e.minutesPerRead.oct} min and ${e.costPerRead.cxr} / ${e.costPerRead.oct} ${e.currency} per CXR / OCT read, ${e.inferenceCostPerStudy} ${e.currency} per model read.`,
    '',
  );
  if (Object.keys(f.reasons).length > 0) {
    L.push(
      'Second-read reasons: ' +
        Object.entries(f.reasons)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([k, n]) => `\`${k}\` ${n}`)
          .join(', ') +
        '.',
      '',
    );
  }

  L.push('### Per class (truth)', '');
  L.push('| class | studies | auto-finalized | false clears | model correct | reader A correct | final label correct |', '|---|---:|---:|---:|---:|---:|---:|');
  for (const c of f.byTruth)
    L.push(
      `| ${c.class} | ${c.studies} | ${c.autoFinalized} | ${c.falseClears} | ${pct(c.modelCorrect)} | ${pct(c.readerACorrect)} | ${pct(c.finalCorrect)} |`,
    );
  L.push('');
  L.push("### Agreement per class (A's label: the model's top class = A's label)", '');
  const serverAgreement = r.serverMetrics.final?.agreementByClass ?? [];
  L.push('| class | simulator | server |', '|---|---:|---:|');
  for (const c of [...new Set([...f.agreementByClass, ...serverAgreement].map((x) => x.class))].sort()) {
    const s = f.agreementByClass.find((x) => x.class === c);
    const v = serverAgreement.find((x) => x.class === c);
    L.push(`| ${c} | ${s ? pct(s) : '—'} | ${v ? pct(v) : '—'} |`);
  }
  L.push('');

  L.push('## Simulator vs server', '');
  if (!cc) {
    L.push(`GET /v1/workflow/metrics could not be read: ${r.serverMetrics.error ?? 'unknown error'}. Only the simulator's count is reported.`, '');
  } else {
    L.push(
      `GET /v1/workflow/metrics?since=${r.startedAt} after the run, figure by figure against the simulator's count: ${differences.length === 0 ? '**all match**' : `**${differences.length} differ**`}.`,
      '',
    );
    L.push('| figure | simulator | server | |', '|---|---:|---:|---|');
    for (const row of cc) L.push(`| ${row.figure} | ${num(row.simulator)} | ${num(row.server)} | ${row.match ? 'ok' : '**differs**'} |`);
    L.push('');
    if (differences.length > 0) {
      const partial = r.failures.filter((x) => x.studyId !== null).length;
      L.push(
        `Differences come from studies the server counts and the simulator does not: ${partial} studies failed after intake (listed above), ` +
          'and any other study created on this server during the run (the metrics window is the run\u2019s start time, not its users).',
        '',
      );
    }
  }

  L.push('## Image capture', '');
  if (r.capture.checked === 0) {
    L.push(`Not checked${r.capture.note ? `: ${r.capture.note}` : ''}.`, '');
  } else {
    L.push(
      `${r.capture.found} of ${r.capture.checked} completed studies' images were found in the object store (${r.capture.store}) under their study keys (\`studies/<id>/image.*\`), each with the dataset image's size.`,
    );
    if (r.capture.missing.length > 0) L.push(`Missing: ${r.capture.missing.slice(0, 20).join(', ')}${r.capture.missing.length > 20 ? ', …' : ''}.`);
    L.push('');
  }
  L.push(
    `Round trip: ${f.studies - f.imageRoundTripFailures} of ${f.studies} images fetched back by reader A (GET /v1/studies/:id/image) had the dataset image's sha256.`,
    '',
  );
  L.push('## Blinding', '');
  L.push(
    f.blindingViolations === 0
      ? `Before read A, reader A's view of all ${f.studies} studies withheld the model's read and the decision.`
      : `**${f.blindingViolations} studies showed reader A the model's read or the decision before read A.**`,
    '',
  );

  if (f.studies > 0) {
    L.push('## Charts', '');
    L.push(`![reduction and false-clear rate over time](${CHART_FILES.reduction})`, '');
    if (f.agreementByClass.length > 0) L.push(`![agreement per class](${CHART_FILES.agreement})`, '');
    L.push(`![accuracy per class](${CHART_FILES.accuracy})`, '');
    L.push(`![time and cost saved](${CHART_FILES.savings})`, '');
  }
  return `${L.join('\n').trimEnd()}\n`;
}

/** The PNG charts of a report; none when no study completed. Returns the file names written. */
async function writeCharts(dir: string, r: SimulationRecord, f: SimFigures): Promise<string[]> {
  if (f.studies === 0) return [];
  const points = tallyOverTime(r.outcomes, r.economics);
  const snaps = r.serverMetrics.snapshots;
  const nan = (v: number | null) => v ?? Number.NaN;
  const withServer = (sim: { x: number; y: number }[], server: { x: number; y: number }[]) => [
    { name: 'simulator', points: sim },
    ...(server.length ? [{ name: 'server', points: server }] : []),
  ];
  const chart = (title: string, yLabel: string, series: LineChartOptions['series'], unit?: { yMin: number; yMax?: number }): LineChartOptions => ({
    title,
    xLabel: 'seconds into the run',
    yLabel,
    series,
    ...unit,
  });
  const written: string[] = [];
  const put = async (name: string, png: Buffer) => {
    await writeFile(join(dir, name), png);
    written.push(name);
  };

  await put(
    CHART_FILES.reduction,
    await renderChartsPng([
      chart(
        'Second-review reduction',
        'auto-finalized / decided',
        withServer(
          points.map((p) => ({ x: p.seconds, y: nan(p.reduction) })),
          snaps.map((s) => ({ x: s.seconds, y: nan(s.metrics.secondReviewReduction.rate) })),
        ),
        { yMin: 0, yMax: 1 },
      ),
      chart(
        'False-clear rate (truth)',
        'wrong clearances / clearances',
        withServer(
          points.map((p) => ({ x: p.seconds, y: nan(p.falseClearTruth) })),
          snaps.map((s) => ({ x: s.seconds, y: nan(s.metrics.falseClear.truth.rate) })),
        ),
        { yMin: 0 },
      ),
    ]),
  );
  const serverAgreement = r.serverMetrics.final?.agreementByClass;
  const agreementClasses = [...new Set([...f.agreementByClass, ...(serverAgreement ?? [])].map((x) => x.class))].sort();
  if (agreementClasses.length > 0) {
    const values = (rows: readonly ({ class: string } & Rate)[]) => agreementClasses.map((c) => rows.find((x) => x.class === c)?.rate ?? null);
    await put(
      CHART_FILES.agreement,
      await renderBarChartPng({
        title: "Model agrees with reader A (per A's label)",
        yLabel: 'agreement',
        groups: agreementClasses,
        series: [{ name: 'simulator', values: values(f.agreementByClass) }, ...(serverAgreement ? [{ name: 'server', values: values(serverAgreement) }] : [])],
      }),
    );
  }
  await put(
    CHART_FILES.accuracy,
    await renderBarChartPng({
      title: 'Correct against the truth (per true class)',
      yLabel: 'share correct',
      groups: f.byTruth.map((c) => c.class),
      series: [
        { name: 'model', values: f.byTruth.map((c) => c.modelCorrect.rate) },
        { name: 'reader A', values: f.byTruth.map((c) => c.readerACorrect.rate) },
        { name: 'final label', values: f.byTruth.map((c) => c.finalCorrect.rate) },
      ],
    }),
  );
  await put(
    CHART_FILES.savings,
    await renderChartsPng([
      chart(
        'Physician time saved',
        'minutes',
        withServer(
          points.map((p) => ({ x: p.seconds, y: p.minutesSaved })),
          snaps.map((s) => ({ x: s.seconds, y: s.metrics.savings.minutesSaved })),
        ),
        { yMin: 0 },
      ),
      chart(
        `Cost saved (${r.economics.currency})`,
        r.economics.currency,
        withServer(
          points.map((p) => ({ x: p.seconds, y: p.costSaved })),
          snaps.map((s) => ({ x: s.seconds, y: s.metrics.savings.costSaved })),
        ),
      ),
    ]),
  );
  return written;
}

/** Writes report.md, report.json and the charts into `dir` (created if needed). */
export async function writeReport(dir: string, record: SimulationRecord): Promise<SimulationReport> {
  await mkdir(dir, { recursive: true });
  const built = buildReport(record);
  const charts = await writeCharts(dir, record, built.figures);
  await writeFile(join(dir, 'report.md'), built.markdown);
  const { markdown: _md, ...json } = built;
  await writeFile(join(dir, 'report.json'), `${JSON.stringify({ ...json, charts }, null, 2)}\n`);
  return { ...built, charts };
}

/** The few lines the CLI prints when the run ends. */
export function summaryLines(rep: Omit<SimulationReport, 'charts' | 'markdown'>): string[] {
  const { record: r, figures: f } = rep;
  const lines = [
    `simulation ${r.id}: ${r.schedule.completed} of ${r.dataset.replayed} studies completed (${r.dataset.split} of ${r.dataset.version}: ${r.dataset.splitSize} images), ${r.schedule.failed} failed, ${r.schedule.notStarted} not started — ${STOPPED[r.schedule.stoppedBy]}; ${r.elapsedSeconds.toFixed(1)} s`,
    `  second-review reduction ${pct(f.secondReviewReduction)}   false-clear (truth) ${pct(f.falseClear.truth)}   false-clear (QA) ${pct(f.falseClear.qa)}`,
    `  saved ${num(f.savings.minutesSaved)} physician minutes, ${money(f.savings.costSaved, r.economics.currency)}   models: ${Object.keys(f.models).join(', ') || 'none (every study went to reader B)'}`,
    `  images captured in the object store: ${r.capture.checked === 0 ? `not checked${r.capture.note ? ` (${r.capture.note})` : ''}` : `${r.capture.found}/${r.capture.checked}`}   blinding violations: ${f.blindingViolations}`,
    rep.crossCheck === null
      ? `  server metrics unavailable: ${r.serverMetrics.error ?? 'unknown error'}`
      : `  simulator vs GET /v1/workflow/metrics: ${rep.differences.length === 0 ? 'all figures match' : `${rep.differences.length} differ (${rep.differences.map((d) => d.figure).join(', ')})`}`,
  ];
  return lines;
}
