// The study state machine: one table of legal transitions, nothing else. The service asks it before
// every change and writes the change with a compare-and-set on the state it was asked about.
//
//   awaiting_a ──read_a──▶ auto_finalized            (A and model agree under the policy)
//        │
//        └─────read_a──▶ awaiting_b ──read_b──▶ adjudicated   (second read, QA sample included)
import { IllegalTransitionError } from './errors.js';

export const STUDY_STATES = ['awaiting_a', 'awaiting_b', 'auto_finalized', 'adjudicated'] as const;
export type StudyState = (typeof STUDY_STATES)[number];

export const STUDY_EVENTS = ['read_a', 'read_b'] as const;
export type StudyEvent = (typeof STUDY_EVENTS)[number];

/** from → event → the states it may lead to. A state absent from an inner map has no such event. */
const TRANSITIONS: Readonly<Record<StudyState, Partial<Record<StudyEvent, readonly StudyState[]>>>> = {
  awaiting_a: { read_a: ['auto_finalized', 'awaiting_b'] },
  awaiting_b: { read_b: ['adjudicated'] },
  auto_finalized: {},
  adjudicated: {},
};

/** States in which the study has its final label. */
export const FINAL_STATES: readonly StudyState[] = ['auto_finalized', 'adjudicated'];

export function isStudyState(s: string): s is StudyState {
  return (STUDY_STATES as readonly string[]).includes(s);
}

/** True when `event` may take a study from `from` to `to`. */
export function isLegal(from: StudyState, event: StudyEvent, to: StudyState): boolean {
  return TRANSITIONS[from][event]?.includes(to) ?? false;
}

/** Throws IllegalTransitionError unless `event` is allowed from `from` (to `to`, when given). */
export function assertTransition(studyId: string, from: string, event: StudyEvent, to?: StudyState): void {
  const targets = isStudyState(from) ? TRANSITIONS[from][event] : undefined;
  if (!targets || (to !== undefined && !targets.includes(to))) {
    const what = to === undefined ? `'${event}'` : `'${event}' to '${to}'`;
    throw new IllegalTransitionError(`study '${studyId}' is '${from}': ${what} is not allowed`, { studyId, from, event, ...(to ? { to } : {}) });
  }
}
