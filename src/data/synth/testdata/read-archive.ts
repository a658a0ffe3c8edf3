// Test helper: every entry (name, type, bytes) of a zip or tar.gz, in archive order.
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';

import tar from 'tar-stream';
import yauzl from 'yauzl';

export interface ArchiveEntry {
  name: string;
  directory: boolean;
  data: Buffer;
}

export function readZip(path: string): Promise<ArchiveEntry[]> {
  return new Promise((resolve, reject) => {
    yauzl.open(path, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(err);
      const out: ArchiveEntry[] = [];
      zip.on('entry', (entry: yauzl.Entry) => {
        zip.openReadStream(entry, (e, stream) => {
          if (e || !stream) return reject(e);
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('end', () => {
            out.push({ name: entry.fileName, directory: entry.fileName.endsWith('/'), data: Buffer.concat(chunks) });
            zip.readEntry();
          });
        });
      });
      zip.on('end', () => resolve(out));
      zip.on('error', reject);
      zip.readEntry();
    });
  });
}

export function readTarGz(path: string): Promise<ArchiveEntry[]> {
  return new Promise((resolve, reject) => {
    const out: ArchiveEntry[] = [];
    const extract = tar.extract();
    extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => chunks.push(c as Buffer));
      stream.on('end', () => {
        out.push({ name: header.name, directory: header.type === 'directory', data: Buffer.concat(chunks) });
        next();
      });
    });
    extract.on('finish', () => resolve(out));
    extract.on('error', reject);
    createReadStream(path).pipe(createGunzip()).on('error', reject).pipe(extract);
  });
}
