// `secondread models quantize <name> <version>`: INT8 dynamic quantization of a registered version
// (src/engine/quantize), measured against its float source in the same process before it is registered:
// accuracy of both on one split of the source's dataset version (read from the training cache, the same
// preprocessed pixels training used), model size, and inference time at batch 1 and 32 (sessions timed
// alternately, medians). The result becomes the next version of the model, its card naming the source
// version and carrying these figures.
import { join } from 'node:path';

import { ValidationError } from '../../core/errors.js';
import { percent } from '../../core/format.js';
import { buildCache, loadCache } from '../../data/cache/index.js';
import { type Split, SPLITS } from '../../data/datasets/types.js';
import { EngineError, QUANTIZATION_METHOD, quantizeDynamic, type QuantizeOptions, type QuantizeReport } from '../../engine/index.js';
import { createLoadedModel, InvalidModelError, type LoadedModel, type ModelRegistry, type ModelVersion, normalizePixels } from '../../tracking/index.js';
import { accuracy, argmaxRow, confusionMatrix } from '../../training/metrics/index.js';
import type { CliContext } from '../context.js';

export interface QuantizeCommandOptions {
  split: Split;
  threads: number;
  /** Timed runs per model and batch size. */
  runs: number;
  by: string;
  notes?: string;
  quantize: QuantizeOptions;
}

export interface SplitAccuracy {
  split: Split;
  datasetVersion: string;
  images: number;
  /** Images of classes the model does not know (left out). */
  leftOut: number;
  float: number;
  int8: number;
  delta: number;
  /** Share of images where both models give the same top-1 class. */
  agreement: number;
}

export interface Timing {
  batch: number;
  floatMs: number;
  int8Ms: number;
  speedup: number;
}

export interface QuantizeResult {
  source: { name: string; version: number };
  version: ModelVersion;
  report: QuantizeReport;
  size: { floatBytes: number; int8Bytes: number; ratio: number };
  /** null with `accuracySkipped` saying why. */
  accuracy: SplitAccuracy | null;
  accuracySkipped: string | null;
  timings: Timing[];
  threads: number;
}

const EVAL_BATCH = 32;
const BENCH_BATCHES = [1, 32];

export function parseSplit(v: string): Split {
  if (!(SPLITS as readonly string[]).includes(v)) throw new ValidationError(`split must be one of ${SPLITS.join(', ')}, got '${v}'`);
  return v as Split;
}

/** A split of the dataset version as model inputs [N, C, S, S] with labels as indices into the model's classes. */
async function readSplit(
  ctx: CliContext,
  datasetVersion: string,
  split: Split,
  model: LoadedModel,
): Promise<{ inputs: Float32Array; labels: Int32Array; leftOut: number }> {
  const p = model.metadata.preprocessing;
  const files = await buildCache({ db: await ctx.db(), objects: ctx.objects(), versionId: datasetVersion, size: p.size, dir: join(ctx.config.home, 'cache') });
  const file = files.find((f) => f.split === split);
  if (!file) throw new ValidationError(`dataset version '${datasetVersion}' has no '${split}' split`);
  const cache = await loadCache(file.path);
  const rows: number[] = [];
  const labels: number[] = [];
  for (let i = 0; i < cache.header.count; i++) {
    const k = model.metadata.classes.indexOf(cache.header.classes[cache.labels[i]!]!);
    if (k < 0) continue;
    rows.push(i);
    labels.push(k);
  }
  const plane = p.channels * p.size * p.size;
  const inputs = new Float32Array(rows.length * plane);
  rows.forEach((r, i) => normalizePixels(cache.image(r), p, inputs, i * plane));
  return { inputs, labels: Int32Array.from(labels), leftOut: cache.header.count - rows.length };
}

/** Rows per run: the model's fixed batch if it declares one, else `wanted`. */
function batchFor(model: LoadedModel, wanted: number): number {
  const d = model.metadata.input.shape[0];
  return typeof d === 'number' && d > 0 ? d : wanted;
}

