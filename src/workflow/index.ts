// The second-reader workflow: state machine, policy, blinding, audit trail, business metrics.
export { appendAudit, AUDIT_EVENTS, listAudit, verifyAuditLog, type AuditEntry, type AuditEvent, type AuditVerification } from './audit.js';
export { studyView, type BoxMarkView, type ClassProbability, type HumanReadView, type ModelDetection, type ModelReadView, type StudyView } from './blinding.js';
export { BoxReadInvalidError, NoBoxesError, type BoxRead, type BoxReader } from './boxes.js';
export { AuditChainError, IllegalTransitionError, ModelReadInvalidError, WorkflowForbiddenError } from './errors.js';
export { DEFAULT_ECONOMICS, workflowMetrics, type Economics, type Rate, type WorkflowMetrics } from './metrics.js';
export { PolicyStore, type NewPolicy, type Policy } from './policies.js';
export {
  classSweep,
  fitPolicy,
  parseRecordedReads,
  RecordedReads,
  topOf,
  upperEnvelope,
  type ClassFit,
  type ClassFitStatus,
  type FitOptions,
  type FitReader,
  type PolicyFit,
  type ScoredCase,
  type ThresholdOption,
  type TradeOffPoint,
} from './policy-fit.js';
export { policyReportMarkdown, renderPolicyChart, type PolicyFitReport, type ReaderDescription } from './policy-report.js';
export { scoreSplit, type ScoredSplit, type ScoreSplitDeps, type ScoreSplitTarget } from './score-split.js';
export {
  DEFAULT_QA_FRACTION,
  evaluatePolicy,
  SECOND_READ_REASONS,
  validatePolicyRule,
  type PolicyOutcome,
  type PolicyRule,
  type SecondReadReason,
} from './policy.js';
export { CONFUSION_PATTERNS, SimulatedReader, type ConfusionPattern, type SimulatedReaderOptions } from './simulated-reader.js';
export {
  STUDY_ID,
  WorkflowService,
  type IntakeInput,
  type ModelRead,
  type ModelReader,
  type Worklist,
  type WorklistItem,
  type WorkflowServiceDeps,
  type WorkflowUser,
} from './service.js';
export { assertTransition, FINAL_STATES, isLegal, STUDY_EVENTS, STUDY_STATES, type StudyEvent, type StudyState } from './states.js';
export { ROLES, UserStore, type AuthenticatedUser, type Role, type User } from './users.js';
