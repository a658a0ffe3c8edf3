// Reads ONNX Runtime's profiler output (Chrome-trace JSON written when `enableProfiling` is on) and aggregates
// kernel time per op type and per node, to find where a training step spends its time.
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { EngineError } from '../errors.js';

interface TraceEvent {
  cat?: string;
  name?: string;
  dur?: number;
  args?: { op_name?: string; output_type_shape?: unknown };
}

export interface OpTime {
  key: string;
  calls: number;
  totalMs: number;
  /** Share of all kernel time. */
  share: number;
}

export interface ProfileSummary {
  kernelMs: number;
  byOp: OpTime[];
  byNode: OpTime[];
  /** Training-step phases by node-name scope: backward (grad.*), update (optim.*, clip.*), forward (the rest). */
  byPhase: OpTime[];
}

function phaseOf(node: string): string {
  if (node.startsWith('grad.')) return 'backward';
  if (node.startsWith('optim.') || node.startsWith('clip.')) return 'update';
  return 'forward';
}

function rank(map: Map<string, { calls: number; us: number }>, totalUs: number): OpTime[] {
  return [...map.entries()]
    .map(([key, v]) => ({ key, calls: v.calls, totalMs: v.us / 1000, share: totalUs > 0 ? v.us / totalUs : 0 }))
    .sort((a, b) => b.totalMs - a.totalMs);
}

export function summarizeProfile(events: readonly TraceEvent[]): ProfileSummary {
  const byOp = new Map<string, { calls: number; us: number }>();
  const byNode = new Map<string, { calls: number; us: number }>();
  const byPhase = new Map<string, { calls: number; us: number }>();
  let total = 0;
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name?.endsWith('_kernel_time') || typeof e.dur !== 'number') continue;
    total += e.dur;
    const op = e.args?.op_name ?? '?';
    const nodeName = e.name.slice(0, -'_kernel_time'.length);
    const node = `${nodeName} (${op})`;
    for (const [map, key] of [
      [byOp, op],
      [byNode, node],
      [byPhase, phaseOf(nodeName)],
    ] as const) {
      const cur = map.get(key) ?? { calls: 0, us: 0 };
      cur.calls++;
      cur.us += e.dur;
      map.set(key, cur);
    }
  }
  return { kernelMs: total / 1000, byOp: rank(byOp, total), byNode: rank(byNode, total), byPhase: rank(byPhase, total) };
}

/** The newest profile file ORT wrote for `prefix` (it appends a timestamp and `.json`). */
export async function latestProfile(prefix: string): Promise<string> {
  const dir = dirname(prefix);
  const base = basename(prefix);
  const files = (await readdir(dir)).filter((f) => f.startsWith(base) && f.endsWith('.json')).sort();
  const last = files[files.length - 1];
  if (!last) throw new EngineError('invalid_argument', `no ONNX Runtime profile found for prefix ${prefix}`);
  return join(dir, last);
}

export async function readProfile(path: string): Promise<ProfileSummary> {
  return summarizeProfile(JSON.parse(await readFile(path, 'utf8')) as TraceEvent[]);
}
