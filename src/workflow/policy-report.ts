// What a policy fit leaves behind: the report stored with the policy (and written as report.json), the
// trade-off chart (PNG) and report.md. The chart's left panel is the whole policy — the best second-review
// reduction each false-clear bound allows, the bound and the chosen point marked; the panels to its right (one
// per modality) show each class's own trade-off, because an overall rate within the bound can hide a class far
// above it.
import { lineChartBody, lineChartLayout, type LineChartOptions, PALETTE, type Series } from '../core/charts/line-chart.js';
import { esc, svgDocument, svgToPng } from '../core/charts/svg.js';
import { percent } from '../core/format.js';
import { CLASS_MODALITY, isSecondreadClass, MODALITIES, type SecondreadClass } from '../data/classes.js';
import { type PolicyFit, upperEnvelope } from './policy-fit.js';
import { minTrialsToCertify } from './risk-bound.js';
import type { ConfusionPattern } from './simulated-reader.js';

export type ReaderDescription =
  | { kind: 'simulated'; accuracy: number; confusion: ConfusionPattern; seed: number; perClassAccuracy: Record<string, number> }
  | { kind: 'recorded'; file: string; sha256: string; reads: number };

/** Stored as the policy's report (PolicyStore.create) and written as report.json. */
export interface PolicyFitReport {
  kind: 'policy-fit';
  model: { name: string; version: number; temperature: number };
  dataset: { version: string; split: string };
  readerA: ReaderDescription;
  /** Images whose class the model does not know (scored and counted all the same). */
  unknownToModel: { class: string; images: number }[];
  fittedAt: string;
  fit: PolicyFit;
}

/** Rates in the policy report and its CLI summary read to two decimals unless asked otherwise. */
export const pct = (v: number | null, digits = 2): string => percent(v, digits);
/** Six decimals: softmax thresholds crowd near 1 (0.999512 and 0.999987 must not both read 1.0000). */
export const fmtThreshold = (t: number | null): string => (t === null ? '—' : t.toFixed(6));

/** One row per class: class, threshold, status, model top, agreements, auto-finalized, false clears, class false-clear rate. */
export const CLASS_COLUMNS = ['class', 'threshold', 'status', 'model top', 'A agrees', 'auto-finalized', 'false clears', 'false-clear rate'];
export function classRows(fit: PolicyFit): (string | number)[][] {
  return fit.classes.map((c) => [
    c.class,
    fmtThreshold(c.threshold),
    c.status,
    c.modelTop,
    c.agreements,
    c.autoFinalized,
    c.falseClears,
    c.autoFinalized > 0 ? pct(c.falseClears / c.autoFinalized) : '—',
  ]);
}

function readerText(r: ReaderDescription): string {
  if (r.kind === 'recorded') return `recorded reads from \`${r.file}\` (${r.reads} reads, sha256 ${r.sha256.slice(0, 16)}…)`;
  const per = Object.entries(r.perClassAccuracy);
  return `simulated: accuracy ${pct(r.accuracy, 1)}${per.length ? ` (${per.map(([c, a]) => `${c} ${pct(a, 1)}`).join(', ')})` : ''}, confusion \`${r.confusion}\`, seed ${r.seed}`;
}

/** At most `max` rows of the curve, evenly spread, always with the first, the last and the chosen point. */
function curveRows(fit: PolicyFit, max = 25): PolicyFit['curve'] {
  const c = fit.curve;
  if (c.length <= max) return c;
  const keep = new Set([0, c.length - 1, c.findIndex((p) => p.autoFinalized === fit.empirical.autoFinalized)]);
  for (let i = 0; i < max - 3; i++) keep.add(Math.round((i * (c.length - 1)) / (max - 4)));
  return [...keep]
    .filter((i) => i >= 0)
    .sort((a, b) => a - b)
    .map((i) => c[i]!);
}

/**
 * What the fit promises, in a few sentences (report.md, the CLI summary): the method, the bound at its
 * confidence, the upper bound reached on the test part, and the reduction given up against the empirical fit.
 */
