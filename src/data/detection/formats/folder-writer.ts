// An ArchiveWriter (data/synth/archive-writer.ts) that writes into a folder instead of an archive, so an
// export can go to either. The folder must not exist or be empty: an export never mixes with other files.
// Nothing is created until the first file is added.
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';

import { ValidationError } from '../../../core/errors.js';
import type { ArchiveWriter } from '../../synth/archive-writer.js';

export async function createFolderWriter(dir: string): Promise<ArchiveWriter> {
  const root = resolve(dir);
  const existing = await readdir(root).catch(() => null);
  if (existing && existing.length > 0) throw new ValidationError(`${dir}: the folder is not empty (an export writes into a new or empty folder)`);
  let bytes = 0;
  return {
    async add(name, data) {
      const path = resolve(join(root, name));
      if (!path.startsWith(root + sep)) throw new ValidationError(`refusing to write '${name}' outside ${dir}`);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, data);
      bytes += data.length;
    },
    async finish() {
      return { bytes, sha256: '' };
    },
  };
}
