// The JSON the UI reads, as the API sends it (docs/api.md). The workflow's shapes come from the server's
// type-only module src/workflow/views.ts (erased at build: no server code reaches the browser bundle);
// the rest mirrors routes whose types live next to server code.
import type { HumanReadView, ModelReadView, StudyView, WorklistItem } from '../../../src/workflow/views.js';

export type Role = 'reader' | 'adjudicator' | 'ml-engineer' | 'admin';
export const ROLES: readonly Role[] = ['reader', 'adjudicator', 'ml-engineer', 'admin'];

export interface SessionUser {
  name: string;
  role: Role;
}

export interface LoginResponse {
  token: string;
  expiresAt: string;
  user: SessionUser;
}

// The workflow's shapes are the server's own declarations (types only, nothing of the server is bundled).
export type { ClassProbability, Rate, StudyView, WorkflowMetrics, WorklistItem } from '../../../src/workflow/views.js';
export type HumanRead = HumanReadView;
export type ModelRead = ModelReadView;
export type Decision = NonNullable<StudyView['decision']>;

export interface WorklistResponse {
  worklist: 'A' | 'B';
  items: WorklistItem[];
}

export interface AuditEntry {
  seq: number;
  at: string;
  actor: string;
  event: string;
  studyId?: string | null;
  payload?: unknown;
  hash?: string;
}

// ---- registry (GET /v1/models, /v1/models/:name) ----

export type Alias = 'staging' | 'canary' | 'production';
export const ALIASES: readonly Alias[] = ['staging', 'canary', 'production'];

export interface ModelSummary {
  name: string;
  latestVersion: number;
  aliases: Partial<Record<Alias, number>>;
  createdAt: string;
}

export interface ModelVersionSummary {
  version: number;
  source: string;
  runId?: string | null;
  datasetVersion?: string | null;
  classes: string[];
  inputSize: number;
  temperature?: number;
  onnxSha256?: string;
  notes?: string | null;
  createdAt: string;
  createdBy: string;
}

export interface ModelDetail {
  name: string;
  aliases: Partial<Record<Alias, number>>;
  versions: ModelVersionSummary[];
}

/** One drift check (GET /v1/drift/checks; src/monitoring/drift/types.ts DriftCheck). */
export interface DriftCheck {
  id: string;
  model: string;
  version: number;
  modality: 'cxr' | 'oct' | 'all';
  window: { kind: 'count' | 'time'; start: string; end: string; observations: number };
  alpha: number;
  correction: 'holm';
  tests: { test: string; statistic: number; pValue: number; adjustedPValue: number; detected: boolean }[];
  skipped: { test: string; reason: string }[];
  detected: boolean;
  estimatedAccuracy: number | null;
  realizedAgreement: number | null;
  agreementReads: number;
  createdBy: string;
  createdAt: string;
}
