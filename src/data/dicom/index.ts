export { type DecodedDicom, decodeDicom, type DicomImageInfo, inspectDicom } from './decode.js';
export * from './errors.js';
export { type DicomFile, hasPart10Marker, looksLikeDicom, metaDict, parseDicom, writeDicom } from './parse.js';
export { supportedTransferSyntaxes, type TransferSyntax, transferSyntax } from './transfer-syntax.js';
