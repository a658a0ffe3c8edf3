// The drift monitor (issue 19): reference profiles, production windows, the tests, checks and the alarm hook.
export * from './types.js';
export { DriftAlarms, driftAlarmsSince, alarmOfCheck, type DriftAlarm, type DriftAlarmListener } from './alarms.js';
export { recordObservation, windowObservations, insertCheck, listChecks, encodeEmbedding, decodeEmbedding } from './store.js';
export { profileVersion, profileOnRegistration, loadProfileComputation, type ProfileComputation } from './auto-profile.js';
export { DriftScheduler, scheduleSettings, scheduledCheckId, type DriftScheduleSettings, type ScheduledOutcome } from './schedule.js';
