// What the archive readers hand to their caller: selected regular files with their bytes, one at a
// time (the caller's promise is awaited before the next entry is read, which bounds memory).

export type ArchiveFormat = 'zip' | 'tar.gz';

export const ARCHIVE_FORMATS: readonly ArchiveFormat[] = ['zip', 'tar.gz'];

export interface ArchiveFile {
  /** Normalized entry name ('a/b/c.png'); metadata only, never a filesystem path. */
  path: string;
  data: Buffer;
}

export interface ArchiveVisitor {
  /** Whether the caller wants this regular file's bytes; unselected files are counted as ignored. */
  select(path: string): boolean;
  onFile(file: ArchiveFile): Promise<void>;
  /** Compressed bytes consumed so far (for progress), out of the archive's size on disk. */
  onPosition?(compressedBytes: number): void;
}

export interface ArchiveSummary {
  entries: number;
  files: number;
  directories: number;
  selected: number;
  ignored: number;
  /** Bytes actually decompressed (selected files, plus ignored ones a stream format forced us to read). */
  uncompressedBytes: number;
}

export function emptySummary(): ArchiveSummary {
  return { entries: 0, files: 0, directories: 0, selected: 0, ignored: 0, uncompressedBytes: 0 };
}
