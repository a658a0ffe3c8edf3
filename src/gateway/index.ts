// The DICOM network edge, composed from the configuration: the C-STORE SCP (when a port is configured or
// given) and the results exporter (always made, so GET /v1/pacs/exports answers; started only when PACS
// nodes are configured). src/api/compose.ts makes one; `serve`, `start` and `dicom listen` start it.
import type { Config } from '../core/config.js';
import type { Logger } from '../core/logger.js';
import type { Db } from '../storage/db.js';
import { PacsExporter, type ResultSources } from './exporter.js';
import { srWriter } from './results.js';
import { type DicomIntakePort, DicomScp } from './scp.js';
import { nodeSender } from './send.js';

export { PacsSendError } from './errors.js';
export { type PacsExport, PacsExportStore } from './exports-store.js';
export { PacsExporter } from './exporter.js';
export { DicomScp, DIMSE_USER } from './scp.js';

export interface GatewayDeps {
  config: Config;
  logger: Logger;
  db: Db;
  /** The workflow: intakeDicomInstance (Contract 3) for the SCP, getStudyOrigin (Contract 1) and getDicomFacts for the exporter. */
  workflow: DicomIntakePort & ResultSources;
}

export interface GatewayOptions {
  /** Listen for C-STORE: with the configured pacs.dimse (true), these overrides, or not at all (false, the default). */
  dimse?: boolean | { port?: number; aeTitle?: string; host?: string };
  /** Run the exporter when nodes are configured (default false: e.g. the simulator's server sends nothing). */
  exporter?: boolean;
}

export class Gateway {
  constructor(
    readonly scp: DicomScp | null,
    readonly exporter: PacsExporter,
    private readonly runExporter: boolean,
  ) {}

  async start(): Promise<void> {
    await this.scp?.start();
    if (this.runExporter) this.exporter.start();
  }

  /** The listener first (no new stores; those in flight are answered), then the exporter's pass in progress. */
  async close(): Promise<void> {
    await this.scp?.close();
    await this.exporter.stop();
  }
}

export function createGateway(deps: GatewayDeps, o: GatewayOptions = {}): Gateway {
  const { config, logger, db, workflow } = deps;
  const d = config.pacs.dimse;
  const over = typeof o.dimse === 'object' ? o.dimse : {};
  const port = over.port ?? d.port;
  const aeTitle = over.aeTitle ?? d.aeTitle;
  const scp =
    o.dimse && port !== undefined
      ? new DicomScp(
          {
            host: over.host ?? d.host,
            port,
            aeTitle,
            allow: d.allow,
            maxAssociations: d.maxAssociations,
            maxPduBytes: d.maxPduBytes,
            maxInstanceBytes: Math.round(d.maxInstanceMb * 1024 * 1024),
            timeoutMs: Math.round(d.timeoutS * 1000),
          },
          { intake: workflow, logger },
        )
      : null;
  const exporter = new PacsExporter(
    { db, origins: workflow, sr: srWriter, send: nodeSender({ callingAet: aeTitle }), nodes: config.pacs.nodes, logger },
    config.pacs.export,
  );
  const runExporter = (o.exporter ?? false) && config.pacs.nodes.length > 0;
  if (o.exporter && !runExporter) logger.info('PACS exporter: no PACS nodes configured (pacs.nodes, SECONDREAD_PACS_NODES): results stay here');
  return new Gateway(scp, exporter, runExporter);
}
