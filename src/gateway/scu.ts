// The DIMSE C-STORE SCU: sends one Part 10 file to a PACS node (AE title @ host:port) in one association,
// and turns every way that can end into one answer: stored, or a PacsSendError that says whether trying
// again can help (a refused association as "transient", a network failure or an out-of-resources status)
// or not (a permanent rejection, a refused SOP class, an error status on the object itself).
import dimse from 'dcmjs-dimse';

import { PacsSendError } from './errors.js';
import { datasetOfPart10 } from './part10.js';

const { Client, Dataset, constants, requests } = dimse;
const { RejectResult, Status } = constants;

dimse.log.setLevel('silent');

export interface DimseTarget {
  /** The node's name (for messages). */
  name: string;
  aet: string;
  host: string;
  port: number;
  callingAet: string;
}

export interface CStoreOutcome {
  status: number;
  /** The SCP's Error Comment on a warning, when it gave one. */
  comment?: string;
}

const hex = (status: number) => `0x${status.toString(16).toUpperCase().padStart(4, '0')}`;

/** PS3.4 Annex B.2.3: A7xx out of resources is the peer's state, not the object's; everything else that fails is the object's. */
function retryableStatus(status: number): boolean {
  return (status & 0xff00) === 0xa700 || status === 0x0213; /* resource limitation */
}

/** Sends `file` (Part 10) by C-STORE. Resolves on success or a warning status (B000–BFFF: stored with changes). */
export function cStore(target: DimseTarget, file: Uint8Array, o: { timeoutMs?: number } = {}): Promise<CStoreOutcome> {
  const timeout = o.timeoutMs ?? 30_000;
  let parsed: ReturnType<typeof datasetOfPart10>;
  let dataset: dimse.Dataset;
  try {
    parsed = datasetOfPart10(file);
    dataset = new Dataset(Buffer.from(parsed.dataset), parsed.transferSyntaxUid);
  } catch (err) {
    return Promise.reject(new PacsSendError(target.name, `cannot read the object to send: ${(err as Error).message}`, { retryable: false, cause: err }));
  }
  return new Promise<CStoreOutcome>((resolve, reject) => {
    const client = new Client();
    const request = new requests.CStoreRequest(dataset);
    // Propose the object's own syntax too: an SR is written explicit VR LE, which every SCP takes.
    request.setAdditionalTransferSyntaxes([parsed.transferSyntaxUid]);
    let outcome: CStoreOutcome | undefined;
    let failure: PacsSendError | undefined;
    const who = `${target.aet}@${target.host}:${target.port}`;
    request.on('response', (response: dimse.responses.CStoreResponse) => {
      const status = response.getStatus();
      if (status === Status.Pending) return;
      const comment = response.getErrorComment?.() || undefined;
      if (status === Status.Success || (status & 0xf000) === 0xb000) outcome = { status, ...(comment ? { comment } : {}) };
      else
        failure = new PacsSendError(target.name, `C-STORE to ${who} failed with status ${hex(status)}${comment ? ` (${comment})` : ''}`, {
          retryable: retryableStatus(status),
          status,
        });
    });
    client.on('associationRejected', (r: { result: number; source: number; reason: number }) => {
      failure = new PacsSendError(
        target.name,
        `association with ${who} rejected (result ${r.result}, source ${r.source}, reason ${r.reason}): check that it knows our AE title '${target.callingAet}'`,
        { retryable: r.result === RejectResult.Transient },
      );
    });
    client.on('networkError', (err: Error) => {
      failure ??= new PacsSendError(target.name, `network error talking to ${who}: ${err.message}`, { retryable: true, cause: err });
    });
    client.on('closed', () => {
      if (outcome) resolve(outcome);
      else
        reject(
          failure ??
            new PacsSendError(target.name, `${who} answered no C-STORE for SOP class ${parsed.sopClassUid} (no presentation context accepted for it?)`, {
              retryable: false,
            }),
        );
    });
    client.addRequest(request);
    try {
      client.send(target.host, target.port, target.callingAet, target.aet, { connectTimeout: timeout, associationTimeout: timeout, pduTimeout: timeout });
    } catch (err) {
      reject(new PacsSendError(target.name, `cannot connect to ${who}: ${(err as Error).message}`, { retryable: true, cause: err }));
    }
  });
}
