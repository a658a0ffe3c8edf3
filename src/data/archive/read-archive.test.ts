import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { UnsafeArchiveError, ValidationError } from '../../core/errors.js';
import type { ArchiveLimits } from './limits.js';
import { readArchive } from './read-archive.js';
import { patchFile, patchZipDeclaredSizes, writeTestTarGz, writeTestZip } from './testing.js';
import type { ArchiveFile, ArchiveFormat } from './types.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sr-archive-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function readAll(file: string, format: ArchiveFormat, limits?: Partial<ArchiveLimits>, select = (p: string) => p.endsWith('.png')) {
  const files: ArchiveFile[] = [];
  const summary = await readArchive(file, { format, limits, select, onFile: async (f) => void files.push(f) });
  return { files, summary };
}

async function refusal(p: Promise<unknown>): Promise<UnsafeArchiveError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UnsafeArchiveError);
  return err as UnsafeArchiveError;
}

describe('readArchive: zip', () => {
  it('delivers selected files with their bytes and counts the rest as ignored', async () => {
    const file = join(dir, 'ok.zip');
    await writeTestZip(file, [
      { name: 'top/', directory: true },
      { name: 'top/COVID/images/COVID-1.png', data: 'png-a' },
      { name: 'top/COVID/masks/COVID-1.png', data: 'mask' },
      { name: 'top/COVID.metadata.xlsx', data: 'sheet' },
      { name: 'top\\Normal\\images\\Normal-1.png', data: 'png-b', compress: false },
    ]);
    const { files, summary } = await readAll(file, 'zip', undefined, (p) => p.includes('/images/'));
    expect(files.map((f) => [f.path, f.data.toString()])).toEqual([
      ['top/COVID/images/COVID-1.png', 'png-a'],
      ['top/Normal/images/Normal-1.png', 'png-b'],
    ]);
    expect(summary).toMatchObject({ entries: 5, directories: 1, files: 4, selected: 2, ignored: 2, uncompressedBytes: 10 });
  });

  it('refuses the whole archive on a zip-slip entry', async () => {
    const file = join(dir, 'slip.zip');
    await writeTestZip(file, [
      { name: 'a/ok.png', data: 'x' },
      { name: 'zz/evil.png', data: 'evil' },
    ]);
    await patchFile(file, 'zz/evil.png', '../evil.png');
    const err = await refusal(readAll(file, 'zip'));
    expect(err.message).toMatch(/slip\.zip.*'\.\.\/evil\.png'.*path traversal/);
  });

  it('refuses absolute paths and drive letters', async () => {
    const file = join(dir, 'abs.zip');
    await writeTestZip(file, [{ name: 'xetc/passwd.png', data: 'x' }]);
    await patchFile(file, 'xetc/passwd.png', '/etc/passwd.png');
    expect((await refusal(readAll(file, 'zip'))).message).toContain('absolute path');
    await writeTestZip(file, [{ name: 'CC/x.png', data: 'x' }]);
    await patchFile(file, 'CC/x.png', 'C:/x.png');
    expect((await refusal(readAll(file, 'zip'))).message).toContain('drive letter');
  });

  it('refuses symbolic links, even ones the caller would ignore', async () => {
    const file = join(dir, 'link.zip');
    await writeTestZip(file, [{ name: 'a/link.txt', data: '/etc/passwd', mode: 0o120777 }]);
    expect((await refusal(readAll(file, 'zip'))).message).toContain('symbolic link');
  });

  it('refuses an entry over the per-entry limit, counting real bytes rather than the header', async () => {
    const file = join(dir, 'big.zip');
    await writeTestZip(file, [{ name: 'a/big.png', data: Buffer.alloc(100_000, 7) }]);
    expect((await refusal(readAll(file, 'zip', { maxEntryBytes: 50_000 }))).message).toContain('per-entry limit');
    // The central directory now claims 10 bytes: the declared size passes, the inflated bytes do not.
    await patchZipDeclaredSizes(file, 10);
    expect((await refusal(readAll(file, 'zip', { maxEntryBytes: 50_000 }))).message).toContain('expands past the per-entry limit');
    expect((await refusal(readAll(file, 'zip'))).message).toContain('produced 100000 bytes but its header says 10');
  });

  it('refuses too many entries and too many bytes in total', async () => {
    const file = join(dir, 'many.zip');
    await writeTestZip(
      file,
      Array.from({ length: 12 }, (_, i) => ({ name: `a/${i}.png`, data: Buffer.alloc(100, i) })),
    );
    expect((await refusal(readAll(file, 'zip', { maxEntries: 10 }))).message).toContain('12 entries');
    expect((await refusal(readAll(file, 'zip', { maxTotalBytes: 1000 }))).message).toContain('total limit');
  });

  it('refuses a decompression bomb by ratio', async () => {
    const file = join(dir, 'bomb.zip');
    await writeTestZip(file, [{ name: 'a/zeros.png', data: Buffer.alloc(3 * 1024 * 1024) }]);
    expect((await refusal(readAll(file, 'zip', { ratioFloorBytes: 1024 * 1024 }))).message).toContain('decompression bomb');
  });

  it('reports a truncated archive as corrupt (ValidationError), not a crash', async () => {
    const file = join(dir, 'trunc.zip');
    await writeTestZip(file, [{ name: 'a/x.png', data: Buffer.alloc(5000, 1) }]);
    const bytes = await readFile(file);
    await writeFile(file, bytes.subarray(0, bytes.length - 30));
    await expect(readAll(file, 'zip')).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('readArchive: tar.gz', () => {
  it('delivers selected files, drains ignored ones, normalizes ./ prefixes', async () => {
    const file = join(dir, 'ok.tar.gz');
    await writeTestTarGz(file, [
      { name: './OCT2017/', type: 'directory' },
      { name: './OCT2017/train/CNV/CNV-1-1.png', data: 'a' },
      { name: 'OCT2017/README.txt', data: 'hello' },
      { name: 'OCT2017/test/DME/DME-2-1.png', data: 'bb' },
    ]);
    const { files, summary } = await readAll(file, 'tar.gz');
    expect(files.map((f) => f.path)).toEqual(['OCT2017/train/CNV/CNV-1-1.png', 'OCT2017/test/DME/DME-2-1.png']);
    expect(summary).toMatchObject({ entries: 4, directories: 1, files: 3, selected: 2, ignored: 1, uncompressedBytes: 8 });
  });

  it.each([
    [{ name: '../evil.png', data: 'x' }, 'path traversal'],
    [{ name: 'OCT2017/../../evil.png', data: 'x' }, 'path traversal'],
    [{ name: '/etc/evil.png', data: 'x' }, 'absolute path'],
    [{ name: 'OCT2017/link.png', type: 'symlink' as const, linkname: '/etc/passwd' }, 'symbolic link'],
    [{ name: 'OCT2017/hard.png', type: 'link' as const, linkname: 'OCT2017/a.png' }, 'hard link'],
    [{ name: 'OCT2017/dev', type: 'character-device' as const }, 'not a regular file'],
  ])('refuses %j', async (entry, why) => {
    const file = join(dir, 'bad.tar.gz');
    await writeTestTarGz(file, [{ name: 'OCT2017/a.png', data: 'a' }, entry]);
    expect((await refusal(readAll(file, 'tar.gz'))).message).toContain(why);
  });

  it('enforces entry count, per-entry and total limits, and the gzip ratio', async () => {
    const file = join(dir, 'limits.tar.gz');
    await writeTestTarGz(
      file,
      Array.from({ length: 6 }, (_, i) => ({ name: `d/${i}.png`, data: Buffer.alloc(3000, i) })),
    );
    expect((await refusal(readAll(file, 'tar.gz', { maxEntries: 5 }))).message).toContain('more than 5 entries');
    expect((await refusal(readAll(file, 'tar.gz', { maxEntryBytes: 2000 }))).message).toContain('per-entry limit');
    expect((await refusal(readAll(file, 'tar.gz', { maxTotalBytes: 10_000 }))).message).toContain('total limit');
    expect((await refusal(readAll(file, 'tar.gz', { ratioFloorBytes: 4096, maxCompressionRatio: 5 }))).message).toContain('decompression bomb');
  });

  it('counts ignored entries against the limits (a stream cannot skip them)', async () => {
    const file = join(dir, 'ignored.tar.gz');
    await writeTestTarGz(file, [{ name: 'd/huge.bin', data: Buffer.alloc(5000) }]);
    expect((await refusal(readAll(file, 'tar.gz', { maxEntryBytes: 1000 }))).message).toContain('per-entry limit');
  });

  it('reports a truncated archive as corrupt', async () => {
    const file = join(dir, 'trunc.tar.gz');
    await writeTestTarGz(file, [{ name: 'd/x.png', data: Buffer.from(Array.from({ length: 20000 }, (_, i) => (i * 7919) % 251)) }]);
    const bytes = await readFile(file);
    await writeFile(file, bytes.subarray(0, bytes.length >> 1));
    await expect(readAll(file, 'tar.gz')).rejects.toBeInstanceOf(ValidationError);
  });

  it('says clearly when the archive file is missing', async () => {
    await expect(readAll(join(dir, 'nope.tar.gz'), 'tar.gz')).rejects.toThrow(/does not exist/);
  });
});
