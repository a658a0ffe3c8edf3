// Wire types of the rollout routes (src/api/routes/rollout.ts; docs/rollout.md): a model's staged canary with the
// judgement of its step, and the change-protocol reports of its versions.

export interface GuardResult {
  guard: 'agreement' | 'qa_false_clear' | 'error_rate' | 'latency_p95';
  status: 'ok' | 'degraded' | 'insufficient';
  canary: number | null;
  production: number | null;
  message: string;
}

export interface StepJudgement {
  decision: 'advance' | 'wait' | 'rollback';
  guards: GuardResult[];
  waitingFor: string[];
  reasons: string[];
}

export interface Rollout {
  id: string;
  model: string;
  candidateVersion: number;
  baselineVersion: number;
  reportId: string;
  status: 'active' | 'promoted' | 'rolled_back';
  step: number;
  steps: number[];
  weight: number;
  stepStartedAt: string;
  lastJudgement?: StepJudgement | null;
  endedReason?: string | null;
  startedBy: string;
  createdAt: string;
  endedAt?: string | null;
}

export interface RolloutStatus {
  rollout: Rollout;
  judgement: StepJudgement | null;
}

export interface CriterionResult {
  criterion: string;
  split: string | null;
  passed: boolean;
  summary: string;
}

export interface ProtocolReport {
  id: string;
  model: string;
  version: number;
  baselineVersion: number | null;
  protocol: { name: string; version: number; sha256: string };
  passed: boolean;
  failures: string[];
  criteria: CriterionResult[];
  createdBy: string;
  createdAt: string;
}
