export { readArchive, type ReadArchiveOptions } from './read-archive.js';
export { DEFAULT_ARCHIVE_LIMITS, resolveLimits, type ArchiveLimits } from './limits.js';
export { ARCHIVE_FORMATS, type ArchiveFile, type ArchiveFormat, type ArchiveSummary, type ArchiveVisitor } from './types.js';
