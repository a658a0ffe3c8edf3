// Counts what an archive has actually produced and refuses it the moment a limit is crossed. Both
// readers (zip, tar.gz) feed it every decompressed chunk, so the limits hold whatever headers claim.
import { UnsafeArchiveError } from '../../core/errors.js';
import type { ArchiveLimits } from './limits.js';

export class ArchiveBudget {
  entries = 0;
  totalBytes = 0;

  constructor(
    readonly archive: string,
    readonly limits: ArchiveLimits,
  ) {}

  refuse(reason: string, details: Record<string, unknown> = {}): never {
    throw new UnsafeArchiveError(`archive '${this.archive}' was refused: ${reason}`, { archive: this.archive, ...details });
  }

  /** Counts one entry of any kind. */
  addEntry(): void {
    this.entries += 1;
    if (this.entries > this.limits.maxEntries) this.refuse(`more than ${this.limits.maxEntries} entries`, { limit: 'maxEntries' });
  }

  /** Counts produced bytes of `entry`; `entryBytes` is the running total for that entry. */
  addBytes(entry: string, chunk: number, entryBytes: number): void {
    this.totalBytes += chunk;
    if (entryBytes > this.limits.maxEntryBytes) {
      this.refuse(`entry '${entry}' expands past the per-entry limit of ${this.limits.maxEntryBytes} bytes`, { entry, limit: 'maxEntryBytes' });
    }
    if (this.totalBytes > this.limits.maxTotalBytes) {
      this.refuse(`contents expand past the total limit of ${this.limits.maxTotalBytes} bytes`, { limit: 'maxTotalBytes' });
    }
  }

  /** Refuses when `uncompressed` bytes came out of only `compressed` bytes (a decompression bomb). */
  checkRatio(what: string, uncompressed: number, compressed: number): void {
    if (uncompressed < this.limits.ratioFloorBytes) return;
    if (uncompressed > this.limits.maxCompressionRatio * Math.max(compressed, 1)) {
      this.refuse(`${what} expands more than ${this.limits.maxCompressionRatio}:1 (${uncompressed} bytes from ${compressed}): a decompression bomb?`, {
        limit: 'maxCompressionRatio',
      });
    }
  }
}

/**
 * Reads one entry's stream to the end, counting every chunk against the budget. Keeps the bytes when
 * `keep` (the caller wants them) or drops them (the entry is ignored but must still be paid for).
 */
export async function consumeEntry(
  budget: ArchiveBudget,
  entry: string,
  stream: AsyncIterable<unknown> & { destroy(): unknown },
  keep: boolean,
  onChunk?: (entryBytes: number) => void,
): Promise<{ bytes: number; data?: Buffer }> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  try {
    for await (const raw of stream) {
      const chunk = raw as Buffer; // both readers yield Buffers (no encoding is ever set)
      bytes += chunk.length;
      budget.addBytes(entry, chunk.length, bytes);
      onChunk?.(bytes);
      if (keep) chunks.push(chunk);
    }
  } catch (err) {
    stream.destroy();
    throw err;
  }
  return keep ? { bytes, data: Buffer.concat(chunks, bytes) } : { bytes };
}
