// Where a new version's bytes come from, each turned into the one thing the registry creates a version
// from (a NewVersion: the bytes, how to read their metadata, lineage and the model card's inputs):
// a finished run's exported ONNX (card: the run, its metrics.json, experiment and dataset size), an ONNX
// classifier exported elsewhere (card: its meta.json), or a model derived from a registered version,
// e.g. its INT8 quantization (card: the source's lineage and the figures measured on the derived model).
// The registry never reads runs or files to build a card: it is handed everything here.
import { readFile } from 'node:fs/promises';

import { ConflictError, ValidationError } from '../core/errors.js';
import type { Db } from '../storage/db.js';
import { type CardInput, parseRunMetrics, type RunMetricsFile } from './model-card.js';
import { metadataFromExport, metadataFromImport, type ModelMetadata, parseImportMeta } from './model-metadata.js';
import type { ModelVersion } from './model-version.js';
import { assertLabel, assertModelName } from './names.js';
import { type OpenedModel, selectIO } from './onnx-model.js';
import type { Tracker } from './tracker.js';

/** The card's inputs besides what registration itself knows (name, number, time, author, notes, metadata, file). */
export type CardSources = Omit<CardInput, 'name' | 'version' | 'createdAt' | 'createdBy' | 'notes' | 'metadata' | 'onnx'>;

export interface NewVersion {
  name: string;
  bytes: Uint8Array;
  /** The version's metadata, read from the opened model (then checked: shapes, a smoke inference). */
  describe(m: OpenedModel): ModelMetadata;
  by: string;
  notes: string | null;
  runId: string | null;
  datasetVersion: string | null;
  card: CardSources;
}

export interface SourceDeps {
  db: Db;
  tracker: Tracker;
}

/** A finished run's exported ONNX (default artifact `model.onnx`). */
export async function versionFromRun(
  deps: SourceDeps,
  o: { runId: string; name: string; onnxArtifact?: string; by: string; notes?: string },
): Promise<NewVersion> {
  const name = assertModelName(o.name);
  assertLabel('user', o.by);
  const run = await deps.tracker.getRun(o.runId);
  if (run.status !== 'finished')
    throw new ConflictError(`run '${run.id}' is ${run.status}: only a finished run can be registered`, { run: run.id, status: run.status });
  const artifact = o.onnxArtifact ?? 'model.onnx';
  if (!(await deps.tracker.hasArtifact(run.id, artifact)))
    throw new ValidationError(`run '${run.id}' has no artifact '${artifact}' (export the model first)`, { run: run.id, artifact });
  const bytes = await deps.tracker.getArtifact(run.id, artifact);
  const runMetrics = await readRunMetrics(deps.tracker, run.id);
  const experiment = await deps.db.selectFrom('experiments').select('name').where('id', '=', run.experimentId).executeTakeFirst();
  const datasetImages = run.datasetVersion
    ? ((await deps.db.selectFrom('dataset_versions').select('image_count').where('id', '=', run.datasetVersion).executeTakeFirst())?.image_count ?? null)
    : null;
  return {
    name,
    bytes,
    describe: (m) => {
      const io = selectIO(m);
      return metadataFromExport(
        m.metadataProps,
        { input: io.input.name, output: io.output.name, inputShape: io.input.shape },
        runMetrics?.calibration?.temperature,
      );
    },
    by: o.by,
    notes: o.notes ?? null,
    runId: run.id,
    datasetVersion: run.datasetVersion,
    card: { run: { ...run, experiment: experiment?.name ?? null }, runMetrics, datasetImages: datasetImages === null ? null : Number(datasetImages) },
  };
}

/** An ONNX classifier exported elsewhere, described by its meta.json (validated here). */
export function versionFromImport(o: { name: string; bytes: Uint8Array; meta: unknown; by: string; notes?: string }): NewVersion {
  const name = assertModelName(o.name);
  assertLabel('user', o.by);
  const meta = parseImportMeta(o.meta);
  return {
    name,
    bytes: o.bytes,
    describe: (m) => {
      const io = selectIO(m, { input: meta.input.name, output: meta.output?.name });
      return metadataFromImport(meta, { input: io.input.name, output: io.output.name });
    },
    by: o.by,
    notes: o.notes ?? meta.description ?? null,
    runId: null,
    datasetVersion: meta.datasetVersion ?? null,
    card: { import: meta },
  };
}

/** A model file given by a CLI user. */
export async function readModelFile(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    throw new ValidationError(`cannot read model file '${file}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { file });
  }
}

/**
 * A model derived from a registered version (e.g. its INT8 quantization), registered as the next version of the
 * same name. It keeps the source's lineage (run, dataset version) and metadata (classes, preprocessing,
 * temperature); its card shows the notes (naming the source version), `evaluations` per split and `metrics` —
 * figures measured on the derived model, never the source run's.
 */
export async function versionFromSource(
  deps: SourceDeps,
  src: ModelVersion,
  o: {
    bytes: Uint8Array;
    by: string;
    notes: string;
    evaluations?: Partial<Record<'val' | 'test' | 'finalEval', { count: number; accuracy: number }>>;
    metrics?: Record<string, number>;
  },
): Promise<NewVersion> {
  const run = src.runId ? await deps.tracker.getRun(src.runId) : null;
  const experiment = run ? await deps.db.selectFrom('experiments').select('name').where('id', '=', run.experimentId).executeTakeFirst() : undefined;
  return {
    name: src.name,
    bytes: o.bytes,
    describe: () => src.metadata,
    by: o.by,
    notes: o.notes,
    runId: src.runId,
    datasetVersion: src.datasetVersion,
    card: {
      ...(run ? { run: { ...run, summary: null, experiment: experiment?.name ?? null } } : {}),
      runMetrics: o.evaluations ?? null,
      import: { datasetVersion: src.datasetVersion ?? undefined, metrics: o.metrics },
    },
  };
}

async function readRunMetrics(tracker: Tracker, runId: string): Promise<RunMetricsFile | null> {
  if (!(await tracker.hasArtifact(runId, 'metrics.json'))) return null;
  try {
    return parseRunMetrics(JSON.parse((await tracker.getArtifact(runId, 'metrics.json')).toString('utf8')));
  } catch {
    return null; // an unreadable metrics file leaves the card without figures, it does not block registration
  }
}
