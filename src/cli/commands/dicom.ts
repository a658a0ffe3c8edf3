// `secondread dicom listen`: the C-STORE SCP on its own (no HTTP): images a PACS or a modality sends
// are taken in like STOW-RS instances (de-identified, read by the model at once), from the workflow that
// src/api/compose.ts composes for `serve`, and results go back to the configured PACS nodes. SIGTERM/SIGINT
// stop it gracefully: no new associations, stores in flight are answered, then everything is closed.
// `secondread dicom send`: sends Part 10 files to a configured PACS node (C-STORE or STOW-RS), e.g. to
// check that the node takes what the exporter will send.
import { readFileSync } from 'node:fs';

import type { Command } from 'commander';

import { composeApi } from '../../api/compose.js';
import { createShutdown, type ShutdownOutcome } from '../../api/shutdown.js';
import { aeTitleSchema } from '../../core/config.js';
import { NotFoundError, ValidationError } from '../../core/errors.js';
import { datasetOfPart10 } from '../../gateway/part10.js';
import { nodeSender } from '../../gateway/send.js';
import { withContext } from '../context.js';
import { parseInteger } from '../parse.js';
import { stopOnSignals } from '../signals.js';
import { print } from './runs.js';

interface ListenFlags {
  port?: string;
  ae?: string;
  host?: string;
}

function aeTitle(flag: string, value: string): string {
  const r = aeTitleSchema.safeParse(value);
  if (!r.success) throw new ValidationError(`${flag}: ${r.error.issues[0]?.message ?? 'not an AE title'}`);
  return value;
}

export function registerDicom(program: Command): void {
  const dicom = program.command('dicom').description('the DICOM network edge: C-STORE SCP, sending to PACS nodes (docs/pacs.md)');

  dicom
    .command('listen')
    .description('receive images by DICOM C-STORE (and answer C-ECHO) from the peers on pacs.dimse.allow')
    .option('--port <port>', 'listen port (default: config pacs.dimse.port, SECONDREAD_DIMSE_PORT, else 11112)')
    .option('--ae <title>', 'our AE title (default: config pacs.dimse.aeTitle, SECONDREAD_DIMSE_AE, else SECONDREAD)')
    .option('--host <address>', 'listen address (default: config pacs.dimse.host, 0.0.0.0)')
    .action(async (flags: ListenFlags) => {
      const outcome = await withContext(async (ctx): Promise<ShutdownOutcome> => {
        const { config, logger } = ctx;
        const port = flags.port !== undefined ? parseInteger('--port', flags.port, 0, 65535) : (config.pacs.dimse.port ?? 11112);
        const ae = flags.ae !== undefined ? aeTitle('--ae', flags.ae) : config.pacs.dimse.aeTitle;
        const { app, gateway, closers } = await composeApi(
          { config, logger, db: await ctx.db(), objects: ctx.objects() },
          { gateway: { dimse: { port, aeTitle: ae, ...(flags.host !== undefined ? { host: flags.host } : {}) }, exporter: true } },
        );
        const shutdown = createShutdown({ app, logger, closers });
        const signals = stopOnSignals(shutdown, logger, 'waiting for stores in flight');
        try {
          try {
            await app.ready();
            await gateway.start();
          } catch (err) {
            await shutdown('startup failed');
            throw err;
          }
          print(`secondread DICOM listener: AE title ${ae}, port ${gateway.scp!.port} (Ctrl-C stops it)`);
          return await signals.stopped;
        } finally {
          signals.dispose();
        }
      });
      if (outcome !== 'clean') process.exitCode = 1;
    });

  dicom
    .command('send')
    .description('send DICOM Part 10 files to a configured PACS node (pacs.nodes): C-STORE or STOW-RS')
    .argument('<files...>', 'Part 10 files')
    .requiredOption('--node <name>', 'the node, by its name in pacs.nodes')
    .action(async (files: string[], flags: { node: string }) => {
      await withContext(async ({ config }) => {
        const node = config.pacs.nodes.find((n) => n.name === flags.node);
        if (!node) throw new NotFoundError('PACS node', flags.node);
        const send = nodeSender({ callingAet: config.pacs.dimse.aeTitle });
        for (const file of files) {
          const bytes = readFileSync(file);
          const { sopInstanceUid } = datasetOfPart10(bytes);
          await send(node, bytes, sopInstanceUid);
          print(`sent ${file} (${sopInstanceUid}) to ${node.name}`);
        }
      });
    });
}
