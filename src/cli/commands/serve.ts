// `secondread serve`: the HTTP API (own JSON + KServe v2, the second-reader workflow, the web UI), composed
// by src/api/compose.ts from the configured stores, with the job queue and evaluations. SIGTERM/SIGINT
// shut it down gracefully: no new connections, requests in flight finish, then serving (batchers
// drained), jobs, objects and the database are closed. A second signal exits at once.
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';

import type { Command } from 'commander';

import { composeApi } from '../../api/compose.js';
import { createShutdown, type ShutdownOutcome } from '../../api/shutdown.js';
import { type ApiLimits, DEFAULT_LIMITS, type TlsFiles } from '../../api/types.js';
import { ValidationError } from '../../core/errors.js';
import type { BatcherOptions } from '../../serving/types.js';
import { assertModelName } from '../../tracking/index.js';
import { withContext } from '../context.js';
import { parseInteger, parseIntegerList, parseNumber } from '../parse.js';
import { stopOnSignals } from '../signals.js';
import { print } from './runs.js';

interface ServeFlags {
  host?: string;
  port?: string;
  threads: string;
  instances: string;
  batching: boolean;
  maxBatchSize?: string;
  preferredBatchSizes?: string;
  maxQueueDelayUs?: string;
  maxQueueSize?: string;
  timeoutMs?: string;
  canaryWeight: string;
  shadow?: boolean;
  aliasPollMs: string;
  preload: string[];
  maxUploadMb?: string;
  maxImagePixels?: string;
  maxBatchFiles?: string;
  publicMetrics?: boolean;
  shutdownTimeout: string;
  workflowModel?: string;
  workflowDetector?: string;
  tlsCert?: string;
  tlsKey?: string;
}