/** Top-1 class of every input, run `batch` rows at a time (the last chunk zero-padded). */
async function top1(model: LoadedModel, inputs: Float32Array, count: number): Promise<Int32Array> {
  const plane = inputs.length / count;
  const k = model.metadata.classes.length;
  const batch = batchFor(model, EVAL_BATCH);
  const out = new Int32Array(count);
  for (let start = 0; start < count; start += batch) {
    const chunk = new Float32Array(batch * plane);
    chunk.set(inputs.subarray(start * plane, Math.min(count, start + batch) * plane));
    const logits = await model.logits(chunk, batch);
    for (let r = 0; r < Math.min(batch, count - start); r++) out[start + r] = argmaxRow(logits, r * k, k);
  }
  return out;
}

async function compareAccuracy(
  float: LoadedModel,
  int8: LoadedModel,
  set: { inputs: Float32Array; labels: Int32Array },
): Promise<Omit<SplitAccuracy, 'split' | 'datasetVersion' | 'leftOut'>> {
  const n = set.labels.length;
  const k = float.metadata.classes.length;
  const [pf, pq] = [await top1(float, set.inputs, n), await top1(int8, set.inputs, n)];
  const [af, aq] = [accuracy(confusionMatrix(set.labels, pf, k)), accuracy(confusionMatrix(set.labels, pq, k))];
  let same = 0;
  for (let i = 0; i < n; i++) if (pf[i] === pq[i]) same++;
  return { images: n, float: af, int8: aq, delta: aq - af, agreement: same / n };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/**
 * Milliseconds per run of each batch size, float and int8 timed alternately (run i of one, then run i of the
 * other) so a change in machine load hits both; medians of `runs` after 3 warm-up runs each.
 */
async function timeModels(float: LoadedModel, int8: LoadedModel, sample: Float32Array, runs: number): Promise<Timing[]> {
  const p = float.metadata.preprocessing;
  const plane = p.channels * p.size * p.size;
  const batches = [...new Set(BENCH_BATCHES.map((b) => batchFor(float, b)))];
  const out: Timing[] = [];
  for (const batch of batches) {
    const inputs = new Float32Array(batch * plane);
    // Real images when the split has them (repeated to fill the batch), else a fixed pattern.
    for (let i = 0; i < inputs.length; i++) inputs[i] = sample.length > 0 ? sample[i % sample.length]! : Math.sin(i * 0.37);
    const ms: [number[], number[]] = [[], []];
    const models = [float, int8] as const;
    for (let r = -3; r < runs; r++) {
      // Which model goes first alternates too: neither always runs on the caches the other warmed.
      for (const j of r % 2 === 0 ? [0, 1] : [1, 0]) {
        const t0 = performance.now();
        await models[j]!.logits(inputs, batch);
        if (r >= 0) ms[j]!.push(performance.now() - t0);
      }
    }
    const [f, q] = [median(ms[0]), median(ms[1])];
    out.push({ batch, floatMs: f, int8Ms: q, speedup: f / q });
  }
  return out;
}

function quantizeBytes(bytes: Uint8Array, mv: ModelVersion, o: QuantizeOptions): { bytes: Uint8Array; report: QuantizeReport } {
  let q: { bytes: Uint8Array; report: QuantizeReport };
  try {
    q = quantizeDynamic(bytes, o);
  } catch (err) {
    if (err instanceof EngineError) throw new InvalidModelError(`${mv.name} v${mv.version} cannot be quantized: ${err.message}`);
    throw err;
  }
  if (q.report.quantized.length === 0) {
    const why = q.report.skipped
      .map((s) => `${s.node}: ${s.reason}`)
      .slice(0, 5)
      .join('; ');
    throw new InvalidModelError(`${mv.name} v${mv.version} has no MatMul/Gemm with a constant weight to quantize${why ? ` (${why})` : ''}`);
  }
  return q;
}

export async function runQuantize(ctx: CliContext, reg: ModelRegistry, name: string, version: number, o: QuantizeCommandOptions): Promise<QuantizeResult> {
  const src = await reg.resolve(name, { version });
  const floatBytes = await reg.modelBytes(src);
  const q = quantizeBytes(floatBytes, src, o.quantize);
  const float = await reg.loadForInference(name, { version }, { threads: o.threads });
  let int8: LoadedModel | undefined;
  try {
    int8 = await createLoadedModel({ name, version: 0, bytes: q.bytes, metadata: src.metadata, threads: o.threads });
    let acc: SplitAccuracy | null = null;
    let skipped: string | null = null;
    let sample: Float32Array = new Float32Array(0);
    if (!src.datasetVersion) {
      skipped = `${name} v${version} records no dataset version (${src.source === 'import' ? 'imported without one' : 'no lineage'}): accuracy not measured`;
    } else {
      const set = await readSplit(ctx, src.datasetVersion, o.split, float);
      if (set.labels.length === 0) {
        skipped = `split '${o.split}' of dataset version '${src.datasetVersion}' has no images of the model's classes: accuracy not measured`;
      } else {
        acc = { split: o.split, datasetVersion: src.datasetVersion, leftOut: set.leftOut, ...(await compareAccuracy(float, int8, set)) };
        sample = set.inputs.subarray(0, Math.min(set.labels.length, 32) * (set.inputs.length / set.labels.length));
      }
    }
    const timings = await timeModels(float, int8, sample, o.runs);
    const w = q.report.weights;
    const notes = [
      `${QUANTIZATION_METHOD} quantization of ${name} v${version}: ${q.report.quantized.length} MatMul/Gemm with ${w.type}${w.perChannel ? ' per-channel' : ' per-tensor'}${w.reduceRange ? ' 7-bit' : ''} weights (${q.report.form} form), activations uint8 at run time; ${q.report.skipped.length} left float.`,
      o.notes,
    ]
      .filter(Boolean)
      .join(' ');
    const metrics: Record<string, number> = { 'quantization/source_version': version, 'quantization/size_ratio': q.bytes.length / floatBytes.length };
    for (const t of timings) metrics[`quantization/speedup_batch${t.batch}`] = t.speedup;
    if (acc)
      Object.assign(metrics, {
        [`float/${o.split}/accuracy`]: acc.float,
        [`int8/${o.split}/accuracy`]: acc.int8,
        [`quantization/${o.split}/top1_agreement`]: acc.agreement,
      });
    // The card's per-split table shows the int8 model's own accuracy (a train-split figure is not an evaluation).
    const evaluations = acc && (acc.split === 'val' || acc.split === 'test') ? { [acc.split]: { count: acc.images, accuracy: acc.int8 } } : undefined;
    const mv = await reg.registerDerived({ from: { name, version }, bytes: q.bytes, by: o.by, notes, metrics, evaluations });
    return {
      source: { name, version },
      version: mv,
      report: q.report,
      size: { floatBytes: floatBytes.length, int8Bytes: q.bytes.length, ratio: q.bytes.length / floatBytes.length },
      accuracy: acc,
      accuracySkipped: skipped,
      timings,
      threads: o.threads,
    };
  } finally {
    await float.close();
    await int8?.close();
  }
}

const mb = (b: number): string => (b >= 1 << 20 ? `${(b / (1 << 20)).toFixed(2)} MiB` : `${(b / 1024).toFixed(1)} KiB`);

export function formatQuantizeResult(r: QuantizeResult): string {
  const w = r.report.weights;
  const L = [
    `registered ${r.version.name} v${r.version.version}: ${QUANTIZATION_METHOD} of v${r.source.version} (${r.report.quantized.length} MatMul/Gemm quantized, ${w.type}${w.perChannel ? ' per-channel' : ' per-tensor'}${w.reduceRange ? ' 7-bit' : ''} weights, ${r.report.form} form; ${r.report.skipped.length} left float)`,
  ];
  if (r.accuracy) {
    const a = r.accuracy;
    L.push(
      `accuracy on ${a.split} of ${a.datasetVersion} (${a.images} images${a.leftOut ? `, ${a.leftOut} of unknown classes left out` : ''}): float ${percent(a.float, 2)}, int8 ${percent(a.int8, 2)}, delta ${a.delta >= 0 ? '+' : ''}${(100 * a.delta).toFixed(2)} points; same top-1 class on ${percent(a.agreement, 2)}`,
    );
  } else {
    L.push(`accuracy: skipped — ${r.accuracySkipped}`);
  }
  L.push(`size: ${mb(r.size.floatBytes)} → ${mb(r.size.int8Bytes)} (${r.size.ratio.toFixed(2)}×)`);
  for (const t of r.timings) {
    L.push(
      `speed, batch ${t.batch} (ONNX Runtime CPU, ${r.threads} thread${r.threads === 1 ? '' : 's'}, median): float ${t.floatMs.toFixed(2)} ms, int8 ${t.int8Ms.toFixed(2)} ms → speed-up ${t.speedup.toFixed(2)}×`,
    );
  }
  L.push(`model card: ${r.version.cardMarkdownKey}`);
  return L.join('\n');
}
