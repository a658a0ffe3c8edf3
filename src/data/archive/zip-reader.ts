// Zip reading with yauzl: entries one at a time (lazyEntries), names decoded and checked by us (not
// yauzl) so every refusal is an UnsafeArchiveError naming the entry, sizes counted while inflating.
// Zip is random-access, so ignored entries are never decompressed at all.
import yauzl from 'yauzl';

import { ValidationError } from '../../core/errors.js';
import { ArchiveBudget, consumeEntry } from './budget.js';
import { corruptIfFails } from './corrupt.js';
import { normalizeEntryPath } from './entry-path.js';
import { type ArchiveSummary, type ArchiveVisitor, emptySummary } from './types.js';

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

export async function readZip(file: string, budget: ArchiveBudget, visitor: ArchiveVisitor): Promise<ArchiveSummary> {
  let zip: yauzl.ZipFile;
  try {
    // decodeStrings: false → yauzl does not judge names (we do, below); validateEntrySizes: false →
    // the budget counts real bytes, and a size mismatch is reported by us with the entry's name.
    zip = await yauzl.openPromise(file, { lazyEntries: true, autoClose: false, decodeStrings: false, validateEntrySizes: false });
  } catch (err) {
    throw new ValidationError(`archive '${budget.archive}' is not a readable zip file: ${(err as Error).message}`, { archive: budget.archive });
  }
  const summary = emptySummary();
  try {
    if (zip.entryCount > budget.limits.maxEntries)
      budget.refuse(`declares ${zip.entryCount} entries (limit ${budget.limits.maxEntries})`, { limit: 'maxEntries' });
    const entries = zip.eachEntry();
    while (true) {
      const next = await corruptIfFails(budget.archive, entries.next());
      if (next.done) break;
      const entry = next.value;
      budget.addEntry();
      summary.entries += 1;
      const rawName = yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, true);
      const path = normalizeEntryPath(budget.archive, rawName);
      const type = (entry.externalFileAttributes >>> 16) & S_IFMT;
      if (type === S_IFLNK) budget.refuse(`entry '${path}' is a symbolic link`, { entry: path });
      if (type !== 0 && type !== S_IFREG && type !== S_IFDIR) budget.refuse(`entry '${path}' is not a regular file or directory`, { entry: path });
      visitor.onPosition?.(entry.relativeOffsetOfLocalHeader + entry.compressedSize);
      if (type === S_IFDIR || /[/\\]$/.test(rawName)) {
        summary.directories += 1;
        continue;
      }
      summary.files += 1;
      if (!visitor.select(path)) {
        summary.ignored += 1;
        continue;
      }
      if (entry.isEncrypted()) budget.refuse(`entry '${path}' is encrypted`, { entry: path });
      if (entry.uncompressedSize > budget.limits.maxEntryBytes) {
        budget.refuse(`entry '${path}' declares ${entry.uncompressedSize} bytes, over the per-entry limit of ${budget.limits.maxEntryBytes}`, {
          entry: path,
          limit: 'maxEntryBytes',
        });
      }
      const stream = await corruptIfFails(budget.archive, zip.openReadStreamPromise(entry));
      const { bytes, data } = await corruptIfFails(
        budget.archive,
        consumeEntry(budget, path, stream, true, (n) => budget.checkRatio(`entry '${path}'`, n, entry.compressedSize)),
      );
      if (bytes !== entry.uncompressedSize) {
        budget.refuse(`entry '${path}' produced ${bytes} bytes but its header says ${entry.uncompressedSize}`, { entry: path });
      }
      summary.selected += 1;
      summary.uncompressedBytes += bytes;
      await visitor.onFile({ path, data: data! });
    }
  } finally {
    zip.close();
  }
  return summary;
}
