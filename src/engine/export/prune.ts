// Graph clean-up for a served model: Dropout and Identity nodes are bypassed (both are the identity at
// inference), then initializers and inputs no node reads are dropped (e.g. the raw weights a folded
// BatchNorm replaced, or a labels input only the loss used).
import type { OnnxTypes } from '../onnx/proto.js';

type Graph = OnnxTypes.IGraphProto;

export function bypassIdentities(graph: Graph): number {
  const outputs = new Set((graph.output ?? []).map((o) => o.name));
  let removed = 0;
  for (const n of [...(graph.node ?? [])]) {
    if (n.opType !== 'Dropout' && n.opType !== 'Identity') continue;
    const src = (n.input ?? [])[0];
    const dst = (n.output ?? [])[0];
    if (!src || !dst) continue;
    // A graph output keeps its name: rename the producer's output instead of the consumers' inputs.
    if (outputs.has(dst)) {
      const producer = (graph.node ?? []).find((p) => (p.output ?? []).includes(src));
      const readers = (graph.node ?? []).filter((p) => p !== n && (p.input ?? []).includes(src));
      if (!producer || outputs.has(src) || readers.length > 0) continue;
      producer.output = (producer.output ?? []).map((o) => (o === src ? dst : o));
    } else {
      for (const p of graph.node ?? []) p.input = (p.input ?? []).map((i) => (i === dst ? src : i));
    }
    graph.node = (graph.node ?? []).filter((x) => x !== n);
    removed++;
  }
  return removed;
}

export function dropUnused(graph: Graph): void {
  const read = new Set<string>();
  for (const n of graph.node ?? []) for (const i of n.input ?? []) read.add(i);
  for (const o of graph.output ?? []) read.add(o.name ?? '');
  graph.initializer = (graph.initializer ?? []).filter((t) => read.has(t.name ?? ''));
  graph.input = (graph.input ?? []).filter((t) => read.has(t.name ?? ''));
}
