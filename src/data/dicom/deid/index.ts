export {
  type BurnedInPolicy,
  DEID_METHOD,
  DicomBurnedInAnnotationError,
  type DeidentifiedDicom,
  deidentify,
  type DeidOptions,
  remapUid,
} from './deidentify.js';
export { loadDeidKey } from './key.js';
export { BASIC_PROFILE } from './profile.js';
