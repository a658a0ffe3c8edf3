export { type DecodedDicom, decodeDicom, type DicomImageInfo, inspectDicom } from './decode.js';
export * from './errors.js';
export { type DicomFile, looksLikeDicom, metaDict, parseDicom, writeDicom } from './parse.js';
export { type TransferSyntax, transferSyntax } from './transfer-syntax.js';
export { buildModelResultSr, buildReaderResultSr, type ModelResultSrInput, type ReaderResultSrInput, SrInputError, type SrOrigin } from './sr/index.js';
