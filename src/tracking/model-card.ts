// The model card of a registered version: intended use, data, per-class metrics, calibration and
// limitations, as JSON (for programs) and Markdown (for people). Built only from what was measured —
// the run's metrics.json, params and lineage, or an import's meta.json — never from defaults that
// look like results; a missing figure is shown as missing.
import { z } from 'zod';

import type { ModelMetadata } from './model-metadata.js';
import type { RunRecord } from './types.js';

export const MODEL_CARD_SCHEMA = 'secondread.model-card/1';

const DEFAULT_INTENDED_USE =
  'Second reader for double-read chest X-ray and retinal OCT studies: its label is compared with the first ' +
  "physician's read under the department's safety policy, and disagreement or low confidence sends the study to a second physician. " +
  'Not for standalone diagnosis.';

/** Per-class Reliability below this many test examples is flagged as a limitation. */
const SMALL_SUPPORT = 30;
/** Recall below this is flagged as a limitation. */
const LOW_RECALL = 0.8;

const num = z.number().nullable().optional();
const classReport = z.object({ class: z.string(), precision: num, recall: num, f1: num, auc: num, support: z.number().optional() }).passthrough();
const report = z
  .object({
    count: z.number().optional(),
    accuracy: num,
    macroF1: num,
    macroAuc: num,
    nll: num,
    ece: num,
    eceUncalibrated: num,
    temperature: num,
    perClass: z.array(classReport).optional(),
  })
  .passthrough();
/** The parts of the trainer's metrics.json the card uses (other fields are ignored). */
const runMetricsSchema = z
  .object({
    calibration: z.object({ temperature: z.number(), fittedOn: z.string().optional(), nllBefore: num, nllAfter: num }).passthrough().optional(),
    data: z.record(z.string(), z.unknown()).optional(),
    model: z.record(z.string(), z.unknown()).optional(),
    val: report.nullable().optional(),
    test: report.nullable().optional(),
    finalEval: report.nullable().optional(),
  })
  .passthrough();
export type RunMetricsFile = z.infer<typeof runMetricsSchema>;
type Report = z.infer<typeof report>;

export function parseRunMetrics(raw: unknown): RunMetricsFile | null {
  const r = runMetricsSchema.safeParse(raw);
  return r.success ? r.data : null;
}

export interface SplitFigures {
  split: string;
  count: number | null;
  accuracy: number | null;
  macroF1: number | null;
  macroAuc: number | null;
  nll: number | null;
  ece: number | null;
}

export interface ClassFigures {
  class: string;
  precision: number | null;
  recall: number | null;
  f1: number | null;
  auc: number | null;
  support: number | null;
}

export interface ModelCard {
  schema: typeof MODEL_CARD_SCHEMA;
  name: string;
  version: number;
  createdAt: string;
  createdBy: string;
  source: 'run' | 'import';
  notes: string | null;
  intendedUse: string;
  lineage: { runId: string | null; experiment: string | null; parentRunId: string | null; codeVersion: string | null; datasetVersion: string | null };
  data: { datasetVersion: string | null; datasetImages: number | null; counts: Record<string, unknown> | null };
  model: {
    framework: string | null;
    producer: string | null;
    classes: string[];
    input: ModelMetadata['input'];
    preprocessing: ModelMetadata['preprocessing'];
    onnxSha256: string;
    onnxBytes: number;
    architecture: Record<string, unknown> | null;
  };
  training: Record<string, unknown> | null;
  metrics: { overall: SplitFigures[]; perClassSplit: string | null; perClass: ClassFigures[]; other: Record<string, number> };
  calibration: {
    temperature: number;
    fittedOn: string | null;
    nllBefore: number | null;
    nllAfter: number | null;
    ece: number | null;
    eceUncalibrated: number | null;
  };
  limitations: string[];
  /** Change-protocol evaluations (src/rollout) attached after registration, oldest first; absent: none yet. */
  changeProtocol?: ProtocolCardSection[];
}

/** One change-protocol evaluation of the version, as its card shows it: the verdict and every criterion. */
export interface ProtocolCardSection {
  reportId: string;
  protocol: { name: string; version: number; sha256: string };
  evaluatedAt: string;
  evaluatedBy: string;
  /** The production version it was compared with (null: there was none). */
  baselineVersion: number | null;
  datasetVersion: string;
  passed: boolean;
  criteria: { criterion: string; split: string | null; passed: boolean; summary: string }[];
  failures: string[];
}

export interface CardInput {
  name: string;
  version: number;
  createdAt: string;
  createdBy: string;
  notes: string | null;
  metadata: ModelMetadata;
  onnx: { sha256: string; bytes: number; producer: string | null };
  run?: RunRecord & { experiment: string | null };
  runMetrics?: RunMetricsFile | null;
  datasetImages?: number | null;
  import?: { intendedUse?: string; description?: string; limitations?: string | string[]; datasetVersion?: string; metrics?: Record<string, number> };
}

const orNull = (v: number | null | undefined): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

