import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';

import { Graph } from '../graph.js';
import { createOrtSession, sessionOptions } from './execution.js';

describe('sessionOptions', () => {
  it("leaves ORT's thread spinning as it is unless allowSpinning is false", () => {
    expect(sessionOptions({}).extra).toBeUndefined();
    expect(sessionOptions({ allowSpinning: true }).extra).toBeUndefined();
    expect(sessionOptions({ allowSpinning: false }).extra).toEqual({ session: { intra_op: { allow_spinning: '0' } } });
  });

  it('a session without spinning runs', async () => {
    const g = new Graph('add', { mode: 'eval' });
    const x = g.input('x', 'float32', [2]);
    g.output(g.op('Add', [x, x]), 'y');
    const session = await createOrtSession(g.toModelProto(), 'test model', { allowSpinning: false });
    const out = await session.run({ x: new ort.Tensor('float32', new Float32Array([1, 2]), [2]) });
    expect(Array.from(out.y!.data as Float32Array)).toEqual([2, 4]);
    await session.release();
  });
});
