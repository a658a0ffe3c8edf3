export {
  buildFeedbackVersion,
  FEEDBACK_DATASET,
  lineageKey,
  NoNewLabelsError,
  type FeedbackBuildOptions,
  type FeedbackBuildResult,
  type FeedbackReport,
} from './build.js';
export { LABELLED_BY, type FeedbackLineage, type FeedbackStudy, type LabelledBy } from './types.js';
