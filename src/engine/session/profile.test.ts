import { describe, expect, it } from 'vitest';

import { summarizeProfile } from './profile.js';

describe('summarizeProfile', () => {
  it('aggregates kernel time per op type and per node, ignoring session and fence events', () => {
    const s = summarizeProfile([
      { cat: 'Session', name: 'session_initialization', dur: 9999 },
      { cat: 'Node', name: 'MatMul_1_kernel_time', dur: 300, args: { op_name: 'MatMul' } },
      { cat: 'Node', name: 'MatMul_1_fence_before', dur: 5, args: { op_name: 'MatMul' } },
      { cat: 'Node', name: 'MatMul_2_kernel_time', dur: 100, args: { op_name: 'MatMul' } },
      { cat: 'Node', name: 'Add_3_kernel_time', dur: 100, args: { op_name: 'Add' } },
      { cat: 'Node', name: 'MatMul_1_kernel_time', dur: 500, args: { op_name: 'MatMul' } },
    ]);
    expect(s.kernelMs).toBeCloseTo(1, 10);
    expect(s.byOp[0]).toEqual({ key: 'MatMul', calls: 3, totalMs: 0.9, share: 0.9 });
    expect(s.byNode[0]).toMatchObject({ key: 'MatMul_1 (MatMul)', calls: 2, totalMs: 0.8 });
    expect(s.byPhase).toEqual([{ key: 'forward', calls: 4, totalMs: 1, share: 1 }]);
  });

  it('splits a training step into forward, backward and update by node scope', () => {
    const s = summarizeProfile([
      { cat: 'Node', name: 'blocks.0.MatMul_kernel_time', dur: 100, args: { op_name: 'MatMul' } },
      { cat: 'Node', name: 'grad.MatMul_7_kernel_time', dur: 200, args: { op_name: 'MatMul' } },
      { cat: 'Node', name: 'optim.Mul_kernel_time', dur: 50, args: { op_name: 'Mul' } },
      { cat: 'Node', name: 'clip.ReduceSumSquare_kernel_time', dur: 50, args: { op_name: 'ReduceSumSquare' } },
    ]);
    expect(s.byPhase.map((p) => [p.key, p.share])).toEqual([
      ['backward', 0.5],
      ['forward', 0.25],
      ['update', 0.25],
    ]);
  });
});
