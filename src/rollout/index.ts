// Change protocol and gated rollout (docs/rollout.md): the protocol file, candidate evaluation against it, the
// staged canary with its live guards and automatic rollback, the serving figures the guards read, and the gauges.
export { CRITERIA, type CriterionName, type CriterionResult } from './criteria.js';
export { evaluateCandidate, REPORT_SCHEMA, type EvaluateTarget, type ProtocolEvaluation } from './evaluate.js';
export { GUARDS, judgeStep, type ArmFigures, type GuardName, type GuardResult, type StepDecision, type StepJudgement } from './gates.js';
export { collectRolloutGauges, DEGRADED_HOLD_MS, rolloutGauges } from './gauges.js';
export { armFigures } from './guards.js';
export {
  parseProtocol,
  PROTOCOL_SCHEMA,
  readProtocolFile,
  validateProtocol,
  type CanaryProtocol,
  type ChangeProtocol,
  type LoadedProtocol,
} from './protocol.js';
export { ServingStatsRecorder } from './serving-stats.js';
export {
  ROLLOUT_STATUSES,
  RolloutService,
  startRolloutGate,
  type Actor,
  type Rollout,
  type RolloutStatus,
  type StepAction,
  type StoredReport,
} from './service.js';
