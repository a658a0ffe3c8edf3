// The records tracking hands out. Timestamps are ISO-8601 UTC strings, as stored.

export type RunStatus = 'running' | 'finished' | 'failed' | 'killed';
export const RUN_STATUSES: readonly RunStatus[] = ['running', 'finished', 'failed', 'killed'];

export interface ExperimentRecord {
  id: string;
  name: string;
}

export interface RunRecord {
  id: string;
  experimentId: string;
  name: string;
  status: RunStatus;
  params: Record<string, unknown>;
  tags: Record<string, string>;
  datasetVersion: string | null;
  parentRunId: string | null;
  codeVersion: string | null;
  host: string;
  startedAt: string;
  endedAt: string | null;
  /** The final scalars given to finishRun, or null while running / when none were given. */
  summary: Record<string, number> | null;
}

export interface MetricPoint {
  key: string;
  value: number;
  step: number;
  epoch?: number;
  split?: string;
  at?: string;
}

export interface ArtifactInfo {
  name: string;
  size: number;
  key: string;
  contentType: string | null;
  createdAt: string;
}