function splitFigures(split: string, r: Report): SplitFigures {
  return {
    split,
    count: orNull(r.count),
    accuracy: orNull(r.accuracy),
    macroF1: orNull(r.macroF1),
    macroAuc: orNull(r.macroAuc),
    nll: orNull(r.nll),
    ece: orNull(r.ece),
  };
}

export function buildModelCard(c: CardInput): ModelCard {
  const m = c.runMetrics ?? null;
  const splits: [string, Report | null | undefined][] = [
    ['val', m?.val],
    ['test', m?.test],
    ['final_eval', m?.finalEval],
  ];
  const overall = splits.filter((s): s is [string, Report] => !!s[1]).map(([s, r]) => splitFigures(s, r));
  // Per-class figures from the most independent set available: final_eval, then test, then val.
  const [perClassSplit, perClassReport] = [...splits].reverse().find((s): s is [string, Report] => !!s[1]?.perClass?.length) ?? [null, null];
  const perClass: ClassFigures[] = (perClassReport?.perClass ?? []).map((p) => ({
    class: p.class,
    precision: orNull(p.precision),
    recall: orNull(p.recall),
    f1: orNull(p.f1),
    auc: orNull(p.auc),
    support: orNull(p.support),
  }));
  const calibrationReport = perClassReport ?? m?.val ?? null;
  const datasetVersion = c.run?.datasetVersion ?? c.import?.datasetVersion ?? null;
  const card: ModelCard = {
    schema: MODEL_CARD_SCHEMA,
    name: c.name,
    version: c.version,
    createdAt: c.createdAt,
    createdBy: c.createdBy,
    source: c.run ? 'run' : 'import',
    notes: c.notes,
    intendedUse: c.import?.intendedUse ?? DEFAULT_INTENDED_USE,
    lineage: {
      runId: c.run?.id ?? null,
      experiment: c.run?.experiment ?? null,
      parentRunId: c.run?.parentRunId ?? null,
      codeVersion: c.run?.codeVersion ?? null,
      datasetVersion,
    },
    data: { datasetVersion, datasetImages: c.datasetImages ?? null, counts: m?.data ?? null },
    model: {
      framework: c.metadata.framework ?? null,
      producer: c.onnx.producer,
      classes: c.metadata.classes,
      input: c.metadata.input,
      preprocessing: c.metadata.preprocessing,
      onnxSha256: c.onnx.sha256,
      onnxBytes: c.onnx.bytes,
      architecture: m?.model ?? null,
    },
    training: c.run ? c.run.params : null,
    metrics: { overall, perClassSplit, perClass, other: { ...(c.import?.metrics ?? {}), ...(c.run?.summary ?? {}) } },
    calibration: {
      temperature: c.metadata.temperature,
      fittedOn: m?.calibration?.fittedOn ?? null,
      nllBefore: orNull(m?.calibration?.nllBefore),
      nllAfter: orNull(m?.calibration?.nllAfter),
      ece: orNull(calibrationReport?.ece),
      eceUncalibrated: orNull(calibrationReport?.eceUncalibrated),
    },
    limitations: [],
  };
  card.limitations = limitations(card, c);
  return card;
}

/** Limitations stated for every model plus those the measured figures reveal. */
function limitations(card: ModelCard, c: CardInput): string[] {
  const out: string[] = [];
  const given = c.import?.limitations;
  if (given) out.push(...(Array.isArray(given) ? given : [given]));
  out.push(
    `Knows only ${card.model.classes.length} classes (${card.model.classes.join(', ')}); an image of any other finding or modality still receives one of them.`,
  );
  out.push(
    `Sees a ${card.model.preprocessing.size}×${card.model.preprocessing.size} grayscale letterboxed image: detail finer than that resolution is invisible to it.`,
  );
  if (card.source === 'import')
    out.push(
      'Imported: trained and evaluated elsewhere; its figures were not measured by secondread — evaluate it on a local dataset version before promotion.',
    );
  if (card.metrics.overall.length === 0) out.push('No evaluation figures were recorded for this version.');
  const small = card.metrics.perClass.filter((p) => p.support !== null && p.support < SMALL_SUPPORT);
  if (small.length)
    out.push(
      `Fewer than ${SMALL_SUPPORT} ${card.metrics.perClassSplit} examples for ${small.map((p) => `${p.class} (${p.support})`).join(', ')}: their per-class figures are uncertain.`,
    );
  const weak = card.metrics.perClass.filter((p) => p.recall !== null && p.recall < LOW_RECALL);
  if (weak.length)
    out.push(
      `Recall below ${LOW_RECALL} on ${card.metrics.perClassSplit} for ${weak.map((p) => `${p.class} (${p.recall!.toFixed(2)})`).join(', ')}: keep these classes double-read.`,
    );
  if (card.calibration.ece !== null && card.calibration.ece > 0.05)
    out.push(`Expected calibration error ${card.calibration.ece.toFixed(3)} after temperature scaling: treat probabilities as approximate.`);
  return out;
}

