// The demo bootstrap of `npm start` (docs/quickstart.md).
export {
  DEMO_STEPS,
  ensureDemo,
  type DemoOutcome,
  type DemoStep,
  type DemoSummary,
  type EnsureDemoOptions,
  type StepEvent,
  type StepRecord,
} from './bootstrap.js';
export type { DemoDeps } from './context.js';
export { DEMO_USERS, type DemoCredential } from './credentials.js';
export { DEMO_EXPERIMENT, DEMO_MODEL, parseDemoOptions, type DemoOptions, type DemoOptionsInput } from './options.js';
export { demoPaths } from './state.js';
