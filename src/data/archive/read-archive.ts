// One entry point for reading a dataset archive safely, whatever its format.
//
// Policy (docs/datasets.md): an archive that tries anything unsafe — a '..' segment, an absolute
// path or drive letter, a symbolic or hard link, a device entry, more entries or bytes than the
// limits, a suspicious compression ratio — is refused as a whole with UnsafeArchiveError. Skipping
// the entry would be friendlier, but such an entry is a sign of a malicious or broken file, and a
// dataset built from the rest of it could not be trusted either.
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';

import { ValidationError } from '../../core/errors.js';
import { ArchiveBudget } from './budget.js';
import { type ArchiveLimits, resolveLimits } from './limits.js';
import { readTarGz } from './tar-reader.js';
import type { ArchiveFormat, ArchiveSummary, ArchiveVisitor } from './types.js';
import { readZip } from './zip-reader.js';

export interface ReadArchiveOptions extends ArchiveVisitor {
  format: ArchiveFormat;
  limits?: Partial<ArchiveLimits>;
  /** Name used in messages (defaults to the file's base name). */
  name?: string;
}

export async function readArchive(file: string, opts: ReadArchiveOptions): Promise<ArchiveSummary> {
  const name = opts.name ?? basename(file);
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) throw new ValidationError(`archive '${file}' does not exist or is not a file`, { archive: file });
  const budget = new ArchiveBudget(name, resolveLimits(opts.limits));
  return opts.format === 'zip' ? readZip(file, budget, opts) : readTarGz(file, budget, opts);
}
