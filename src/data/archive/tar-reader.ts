// tar.gz reading with tar-stream behind zlib: one sequential pass, entries in archive order. A stream
// format cannot skip, so ignored entries are drained, and their bytes count against the budget too.
import { createReadStream } from 'node:fs';
import { pipeline, Transform, type TransformCallback } from 'node:stream';
import { createGunzip } from 'node:zlib';

import tar from 'tar-stream';

import { ArchiveBudget, consumeEntry } from './budget.js';
import { corruptIfFails } from './corrupt.js';
import { normalizeEntryPath } from './entry-path.js';
import { type ArchiveSummary, type ArchiveVisitor, emptySummary } from './types.js';

/** Counts bytes flowing through; `check` may throw to stop the whole pipeline. */
function counter(onBytes: (total: number) => void): Transform {
  let total = 0;
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
      total += chunk.length;
      try {
        onBytes(total);
      } catch (err) {
        done(err as Error);
        return;
      }
      done(null, chunk);
    },
  });
}

export async function readTarGz(file: string, budget: ArchiveBudget, visitor: ArchiveVisitor): Promise<ArchiveSummary> {
  const summary = emptySummary();
  let compressed = 0;
  const extract = tar.extract();
  // A gzip bomb is caught on the raw tar stream (headers included), before tar-stream buffers anything.
  const pipelineDone = new Promise<void>((resolve, reject) => {
    pipeline(
      createReadStream(file),
      counter((n) => {
        compressed = n;
        visitor.onPosition?.(n);
      }),
      createGunzip(),
      counter((n) => {
        budget.checkRatio('the archive', n, compressed);
        if (n > budget.limits.maxTotalBytes)
          budget.refuse(`contents expand past the total limit of ${budget.limits.maxTotalBytes} bytes`, { limit: 'maxTotalBytes' });
      }),
      extract,
      (err) => (err ? reject(err) : resolve()),
    );
  });
  pipelineDone.catch(() => {}); // observed below; avoids an unhandled rejection while we iterate
  try {
    const entries = extract[Symbol.asyncIterator]();
    while (true) {
      const next = await corruptIfFails(budget.archive, entries.next());
      if (next.done) break;
      const entry = next.value;
      const { header } = entry;
      budget.addEntry();
      summary.entries += 1;
      const path = normalizeEntryPath(budget.archive, header.name);
      if (header.type === 'symlink' || header.type === 'link') {
        budget.refuse(`entry '${path}' is a ${header.type === 'link' ? 'hard' : 'symbolic'} link`, { entry: path });
      }
      if (header.type === 'directory') {
        summary.directories += 1;
        entry.resume();
        continue;
      }
      if (header.type !== 'file' && header.type !== 'contiguous-file') {
        budget.refuse(`entry '${path}' is not a regular file or directory (${header.type})`, { entry: path });
      }
      summary.files += 1;
      const keep = visitor.select(path);
      if (keep && (header.size ?? 0) > budget.limits.maxEntryBytes) {
        budget.refuse(`entry '${path}' declares ${header.size} bytes, over the per-entry limit of ${budget.limits.maxEntryBytes}`, {
          entry: path,
          limit: 'maxEntryBytes',
        });
      }
      const { bytes, data } = await corruptIfFails(budget.archive, consumeEntry(budget, path, entry, keep));
      summary.uncompressedBytes += bytes;
      if (!keep) {
        summary.ignored += 1;
        continue;
      }
      summary.selected += 1;
      await visitor.onFile({ path, data: data! });
    }
    await corruptIfFails(budget.archive, pipelineDone);
  } finally {
    extract.destroy();
  }
  return summary;
}
