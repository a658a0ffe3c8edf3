// The JSON the UI reads, as the API sends it (docs/api.md, /work contract). These mirror the server's
// types (src/workflow/blinding.ts StudyView, src/workflow/metrics.ts WorkflowMetrics, …) on purpose:
// the UI is a client of the wire format and must not pull server modules into the browser bundle.

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

export interface ClassProbability {
  class: string;
  probability: number;
}

export interface HumanRead {
  label: string;
  userId: string | null;
  at: string;
}

export interface ModelRead {
  model: string | null;
  version: number | null;
  label: string;
  top: ClassProbability;
  predictions: ClassProbability[];
  at: string;
}

export interface Decision {
  decision: 'auto_finalized' | 'second_read' | 'adjudicated' | string;
  reasons: string[];
  qa: boolean;
  policyId: string | null;
  decidedAt: string | null;
}

export interface StudyView {
  id: string;
  modality: 'cxr' | 'oct' | string;
  source: string;
  datasetVersion: string | null;
  imageKey: string;
  status: 'awaiting_a' | 'awaiting_b' | 'auto_finalized' | 'adjudicated' | string;
  priority: boolean;
  createdAt: string;
  blinded: boolean;
  reads: { A?: HumanRead; B?: HumanRead; model?: ModelRead };
  model?: { name: string; version: number } | null;
  decision?: Decision;
  finalLabel: string | null;
  finalizedAt: string | null;
  truthClass?: string | null;
}

export interface WorklistItem {
  id: string;
  modality: string;
  priority: boolean;
  createdAt: string;
  status: string;
}

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

export interface Rate {
  numerator: number;
  denominator: number;
  rate: number | null;
}

export interface WorkflowMetrics {
  since: string | null;
  studies: number;
  decided: number;
  autoFinalized: number;
  secondRead: number;
  qaSampled: number;
  adjudicated: number;
  secondReviewReduction: Rate;
  falseClear: { qa: Rate; truth: Rate };
  agreementByClass: ({ class: string } & Rate)[];
  turnaroundSeconds: { count: number; mean: number | null; median: number | null; p90: number | null };
  worklistDepth: { A: number; B: number; qaInB: number };
  savings: {
    economics: { minutesPerRead: Record<string, number>; costPerRead: Record<string, number>; inferenceCostPerStudy: number; currency: string };
    minutesSaved: number;
    costSaved: number;
    costSavedPerScan: number | null;
    byModality: Record<string, { autoFinalized: number; modelReads: number; minutesSaved: number; costSaved: number }>;
  };
}

// ---- registry (GET /v1/models, /v1/models/:name are snake_case, as the existing routes answer) ----

export type Alias = 'staging' | 'canary' | 'production';
export const ALIASES: readonly Alias[] = ['staging', 'canary', 'production'];

export interface ModelSummary {
  name: string;
  latest_version: number;
  aliases: Partial<Record<Alias, number>>;
  created_at: string;
}

export interface ModelVersionSummary {
  version: number;
  source: string;
  run_id?: string | null;
  dataset_version?: string | null;
  classes: string[];
  input_size: number;
  temperature?: number;
  onnx_sha256?: string;
  notes?: string | null;
  created_at: string;
  created_by: string;
}

export interface ModelDetail {
  name: string;
  aliases: Partial<Record<Alias, number>>;
  versions: ModelVersionSummary[];
}