export function guaranteeLines(f: PolicyFit): string[] {
  // Reports stored before the guarantee existed have neither `guarantee` nor `empirical`: they were empirical fits.
  const g = f.guarantee ?? null;
  if (!g || !f.empirical)
    return [
      `method: empirical — the false-clear rate is within the bound on this split only; out of sample it is above it most of the time (docs/policy.md, "Measured")`,
    ];
  const empirical = `the empirical fit (thresholds chosen and counted on the whole split, no statement beyond it) clears ${pct(f.empirical.reduction)} at ${pct(f.empirical.falseClearRate)}`;
  const head = `method: Learn then Test at ${pct(g.confidence, 0)} confidence — candidates from ${g.searchStudies} studies (search part, ${pct(g.searchFraction, 0)}), tested in a fixed sequence with exact binomial p-values on the other ${g.testStudies} (test part)`;
  if (g.chosen === null) {
    const need = minTrialsToCertify(f.maxFalseClear, g.confidence);
    const takes = Number.isFinite(need)
      ? `Showing it takes at least ${need} clears on the test part without a single false clear (more with any)`
      : 'No number of clears can show a rate of 0';
    return [
      head,
      `guarantee: NOTHING CERTIFIED — no candidate's rate could be shown ≤ ${pct(f.maxFalseClear)} at ${pct(g.confidence, 0)} on the test part; the policy clears nothing. ${takes}; use a larger split, a higher bound or a lower confidence`,
      `price: ${(100 * f.price).toFixed(2)} points of second-review reduction — ${empirical}`,
    ];
  }
  return [
    head,
    `guarantee: false-clear rate ≤ ${pct(f.maxFalseClear)} with probability ≥ ${pct(g.confidence, 0)} (over the split's draw); on the test part ${g.testFalseClears} false clears of ${g.testAutoFinalized} auto-finalized, Clopper–Pearson ${pct(g.confidence, 0)} upper bound ${pct(g.upperBound)}`,
    `price: ${(100 * f.price).toFixed(2)} points of second-review reduction — ${empirical}`,
  ];
}

