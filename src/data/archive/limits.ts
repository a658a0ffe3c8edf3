// Limits that bound what one archive may cost to read. A dataset archive is untrusted input: a few
// hundred bytes can declare terabytes (a "zip bomb"), so every limit is checked against bytes actually
// produced while streaming, never against sizes an archive's headers claim.

export interface ArchiveLimits {
  /** Most entries (files, directories, anything) one archive may hold. */
  maxEntries: number;
  /** Most uncompressed bytes one entry may produce. */
  maxEntryBytes: number;
  /** Most uncompressed bytes the whole archive may produce. */
  maxTotalBytes: number;
  /** Most uncompressed bytes per compressed byte, checked once `ratioFloorBytes` have been produced. */
  maxCompressionRatio: number;
  /** Below this many uncompressed bytes the ratio is not checked (tiny text files compress 100:1 legitimately). */
  ratioFloorBytes: number;
}

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/**
 * Defaults sized for the real datasets: OCT2017 is ~84 000 JPEGs in ~5.8 GB, the COVID-19 Radiography
 * archive ~42 000 entries (images + masks) in ~0.8 GB. Medical images barely compress (ratio ≈ 1), so a
 * ratio of 100 leaves room for metadata sheets while stopping bombs (which reach 1 000:1 and more).
 */
export const DEFAULT_ARCHIVE_LIMITS: Readonly<ArchiveLimits> = {
  maxEntries: 500_000,
  maxEntryBytes: 256 * MiB,
  maxTotalBytes: 64 * GiB,
  maxCompressionRatio: 100,
  ratioFloorBytes: 16 * MiB,
};

export function resolveLimits(partial?: Partial<ArchiveLimits>): ArchiveLimits {
  return { ...DEFAULT_ARCHIVE_LIMITS, ...partial };
}
