// `secondread data cache <version> --size 64`: preprocess every image once into packed uint8 files per
// split (docs/datasets.md, "Training cache"), under $SECONDREAD_HOME/cache unless --out is given.
import { join } from 'node:path';

import type { Command } from 'commander';

import { ValidationError } from '../../core/errors.js';
import { buildCache } from '../../data/cache/build-cache.js';
import { resolveVersionRef } from '../../data/datasets/repository.js';
import { MAX_SIZE, MIN_SIZE } from '../../data/images/preprocess.js';
import { withContext } from '../context.js';
import { createProgressRenderer } from '../progress.js';
import { dataCommand } from './data-group.js';

export function registerDataCache(program: Command): void {
  dataCommand(program)
    .command('cache')
    .description('decode + resize a dataset version once into memory-mappable uint8 tensors per split, for training')
    .argument('<version>', 'dataset version id (or unique prefix)')
    .option('--size <pixels>', 'output images are size×size (letterboxed grayscale)', (v) => Number(v), 64)
    .option('--out <dir>', 'cache root folder (default: $SECONDREAD_HOME/cache)')
    .option('--force', 'rebuild files that already exist')
    .option('--json', 'print the result as JSON')
    .action(async (ref: string, opts: { size: number; out?: string; force?: boolean; json?: boolean }) => {
      if (!Number.isInteger(opts.size) || opts.size < MIN_SIZE || opts.size > MAX_SIZE)
        throw new ValidationError(`--size must be an integer in ${MIN_SIZE}…${MAX_SIZE}`);
      await withContext(async (ctx) => {
        const db = await ctx.db();
        const versionId = await resolveVersionRef(db, ref);
        const progress = createProgressRenderer();
        let files;
        try {
          files = await buildCache({
            db,
            objects: ctx.objects(),
            versionId,
            size: opts.size,
            dir: opts.out ?? join(ctx.config.home, 'cache'),
            force: opts.force,
            onProgress: progress.onProgress,
          });
        } finally {
          progress.stop();
        }
        if (opts.json) {
          process.stdout.write(`${JSON.stringify({ version: versionId, size: opts.size, files }, null, 2)}\n`);
          return;
        }
        const lines = files.map(
          (f) =>
            `  ${f.split.padEnd(5)} ${String(f.count).padStart(7)} images  ${(f.bytes / 1024 / 1024).toFixed(1).padStart(8)} MB  ${f.written ? 'written' : 'up to date'}  ${f.path}`,
        );
        process.stdout.write(`cache of ${versionId} at ${opts.size}×${opts.size}:\n${lines.join('\n')}\n`);
      });
    });
}