export function policyReportMarkdown(r: PolicyFitReport, o: { policy?: { id: string; version: number } | null; chartFile?: string } = {}): string {
  const f = r.fit;
  const L: string[] = [];
  L.push(`# Policy fit: ${r.model.name} v${r.model.version} on ${r.dataset.version} (${r.dataset.split})`, '');
  L.push(
    o.policy
      ? `Stored as policy \`${o.policy.id}\`, version ${o.policy.version} of ${r.model.name} v${r.model.version} — in force for that model version from ${r.fittedAt}.`
      : 'Not stored (dry run).',
    '',
  );
  L.push('## Result', '');
  L.push(`Bound: false-clear rate ≤ ${pct(f.maxFalseClear)} (false clears / auto-finalized studies).`, '');
  for (const line of guaranteeLines(f)) L.push(`- ${line.charAt(0).toUpperCase()}${line.slice(1)}.`);
  L.push('', 'Figures below are on the whole split (for Learn then Test: in sample on the search part, out of sample on the test part):', '');
  L.push(`| | before QA sampling | after QA sampling (${pct(f.afterQa.qaFraction, 1)} of clears to B) |`, '|---|---|---|');
  L.push(
    `| second-review reduction (auto-finalized / studies) | ${pct(f.reduction)} (${f.autoFinalized} of ${f.studies}) | ${pct(f.afterQa.reduction)} (≈ ${f.afterQa.expectedQaSamples.toFixed(1)} QA samples) |`,
  );
  L.push(
    `| false-clear rate (false clears / auto-finalized) | ${pct(f.falseClearRate)} (${f.falseClears} of ${f.autoFinalized}) | ${pct(f.falseClearRate)} (QA samples are drawn at random among clears) |`,
  );
  L.push(`| false clears per study (false clears / studies) | ${pct(f.falseClearsPerStudy, 3)} | ${pct(f.afterQa.falseClearsPerStudy, 3)} |`, '');
  L.push(`- Reader A: ${readerText(r.readerA)}; right on ${pct(f.readerAccuracy, 1)} of the studies.`);
  L.push(
    `- Model: ${r.model.name} v${r.model.version} (softmax temperature ${r.model.temperature}); its top class is right on ${pct(f.modelAccuracy, 1)}; A and the model agree on ${f.agreements} studies (${pct(f.agreements / f.studies, 1)}).`,
  );
  L.push(`- Studies: ${f.studies} of split \`${r.dataset.split}\`${f.unread ? `; ${f.unread} more had no read by A and are left out` : ''}.`);
  if (r.unknownToModel.length)
    L.push(
      `- Of classes the model does not know (scored all the same; never rightly cleared): ${r.unknownToModel.map((u) => `${u.class} ${u.images}`).join(', ')}.`,
    );
  L.push('');
  L.push('## Thresholds', '');
  L.push(`| ${CLASS_COLUMNS.join(' | ')} |`, `|${CLASS_COLUMNS.map((_, i) => (i === 0 || i === 2 ? '---' : '---:')).join('|')}|`);
  for (const row of classRows(f)) L.push(`| ${row.join(' | ')} |`);
  L.push(
    '',
    `Always double-read: ${f.rule.alwaysDoubleRead.length ? f.rule.alwaysDoubleRead.join(', ') : 'none'}. A class without a threshold never auto-finalizes.`,
    '',
  );
  const g = f.guarantee;
  if (g) {
    L.push('## The guarantee', '');
    L.push(
      `Each candidate was built on the search part (${g.searchStudies} studies: the exact search's trade-off, preceded by stricter versions of its first point), in an order fixed there. The test part (${g.testStudies} studies, split seed ${g.splitSeed}) tested them in that order from candidate ${g.start} (the first one the search part expects to pass): H: "its false-clear rate is above ${pct(f.maxFalseClear)}", rejected when the exact binomial p-value is ≤ ${(1 - g.confidence).toFixed(3)}; the first candidate not rejected ends the test, and the fit is the last one rejected. With probability ≥ ${pct(g.confidence, 0)} every rejected candidate's true rate is within the bound (fixed-sequence testing controls the family-wise error).`,
      '',
    );
    L.push(
      '| candidate | search: auto-finalized | search: false clears | test: auto-finalized | test: false clears | p-value | CP upper bound | |',
      '|---:|---:|---:|---:|---:|---:|---:|---|',
    );
    g.sequence.forEach((s, i) =>
      L.push(
        `| ${s.candidate} | ${s.searchAutoFinalized} | ${s.searchFalseClears} | ${s.testAutoFinalized} | ${s.testFalseClears} | ${s.pValue.toPrecision(3)} | ${pct(s.upperBound)} | ${s.rejected ? (i === g.chosen ? 'rejected ← the fit' : 'rejected') : 'not rejected: the test ends'} |`,
      ),
    );
    L.push('');
  }
  L.push('## Trade-off', '');
  if (o.chartFile) L.push(`![reduction vs false-clear rate](${o.chartFile})`, '');
  L.push(
    'The best reduction each bound on the false-clear rate allows on this split, in sample (what `--method empirical --max-false-clear` set to that rate would give):',
    '',
  );
  L.push('| false-clear rate | reduction | auto-finalized | false clears |', '|---:|---:|---:|---:|');
  for (const p of curveRows(f))
    L.push(
      `| ${pct(p.falseClearRate)} | ${pct(p.reduction)} | ${p.autoFinalized} | ${p.falseClears}${p.autoFinalized === f.empirical.autoFinalized ? (f.method === 'empirical' ? ' ← chosen' : ' ← the empirical fit') : ''} |`,
    );
  L.push('', '## Definitions', '');
  L.push(
    "- A study is **auto-finalized** iff A's label = the model's top class, the top probability ≥ that class's threshold, and the class is not always double-read (docs/workflow.md, \"The policy rule\"); the QA sample is left aside above and applied in the right-hand column.",
  );
  L.push(
    '- A **false clear** is an auto-finalized study whose label ≠ truth. The **false-clear rate** divides by the auto-finalized studies, as `secondread_false_clear_rate` (truth and QA) does in production.',
  );
  L.push(
    '- Thresholds are the lowest top probability among the studies each class clears on the part that chose them; the search over every combination is exact (docs/policy.md).',
  );
  return `${L.join('\n')}\n`;
}

/** Step points of "best reduction allowed at bound x" for x in [0, xMax], both in %. */
function stepSeries(name: string, points: readonly { falseClears: number; autoFinalized: number }[], studies: number, xMax: number): Series {
  const env = upperEnvelope(points);
  const out: { x: number; y: number }[] = [];
  let y = 0;
  for (const p of env) {
    const x = 100 * (p.autoFinalized > 0 ? p.falseClears / p.autoFinalized : 0);
    if (x > xMax) break;
    if (out.length) out.push({ x, y });
    y = (100 * p.autoFinalized) / studies;
    out.push({ x, y });
  }
  out.push({ x: xMax, y });
  return { name, points: out };
}

