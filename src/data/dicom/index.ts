export { type DecodedDicom, decodeDicom, type DicomImageInfo, inspectDicom } from './decode.js';
export * from './errors.js';
export { type DicomFile, looksLikeDicom, metaDict, parseDicom, writeDicom } from './parse.js';
export { type TransferSyntax, transferSyntax } from './transfer-syntax.js';
export {
  buildModelResultSr,
  buildReaderResultSr,
  buildSaliencySecondaryCapture,
  type ModelResultSrInput,
  type ReaderResultSrInput,
  type SaliencyScInput,
  SrInputError,
  type SrOrigin,
} from './sr/index.js';