const f3 = (v: number | null): string => (v === null ? '—' : v.toFixed(3));
const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function modelCardMarkdown(card: ModelCard): string {
  const L: string[] = [];
  L.push(`# Model card: ${card.name} v${card.version}`, '');
  L.push(`Registered ${card.createdAt} by ${cell(card.createdBy)} (${card.source === 'run' ? `from run \`${card.lineage.runId}\`` : 'imported'}).`);
  if (card.notes) L.push('', cell(card.notes));
  L.push('', '## Intended use', '', card.intendedUse, '');
  L.push('## Data', '');
  L.push(
    `- Dataset version: ${card.data.datasetVersion ? `\`${card.data.datasetVersion}\`` : 'not recorded'}${card.data.datasetImages !== null ? ` (${card.data.datasetImages} images)` : ''}`,
  );
  if (card.lineage.experiment)
    L.push(
      `- Experiment: ${cell(card.lineage.experiment)}; run \`${card.lineage.runId}\`${card.lineage.parentRunId ? `, retrained from run \`${card.lineage.parentRunId}\`` : ''}`,
    );
  if (card.lineage.codeVersion) L.push(`- Code version: \`${card.lineage.codeVersion}\``);
  if (card.data.counts) L.push(`- Counts: \`${JSON.stringify(card.data.counts)}\``);
  L.push('', '## Model', '');
  L.push(`- Classes (${card.model.classes.length}): ${card.model.classes.join(', ')}`);
  L.push(
    `- Input \`${card.model.input.name}\` [${card.model.input.shape.map((d) => d ?? '?').join(', ')}]; preprocessing: \`${JSON.stringify(card.model.preprocessing)}\``,
  );
  L.push(
    `- ONNX: ${card.model.onnxBytes} bytes, sha256 \`${card.model.onnxSha256}\`${card.model.producer ? `, produced by ${cell(card.model.producer)}` : ''}`,
  );
  if (card.model.architecture) L.push(`- Architecture: \`${JSON.stringify(card.model.architecture)}\``);
  L.push('', '## Metrics', '');
  if (card.metrics.overall.length) {
    L.push('| set | n | accuracy | macro-F1 | macro-AUC | NLL | ECE |', '|---|---:|---:|---:|---:|---:|---:|');
    for (const s of card.metrics.overall)
      L.push(`| ${s.split} | ${s.count ?? '—'} | ${f3(s.accuracy)} | ${f3(s.macroF1)} | ${f3(s.macroAuc)} | ${f3(s.nll)} | ${f3(s.ece)} |`);
  } else {
    L.push('No evaluation figures were recorded.');
  }
  if (card.metrics.perClass.length) {
    L.push('', `Per class (${card.metrics.perClassSplit}):`, '', '| class | precision | recall | F1 | AUC | support |', '|---|---:|---:|---:|---:|---:|');
    for (const p of card.metrics.perClass)
      L.push(`| ${cell(p.class)} | ${f3(p.precision)} | ${f3(p.recall)} | ${f3(p.f1)} | ${f3(p.auc)} | ${p.support ?? '—'} |`);
  }
  const other = Object.entries(card.metrics.other);
  if (other.length) {
    L.push('', 'Summary figures:', '');
    for (const [k, v] of other) L.push(`- ${cell(k)}: ${Number.isInteger(v) ? v : v.toFixed(4)}`);
  }
  L.push('', '## Calibration', '');
  L.push(`- Softmax temperature: ${card.calibration.temperature.toFixed(4)}${card.calibration.fittedOn ? ` (fitted on ${card.calibration.fittedOn})` : ''}`);
  if (card.calibration.nllBefore !== null) L.push(`- NLL before / after: ${f3(card.calibration.nllBefore)} / ${f3(card.calibration.nllAfter)}`);
  if (card.calibration.ece !== null) L.push(`- ECE after / before: ${f3(card.calibration.ece)} / ${f3(card.calibration.eceUncalibrated)}`);
  L.push('', '## Limitations', '');
  for (const l of card.limitations) L.push(`- ${l}`);
  for (const r of card.changeProtocol ?? []) {
    L.push('', `## Change protocol: ${cell(r.protocol.name)} v${r.protocol.version} — ${r.passed ? 'passed' : 'rejected'}`, '');
    L.push(
      `Report \`${r.reportId}\`, ${r.evaluatedAt} by ${cell(r.evaluatedBy)}; against ${r.baselineVersion === null ? 'no production version' : `production v${r.baselineVersion}`} on dataset \`${r.datasetVersion}\`; protocol sha256 \`${r.protocol.sha256}\`.`,
      '',
    );
    L.push('| criterion | split | result | figures |', '|---|---|---|---|');
    for (const c of r.criteria) L.push(`| ${cell(c.criterion)} | ${c.split ?? '—'} | ${c.passed ? 'pass' : '**fail**'} | ${cell(c.summary)} |`);
  }
  return `${L.join('\n')}\n`;
}