/** The trade-off chart as a PNG: overall (bound and chosen point marked) | CXR classes | OCT classes. */
export async function renderPolicyChart(r: PolicyFitReport): Promise<Buffer> {
  const f = r.fit;
  const bound = 100 * f.maxFalseClear;
  const chosenX = 100 * (f.falseClearRate ?? 0);
  const chosenY = 100 * f.reduction;
  const xMax = Math.max(2.5 * bound, 1.25 * chosenX, 125 * (f.empirical.falseClearRate ?? 0), 1);
  const overall: LineChartOptions = {
    title: `${r.model.name} v${r.model.version}: reduction vs false-clear rate`,
    xLabel: 'false-clear rate, % of auto-finalized',
    yLabel: 'second-review reduction, % of studies',
    yMin: 0,
    yMax: 100,
    series: [
      stepSeries('best at each bound', f.curve, f.studies, xMax),
      {
        name: `bound ${bound.toFixed(2)}%`,
        points: [
          { x: bound, y: 0 },
          { x: bound, y: 100 },
        ],
      },
    ],
  };
  const L = lineChartLayout(overall);
  const label = f.guarantee
    ? `guaranteed (${(100 * f.guarantee.confidence).toFixed(0)}%): ${chosenY.toFixed(1)}% at ${chosenX.toFixed(2)}%`
    : `chosen: ${chosenY.toFixed(1)}% at ${chosenX.toFixed(2)}%`;
  let marker =
    `<circle cx="${L.sx(chosenX).toFixed(1)}" cy="${L.sy(chosenY).toFixed(1)}" r="6" fill="none" stroke="#000" stroke-width="2"/>` +
    `<text x="${(L.sx(chosenX) + 9).toFixed(1)}" y="${(L.sy(chosenY) + 16).toFixed(1)}" font-size="12" font-weight="bold">${esc(label)}</text>`;
  if (f.guarantee) {
    // The empirical fit beside it: the price of the guarantee is the vertical gap.
    const ex = 100 * (f.empirical.falseClearRate ?? 0);
    const ey = 100 * f.empirical.reduction;
    marker +=
      `<circle cx="${L.sx(ex).toFixed(1)}" cy="${L.sy(ey).toFixed(1)}" r="5" fill="none" stroke="#888" stroke-width="2" stroke-dasharray="3,2"/>` +
      `<text x="${(L.sx(ex) + 9).toFixed(1)}" y="${(L.sy(ey) - 8).toFixed(1)}" font-size="11" fill="#555">${esc(`empirical, no guarantee: ${ey.toFixed(1)}% at ${ex.toFixed(2)}%`)}</text>`;
  }

  // One panel per modality: its classes' own trade-offs (at most five lines each, so colours stay distinct).
  const drawn = f.classes.filter((c) => c.sweep.some((o) => o.threshold !== null));
  const classMax = Math.max(xMax, ...drawn.filter((c) => c.autoFinalized > 0).map((c) => (125 * c.falseClears) / c.autoFinalized));
  const panels = MODALITIES.map((m) => drawn.filter((c) => isSecondreadClass(c.class) && CLASS_MODALITY[c.class] === m)).filter((cs) => cs.length > 0);
  let width = L.width;
  let body = lineChartBody(overall) + marker;
  for (const classes of panels) {
    const panel: LineChartOptions = {
      title: `${CLASS_MODALITY[classes[0]!.class as SecondreadClass].toUpperCase()} classes (circles: chosen thresholds)`,
      xLabel: "false-clear rate within the class, % of the class's clears",
      yLabel: 'auto-finalized, % of all studies',
      yMin: 0,
      // Head-room above the highest curve: the legend (one line per class) sits in the plot's top right.
      yMax: 1.8 * Math.max(1, ...classes.map((c) => (100 * c.sweep[c.sweep.length - 1]!.autoFinalized) / f.studies)),
      series: classes.map((c) => stepSeries(c.class, c.sweep, f.studies, classMax)),
    };
    const P = lineChartLayout(panel);
    const dx = width;
    body += lineChartBody(panel, dx, 0);
    classes.forEach((c, i) => {
      if (c.autoFinalized === 0) return;
      const x = dx + P.sx((100 * c.falseClears) / c.autoFinalized);
      const y = P.sy((100 * c.autoFinalized) / f.studies);
      body += `<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="5" fill="none" stroke="${PALETTE[i % PALETTE.length]}" stroke-width="2"/>`;
    });
    width += P.width;
  }
  return svgToPng(svgDocument(width, L.height, body));
}
