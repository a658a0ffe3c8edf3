// The DIMSE C-STORE SCP (`secondread dicom listen`, or `serve`/`start` with pacs.dimse.port): a PACS or a
// modality sends images by C-STORE and each one takes the same path as a STOW-RS instance (the workflow's
// intakeDicomInstance: de-identified, read by the model at once). C-ECHO answers. Who may send is an
// allow-list of calling AE titles and addresses; associations beyond the limit are refused as transient
// (the sender retries later), instances above the size limit are answered "out of resources" without
// being kept in memory. Refusals by the workflow become the C-STORE failure status of their stable code.
//
// dcmjs-dimse parses PDUs and associations; the TCP server is ours, so the address we bind, the
// connection bookkeeping and a graceful close (no new associations, stores in flight answered) are too.
import { createServer, type Server, type Socket } from 'node:net';
import { Writable } from 'node:stream';

import dimse from 'dcmjs-dimse';

import { describeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { dicomFailureReason } from '../data/dicom/failure-reasons.js';
import { transferSyntax } from '../data/dicom/transfer-syntax.js';
import { DimseListenError } from './errors.js';
import { part10FromDataset } from './part10.js';

const { Scp, Dataset, constants, responses } = dimse;
const { PresentationContextResult, RejectResult, RejectSource, RejectReason, Status, SopClass, TransferSyntax } = constants;
type Association = dimse.association.Association;
type CStoreRequest = dimse.requests.CStoreRequest;
type CStoreResponse = dimse.responses.CStoreResponse;
type PresentationContext = dimse.association.PresentationContext;

// dcmjs-dimse logs to the console through loglevel; everything worth saying is logged here instead.
dimse.log.setLevel('silent');

/** The image SOP classes the workflow reads: chest radiographs (CR, DX) and retinal OCT (ophthalmic tomography). */
export const ACCEPTED_STORAGE_CLASSES: Record<string, string> = {
  '1.2.840.10008.5.1.4.1.1.1': 'CR Image Storage',
  '1.2.840.10008.5.1.4.1.1.1.1': 'Digital X-Ray Image Storage - For Presentation',
  '1.2.840.10008.5.1.4.1.1.1.1.1': 'Digital X-Ray Image Storage - For Processing',
  '1.2.840.10008.5.1.4.1.1.77.1.5.4': 'Ophthalmic Tomography Image Storage',
};

/** C-STORE failure statuses (PS3.4 B.2-1) that are not a workflow refusal code. */
const OUT_OF_RESOURCES = 0xa700;
const PROCESSING_FAILURE = 0x0110;

/** What the SCP hands a received instance to: the workflow's intakeDicomInstance (Contract 3 of issue 17). */
export interface DicomIntakePort {
  intakeDicomInstance(
    user: { id: string; name: string; role: 'admin' },
    bytes: Uint8Array,
    origin: { via: 'dimse'; callingAe?: string; remoteAddress?: string },
  ): Promise<{ ok: true; study: { id: string }; sopInstanceUid: string } | { ok: false; code: string; reason: string; sopInstanceUid?: string }>;
}

/** The workflow user C-STOREs are recorded as (audit actor `user:system:dimse`). */
export const DIMSE_USER = { id: 'system:dimse', name: 'system:dimse', role: 'admin' as const };

export interface AllowedPeer {
  /** A calling AE title, or '*' for any. */
  aeTitle: string;
  /** Addresses it must come from (IPv4/IPv6 literals); absent: any. */
  hosts?: string[];
}

export interface ScpOptions {
  host: string;
  port: number;
  aeTitle: string;
  allow: readonly AllowedPeer[];
  maxAssociations: number;
  maxPduBytes: number;
  maxInstanceBytes: number;
  timeoutMs: number;
}

export interface ScpDeps {
  intake: DicomIntakePort;
  logger: Logger;
}

/** '::ffff:10.0.0.1' (an IPv4 peer on a dual-stack socket) is 10.0.0.1. */
export function normalizeAddress(address: string | undefined): string {
  return (address ?? '').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
}

/** Whether a calling AE title from an address is on the allow-list (AE titles compare without their padding). */
export function isAllowed(allow: readonly AllowedPeer[], callingAe: string, address: string): boolean {
  const ae = callingAe.trim();
  const from = normalizeAddress(address);
  return allow.some((p) => (p.aeTitle === '*' || p.aeTitle.trim() === ae) && (!p.hosts || p.hosts.some((h) => normalizeAddress(h) === from)));
}

/** The first transfer syntax the sender proposed that we decode, or undefined. */
function chooseTransferSyntax(context: PresentationContext, verification: boolean): string | undefined {
  const proposed = context.getTransferSyntaxUids();
  if (verification) return proposed.find((ts) => ts === TransferSyntax.ImplicitVRLittleEndian || ts === TransferSyntax.ExplicitVRLittleEndian);
  return proposed.find((ts) => transferSyntax(ts) !== undefined);
}

/** Collects a C-STORE's dataset up to the limit; beyond it the bytes are dropped and the store is refused. */
class BoundedSink extends Writable {
  readonly chunks: Buffer[] = [];
  size = 0;
  tooLarge = false;
  constructor(private readonly limit: number) {
    super();
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    this.size += chunk.length;
    if (this.size > this.limit) {
      this.tooLarge = true;
      this.chunks.length = 0;
    } else if (!this.tooLarge) this.chunks.push(chunk);
    done();
  }
}

interface Received {
  sink: BoundedSink;
  transferSyntaxUid: string;
}

export class DicomScp {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private associations = 0;
  private readonly inFlight = new Set<Promise<unknown>>();
  private closing = false;
  private boundPort = 0;

  constructor(
    private readonly options: ScpOptions,
    private readonly deps: ScpDeps,
  ) {}

  /** The port listened on (the one the OS chose for port 0). */
  get port(): number {
    return this.boundPort;
  }

  async start(): Promise<void> {
    const { logger } = this.deps;
    if (this.options.allow.length === 0)
      logger.warn('DICOM listener: the allow-list (pacs.dimse.allow, SECONDREAD_DIMSE_ALLOW) is empty, so every association will be refused');
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(new DimseListenError(`cannot listen for DICOM on ${this.options.host}:${this.options.port}: ${err.message}`, err)));
      server.listen(this.options.port, this.options.host, () => resolve());
    });
    const address = server.address();
    this.boundPort = typeof address === 'object' && address ? address.port : this.options.port;
    logger.info(
      `DICOM listener: AE title ${this.options.aeTitle} on ${this.options.host}:${this.boundPort} (C-ECHO, C-STORE of CR/DX/OPT; ${this.options.allow.length} allowed peer(s), at most ${this.options.maxAssociations} associations)`,
    );
  }

  /**
   * Stops accepting associations, waits up to `timeoutMs` for the stores in flight to be taken in and
   * answered, then closes every connection that is left.
   */
  async close(timeoutMs = 10_000): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const server = this.server;
    const closed = server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
    if (this.inFlight.size > 0) {
      this.deps.logger.info(`DICOM listener: closing, waiting for ${this.inFlight.size} store(s) in flight`);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...this.inFlight]), new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
      clearTimeout(timer);
    }
    for (const s of this.sockets) s.destroy();
    await closed;
    this.deps.logger.info('DICOM listener: closed');
  }

  private accept(socket: Socket): void {
    const { logger } = this.deps;
    if (this.closing) {
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    const remote = normalizeAddress(socket.remoteAddress);
    const options = this.options;
    const isClosing = () => this.closing;
    const openAssociations = () => this.associations;
    const countAssociation = () => {
      counted = true;
      this.associations++;
    };
    const handleStore = (request: CStoreRequest, callback: (response: CStoreResponse) => void) => {
      const work = this.store(request, received.get(request), callingAe, remote).then(callback);
      this.inFlight.add(work);
      void work.finally(() => this.inFlight.delete(work));
    };
    let counted = false;
    let callingAe = '';
    const received = new WeakMap<object, Received>();
    const timeout = this.options.timeoutMs;

    // One instance per connection, as dcmjs-dimse's own server makes them.
    class GatewayScp extends Scp {
      override associationRequested(association: Association): void {
        callingAe = association.getCallingAeTitle().trim();
        const called = association.getCalledAeTitle().trim();
        const who = `${callingAe || '(no AE title)'}@${remote}`;
        if (isClosing()) {
          logger.info(`DICOM association from ${who} refused: shutting down`);
          return this.sendAssociationReject(RejectResult.Transient, RejectSource.ServiceProviderPresentation, RejectReason.TemporaryCongestion);
        }
        if (called !== options.aeTitle) {
          logger.warn(`DICOM association from ${who} refused: it called AE title '${called}', we are '${options.aeTitle}'`);
          return this.sendAssociationReject(RejectResult.Permanent, RejectSource.ServiceUser, RejectReason.CalledAeNotRecognized);
        }
        if (!isAllowed(options.allow, callingAe, remote)) {
          logger.warn(`DICOM association from ${who} refused: not on the allow-list (pacs.dimse.allow)`);
          return this.sendAssociationReject(RejectResult.Permanent, RejectSource.ServiceUser, RejectReason.CallingAeNotRecognized);
        }
        if (openAssociations() >= options.maxAssociations) {
          logger.warn(`DICOM association from ${who} refused: ${openAssociations()} associations open (limit ${options.maxAssociations})`);
          return this.sendAssociationReject(RejectResult.Transient, RejectSource.ServiceProviderPresentation, RejectReason.LocalLimitExceeded);
        }
        association.setMaxPduLength(options.maxPduBytes);
        let accepted = 0;
        for (const c of association.getPresentationContexts()) {
          const context = association.getPresentationContext(c.id);
          const abstract = context.getAbstractSyntaxUid();
          const verification = abstract === SopClass.Verification;
          if (!verification && !ACCEPTED_STORAGE_CLASSES[abstract]) {
            context.setResult(PresentationContextResult.RejectAbstractSyntaxNotSupported);
            continue;
          }
          const ts = chooseTransferSyntax(context, verification);
          if (ts) {
            context.setResult(PresentationContextResult.Accept, ts);
            accepted++;
          } else context.setResult(PresentationContextResult.RejectTransferSyntaxesNotSupported);
        }
        countAssociation();
        logger.info(`DICOM association from ${who} accepted (${accepted} presentation context(s))`);
        this.sendAssociationAccept();
      }

      override associationReleaseRequested(): void {
        this.sendAssociationReleaseResponse();
      }

      override cEchoRequest(request: dimse.requests.CEchoRequest, callback: (response: dimse.responses.CEchoResponse) => void): void {
        logger.info(`C-ECHO from ${callingAe}@${remote}`);
        const response = responses.CEchoResponse.fromRequest(request);
        response.setStatus(Status.Success);
        callback(response);
      }

      override createStoreWritableStream(context: PresentationContext, request: CStoreRequest): Writable {
        const sink = new BoundedSink(options.maxInstanceBytes);
        received.set(request, { sink, transferSyntaxUid: context.getAcceptedTransferSyntaxUid() ?? TransferSyntax.ImplicitVRLittleEndian });
        return sink;
      }

      // The dataset is not parsed here: intake parses (and de-identifies) the exact bytes received.
      override createDatasetFromStoreWritableStream(_writable: Writable, context: PresentationContext, callback: (dataset: dimse.Dataset) => void): void {
        callback(new Dataset({}, context.getAcceptedTransferSyntaxUid()));
      }

      override cStoreRequest(request: CStoreRequest, callback: (response: CStoreResponse) => void): void {
        handleStore(request, callback);
      }

      override abort(): void {
        logger.warn(`DICOM association from ${callingAe}@${remote} aborted by the peer`);
      }
    }

    const scp = new GatewayScp(socket, { associationTimeout: timeout, pduTimeout: timeout, connectTimeout: timeout });
    scp.on('networkError', (err: Error) => {
      logger.warn(`DICOM connection from ${callingAe || '?'}@${remote}: ${err.message}`);
      socket.destroy();
    });
    socket.on('close', () => {
      this.sockets.delete(socket);
      if (counted) {
        counted = false;
        this.associations--;
      }
    });
  }

  private async store(request: CStoreRequest, received: Received | undefined, callingAe: string, remote: string): Promise<CStoreResponse> {
    const { logger, intake } = this.deps;
    const response = responses.CStoreResponse.fromRequest(request);
    const sopInstanceUid = request.getAffectedSopInstanceUid();
    const from = `${callingAe}@${remote}`;
    const fail = (status: number, comment: string): CStoreResponse => {
      logger.warn(`C-STORE from ${from} of ${sopInstanceUid} refused (0x${status.toString(16).toUpperCase().padStart(4, '0')}): ${comment}`);
      response.setStatus(status);
      // Error Comment is an LO: at most 64 characters.
      response.setErrorComment(comment.slice(0, 64));
      return response;
    };
    if (!received) return fail(PROCESSING_FAILURE, 'no dataset received');
    if (received.sink.tooLarge)
      return fail(OUT_OF_RESOURCES, `instance larger than ${Math.round(this.options.maxInstanceBytes / (1024 * 1024))} MiB (pacs.dimse.maxInstanceMb)`);
    const bytes = part10FromDataset(Buffer.concat(received.sink.chunks), {
      sopClassUid: request.getAffectedSopClassUid(),
      sopInstanceUid,
      transferSyntaxUid: received.transferSyntaxUid,
      sourceAeTitle: callingAe || undefined,
    });
    received.sink.chunks.length = 0;
    try {
      const result = await intake.intakeDicomInstance(DIMSE_USER, bytes, { via: 'dimse', callingAe, remoteAddress: remote });
      if (!result.ok) return fail(dicomFailureReason(result.code), `${result.code}: ${result.reason}`);
      logger.info(`C-STORE from ${from}: ${sopInstanceUid} → study ${result.study.id}`);
      // Success, not the "coercion" warning STOW-RS gives: senders treat a C-STORE warning inconsistently
      // (some retry it), while de-identification is documented for every instance (docs/pacs.md).
      response.setStatus(Status.Success);
      return response;
    } catch (err) {
      logger.error({ err: describeError(err) }, `C-STORE from ${from} of ${sopInstanceUid} failed`);
      return fail(PROCESSING_FAILURE, `processing failure: ${describeError(err)}`);
    }
  }
}
