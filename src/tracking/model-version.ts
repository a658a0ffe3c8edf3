// The records of the model registry as its callers see them: a registered version (immutable: its ONNX,
// model card and metadata are written once under models/<name>/<version>/), an alias event, a model
// with its current aliases, and how a version is asked for. Kept apart so that the loader and the
// version sources read these types without importing the registry.
import { ValidationError } from '../core/errors.js';
import type { ModelVersionsTable } from '../storage/schema.js';
import { type ModelMetadata, parseStoredMetadata } from './model-metadata.js';
import { type Alias, assertModelName, assertVersion } from './names.js';

export interface ModelVersion {
  name: string;
  version: number;
  source: 'run' | 'import';
  runId: string | null;
  datasetVersion: string | null;
  onnxKey: string;
  onnxSha256: string;
  onnxBytes: number;
  cardKey: string;
  cardMarkdownKey: string;
  metadata: ModelMetadata;
  createdBy: string;
  notes: string | null;
  createdAt: string;
}

export interface AliasEvent {
  seq: number;
  alias: Alias;
  action: 'set' | 'rollback';
  version: number;
  previousVersion: number | null;
  by: string;
  reason: string;
  at: string;
}

export interface RegisteredModel {
  name: string;
  latestVersion: number;
  createdAt: string;
  aliases: Partial<Record<Alias, number>>;
}

export interface ModelRef {
  version?: number;
  alias?: string;
}

export function modelObjectKeys(name: string, version: number): { onnx: string; card: string; cardMarkdown: string; protocolReports: string } {
  const base = `models/${assertModelName(name)}/${assertVersion(version)}`;
  return {
    onnx: `${base}/model.onnx`,
    card: `${base}/model-card.json`,
    cardMarkdown: `${base}/model-card.md`,
    protocolReports: `${base}/change-protocol-reports.json`,
  };
}

/** Where a version's further artifacts live (written after registration, e.g. the drift reference profile). */
export function modelArtifactKey(name: string, version: number, artifact: string): string {
  if (!/^[a-z0-9][a-z0-9._-]{0,63}$/.test(artifact))
    throw new ValidationError(`artifact name '${artifact.slice(0, 40)}' must be lower-case letters, digits, '.', '_' or '-'`);
  return `models/${assertModelName(name)}/${assertVersion(version)}/artifacts/${artifact}`;
}

export function toModelVersion(r: ModelVersionsTable): ModelVersion {
  return {
    name: r.name,
    version: Number(r.version),
    source: r.source as ModelVersion['source'],
    runId: r.run_id,
    datasetVersion: r.dataset_version,
    onnxKey: r.onnx_key,
    onnxSha256: r.onnx_sha256,
    onnxBytes: Number(r.onnx_bytes),
    cardKey: r.card_key,
    cardMarkdownKey: r.card_key.replace(/\.json$/, '.md'),
    metadata: parseStoredMetadata(r.metadata_json),
    createdBy: r.created_by,
    notes: r.notes,
    createdAt: r.created_at,
  };
}
