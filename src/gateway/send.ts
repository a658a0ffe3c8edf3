// One Part 10 object to one configured PACS node, by the node's kind: DIMSE C-STORE or STOW-RS.
import type { PacsNode } from '../core/config.js';
import { cStore } from './scu.js';
import { stowRs } from './stow-client.js';

export type SendToNode = (node: PacsNode, file: Uint8Array, sopInstanceUid: string) => Promise<void>;

/** The sender the exporter uses; `callingAet` is ours for nodes that do not name one. */
export function nodeSender(o: { callingAet: string; timeoutMs?: number }): SendToNode {
  return async (node, file, sopInstanceUid) => {
    if (node.kind === 'dimse')
      await cStore({ name: node.name, aet: node.aet, host: node.host, port: node.port, callingAet: node.callingAet ?? o.callingAet }, file, {
        timeoutMs: o.timeoutMs,
      });
    else await stowRs(node, file, sopInstanceUid, { timeoutMs: o.timeoutMs });
  };
}