/** --tls-cert and --tls-key together (HTTPS) or neither (HTTP); each a readable PEM file. */
export function readTlsFiles(f: Pick<ServeFlags, 'tlsCert' | 'tlsKey'>): TlsFiles | undefined {
  if (f.tlsCert === undefined && f.tlsKey === undefined) return undefined;
  if (f.tlsCert === undefined || f.tlsKey === undefined) throw new ValidationError('--tls-cert and --tls-key go together: give both or neither');
  const read = (flag: string, path: string): Buffer => {
    let pem: Buffer;
    try {
      pem = readFileSync(path);
    } catch (err) {
      throw new ValidationError(`${flag}: cannot read '${path}' (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    return pem;
  };
  const files = { cert: read('--tls-cert', f.tlsCert), key: read('--tls-key', f.tlsKey) };
  // OpenSSL's verdict now (not a PEM, encrypted key, key of another certificate) as a usage error, not a crash at listen.
  try {
    createSecureContext(files);
  } catch (err) {
    throw new ValidationError(`--tls-cert/--tls-key: not a usable certificate and key (${(err as Error).message})`);
  }
  return files;
}

/** `name`, `name@alias` or `name@version`. */
export function parsePreload(spec: string): { name: string; alias?: string; version?: number } {
  const [name, ref, extra] = spec.split('@');
  if (!name || extra !== undefined) throw new ValidationError(`--preload takes <model>[@<alias>|@<version>], got '${spec}'`);
  if (ref === undefined || ref === '') return { name };
  return /^\d+$/.test(ref) ? { name, version: parseInteger('--preload version', ref) } : { name, alias: ref };
}

export function batchingOptions(
  f: Pick<ServeFlags, 'batching' | 'maxBatchSize' | 'preferredBatchSizes' | 'maxQueueDelayUs' | 'maxQueueSize' | 'timeoutMs'>,
): Partial<BatcherOptions> {
  const o: Partial<BatcherOptions> = {};
  if (f.maxBatchSize !== undefined) o.maxBatchSize = parseInteger('--max-batch-size', f.maxBatchSize, 1, 4096);
  if (f.preferredBatchSizes !== undefined) o.preferredBatchSizes = parseIntegerList('--preferred-batch-sizes', f.preferredBatchSizes, 1, 4096);
  if (f.maxQueueDelayUs !== undefined) o.maxQueueDelayUs = parseInteger('--max-queue-delay-us', f.maxQueueDelayUs, 0, 10_000_000);
  if (f.maxQueueSize !== undefined) o.maxQueueSize = parseInteger('--max-queue-size', f.maxQueueSize, 1, 1_000_000);
  // The flag users know stays in milliseconds; the batcher's options are all microseconds (as Triton's).
  if (f.timeoutMs !== undefined) o.defaultTimeoutUs = parseInteger('--timeout-ms', f.timeoutMs, 1, 3_600_000) * 1000;
  // Batching off is Triton's max batch size 1: every request is its own compute call, no waiting.
  if (!f.batching) Object.assign(o, { maxBatchSize: 1, preferredBatchSizes: [], maxQueueDelayUs: 0 });
  return o;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve models over HTTP: /v1 predict API, KServe v2 / Triton protocol, /metrics, OpenAPI at /docs')
    .option('--host <host>', 'listen address (default: config http.host, HOST)')
    .option('--port <port>', 'listen port, 0 = any free one (default: config http.port, PORT)')
    .option('--threads <n>', 'ONNX Runtime intra-op threads per loaded model', '2')
    .option('--instances <n>', 'batches computed at once per model version (Triton instance count)', '1')
    .option('--no-batching', 'one request per compute call (max batch size 1, no queue delay)')
    .option('--max-batch-size <n>', 'largest dynamic batch (default 32)')
    .option('--preferred-batch-sizes <list>', 'comma-separated sizes that dispatch at once, e.g. 8,16')
    .option(
      '--max-queue-delay-us <µs>',
      'wait up to this long for a fuller batch even when the model is free (default 0: no waiting, batches form while it is busy)',
    )
    .option('--max-queue-size <n>', 'queued requests per model version before 503 queue_full (default 256)')
    .option('--timeout-ms <ms>', 'a request still queued after this long fails with 504 (default 10000)')
    .option('--canary-weight <w>', 'share 0…1 of studies routed to the `canary` alias (sticky by study id)', '0')
    .option('--shadow', 'score production requests with `canary` too and record disagreements (answers stay production)')
    .option('--alias-poll-ms <ms>', 'how often alias moves are picked up (0 = never)', '2000')
    .option(
      '--preload <model[@alias|@version]>',
      'load and warm a model before listening (repeatable)',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option(
      '--max-upload-mb <n>',
      `largest request body / uploaded image in MiB (default: config http.maxUploadMb, ${DEFAULT_LIMITS.maxUploadBytes / (1024 * 1024)})`,
    )
    .option(
      '--max-image-pixels <n>',
      `largest image decoded, by its header’s width × height (default: config http.maxImagePixels, ${DEFAULT_LIMITS.maxImagePixels})`,
    )
    .option('--max-batch-files <n>', `images in one /predict/batch request (default: config http.maxBatchFiles, ${DEFAULT_LIMITS.maxBatchFiles})`)
    .option('--public-metrics', 'serve /metrics without a token (only where Prometheus alone can reach the port)')
    .option('--shutdown-timeout <s>', 'seconds to drain in-flight requests on SIGTERM/SIGINT', '30')
    .option(
      '--workflow-model <name>',
      'the model that reads every study at intake, by its production alias (default: config workflow.model, else the only model with a production alias)',
    )
    .option(
      '--workflow-detector <name>',
      'the detector that also reads every CXR study, by its production alias (default: config workflow.detector; none: no boxes)',
    )
    .option('--tls-cert <pem>', 'serve HTTPS with this PEM certificate (chain); needs --tls-key (HSTS is sent only then)')
    .option('--tls-key <pem>', 'the PEM private key of --tls-cert')
    .action(async (flags: ServeFlags) => {
      const servingOptions = {
        threads: parseInteger('--threads', flags.threads, 1, 256),
        instances: parseInteger('--instances', flags.instances, 1, 64),
        batching: batchingOptions(flags),
        canaryWeight: parseNumber('--canary-weight', flags.canaryWeight, 0, 1),
        shadow: flags.shadow ?? false,
        aliasPollMs: parseInteger('--alias-poll-ms', flags.aliasPollMs, 0),
      };
      const preloads = flags.preload.map(parsePreload);
      const shutdownTimeoutMs = parseNumber('--shutdown-timeout', flags.shutdownTimeout, 0, 3600) * 1000;
      if (flags.workflowModel !== undefined) assertModelName(flags.workflowModel);
      if (flags.workflowDetector !== undefined) assertModelName(flags.workflowDetector);
      const tls = readTlsFiles(flags);

      const outcome = await withContext(async (ctx): Promise<ShutdownOutcome> => {
        const { config, logger } = ctx;
        // Flags win over config (secondread.yaml / env), which wins over the built-in defaults.
        const limits: ApiLimits = {
          ...DEFAULT_LIMITS,
          maxUploadBytes: Math.round(
            (flags.maxUploadMb !== undefined ? parseNumber('--max-upload-mb', flags.maxUploadMb, 0.001, 1024) : config.http.maxUploadMb) * 1024 * 1024,
          ),
          maxImagePixels: flags.maxImagePixels !== undefined ? parseInteger('--max-image-pixels', flags.maxImagePixels, 1) : config.http.maxImagePixels,
          maxBatchFiles: flags.maxBatchFiles !== undefined ? parseInteger('--max-batch-files', flags.maxBatchFiles, 1, 10_000) : config.http.maxBatchFiles,
        };
        const host = flags.host ?? config.http.host;
        const port = flags.port !== undefined ? parseInteger('--port', flags.port, 0, 65535) : config.http.port;
        // With pacs.dimse.port (SECONDREAD_DIMSE_PORT) the C-STORE SCP listens too; with pacs.nodes results go back.
        const { app, serving, jobs, gateway, closers } = await composeApi(
          { config, logger, db: await ctx.db(), objects: ctx.objects() },
          {
            limits,
            serving: servingOptions,
            workflowModel: flags.workflowModel,
            workflowDetector: flags.workflowDetector,
            publicMetrics: flags.publicMetrics,
            jobs: true,
            web: true,
            gateway: { dimse: true, exporter: true },
            tls,
          },
        );
        const shutdown = createShutdown({ app, logger, timeoutMs: shutdownTimeoutMs, closers });
        const signals = stopOnSignals(shutdown, logger, 'draining');
        try {
          try {
            await jobs?.start();
            for (const p of preloads) {
              logger.info({ model: p.name, alias: p.alias, version: p.version }, 'preloading');
              await serving.preload(p.name, p);
            }
            const address = await app.listen({ host, port });
            await gateway.start();
            print(`secondread serving on ${address} (API docs: ${address}/docs)`);
            if (gateway.scp) print(`DICOM C-STORE SCP: AE title ${config.pacs.dimse.aeTitle}, port ${gateway.scp.port}`);
          } catch (err) {
            await shutdown('startup failed');
            throw err;
          }
          return await signals.stopped;
        } finally {
          signals.dispose();
        }
      });
      if (outcome !== 'clean') process.exitCode = 1;
    });
}
