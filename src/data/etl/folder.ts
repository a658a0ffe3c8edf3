// A dataset source that is a plain folder (an unpacked download: the RSNA and VinDr-CXR sets are
// usually unzipped, and VinDr is distributed as a folder tree). It is read with the same visitor as an
// archive, under the same limits: entry count, bytes per file and in total. A symbolic link (or a
// device, a socket…) refuses the whole folder, as a link entry refuses an archive: following it could
// read files outside the dataset. Paths handed on are relative, '/'-separated, sorted, so a folder
// reads in the same order everywhere; they are metadata only, never joined back by the ETL.
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { UnsafeArchiveError, ValidationError } from '../../core/errors.js';
import { type ArchiveLimits, type ArchiveSummary, type ArchiveVisitor, resolveLimits } from '../archive/index.js';
import { sha256File } from './version-id.js';

export interface FolderFile {
  path: string;
  size: number;
}

/** Every regular file under `root` (sorted by relative path), refusing links and special files. */
export async function listFolder(root: string, limits?: Partial<ArchiveLimits>): Promise<{ files: FolderFile[]; directories: number }> {
  const info = await lstat(root).catch(() => undefined);
  if (!info?.isDirectory()) throw new ValidationError(`folder '${root}' does not exist or is not a folder`, { folder: root });
  const max = resolveLimits(limits);
  const refuse = (path: string, why: string): never => {
    throw new UnsafeArchiveError(`folder '${root}' was refused: '${path}' ${why}`, { folder: root, entry: path, reason: why });
  };
  const files: FolderFile[] = [];
  let directories = 0;
  let total = 0;
  const walk = async (rel: string): Promise<void> => {
    const names = (await readdir(join(root, rel))).sort();
    for (const name of names) {
      const path = rel ? `${rel}/${name}` : name;
      if (files.length + directories >= max.maxEntries) refuse(path, `is past the limit of ${max.maxEntries} entries`);
      const st = await lstat(join(root, path));
      if (st.isSymbolicLink()) refuse(path, 'is a symbolic link');
      if (st.isDirectory()) {
        directories += 1;
        await walk(path);
      } else if (st.isFile()) {
        if (st.size > max.maxEntryBytes) refuse(path, `has ${st.size} bytes, over the per-file limit of ${max.maxEntryBytes}`);
        total += st.size;
        if (total > max.maxTotalBytes) refuse(path, `takes the folder past the total limit of ${max.maxTotalBytes} bytes`);
        files.push({ path, size: st.size });
      } else refuse(path, 'is not a regular file or folder');
    }
  };
  await walk('');
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files, directories };
}

/**
 * The content hash of a folder, standing in for an archive's sha256 in the version id: sha256 over
 * `path NUL size NUL sha256(file)` lines of every file not excluded, in path order. Renaming, adding,
 * removing or changing a file changes it; the folder's own location and timestamps do not.
 */
export async function hashFolder(
  root: string,
  isExcluded: (path: string) => boolean,
  limits?: Partial<ArchiveLimits>,
  onBytes?: (bytes: number) => void,
): Promise<{ sha256: string; size: number }> {
  const { files } = await listFolder(root, limits);
  const hash = createHash('sha256');
  let size = 0;
  for (const f of files) {
    if (isExcluded(f.path)) continue;
    const before = size;
    const sha = await sha256File(join(root, f.path), (n) => onBytes?.(before + n));
    size += f.size;
    hash.update(`${f.path}\0${f.size}\0${sha}\n`);
  }
  return { sha256: hash.digest('hex'), size };
}

/** Reads a folder with an archive's visitor: `select`ed files are read one at a time, in path order. */
export async function readFolder(root: string, visitor: ArchiveVisitor, limits?: Partial<ArchiveLimits>): Promise<ArchiveSummary> {
  const { files, directories } = await listFolder(root, limits);
  const summary: ArchiveSummary = { entries: files.length + directories, files: files.length, directories, selected: 0, ignored: 0, uncompressedBytes: 0 };
  let position = 0;
  for (const f of files) {
    position += f.size;
    visitor.onPosition?.(position);
    if (!visitor.select(f.path)) {
      summary.ignored += 1;
      continue;
    }
    const data = await readFile(join(root, f.path));
    // The file may have changed since it was listed: the limit holds for what was actually read.
    if (data.length > resolveLimits(limits).maxEntryBytes)
      throw new UnsafeArchiveError(`folder '${root}' was refused: '${f.path}' grew past the per-file limit`);
    summary.selected += 1;
    summary.uncompressedBytes += data.length;
    await visitor.onFile({ path: f.path, data });
  }
  return summary;
}
