// The optional `embedding` output (engine EMBEDDING_OUTPUT): a ViT exported by the engine carries it beside its
// logits, the loaded model returns both from one run and they agree with the logits-only path; the runtime hands
// each input its own embedding row. A model without the output (an import from another tool) says so, and the
// drift monitor then skips its embedding test (monitoring/drift/check.test.ts).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { EMBEDDING_OUTPUT, onnx } from '../engine/index.js';
import { vitConfig } from '../models/vit.js';
import { brightnessClassifierOnnx, brightnessMeta } from '../monitoring/evaluations/testing.js';
import { ModelRegistry } from '../tracking/registry.js';
import { finishedRunWithModel, openTrackingFixture, tinyVitOnnx, type TrackingFixture } from '../tracking/testing.js';
import { ModelRuntime } from './runtime.js';

describe('embedding output', () => {
  let f: TrackingFixture;
  let registry: ModelRegistry;
  beforeEach(async () => {
    f = await openTrackingFixture();
    registry = new ModelRegistry(f.t.db, f.objects, f.tracker);
  });
  afterEach(async () => f.close());

  it('a ViT export has logits first and the embedding second; both come from one run', async () => {
    const vit = tinyVitOnnx();
    const outputs = onnx.ModelProto.decode(vit.bytes).graph!.output!.map((o) => o.name);
    expect(outputs).toEqual(['logits', EMBEDDING_OUTPUT]);
    const mv = await registry.register({ runId: await finishedRunWithModel(f.tracker), name: 'vit', by: 't' });
    const model = await registry.loadForInference(mv.name, { version: mv.version });
    try {
      expect(model.hasEmbedding).toBe(true);
      const plane = vit.size * vit.size;
      const inputs = Float32Array.from({ length: 2 * plane }, (_, i) => Math.sin(i * 0.01));
      const out = await model.forward(inputs, 2);
      expect(out.dim).toBe(vitConfig('vit-tiny').dim);
      expect(out.embeddings).toHaveLength(2 * out.dim!);
      expect(Array.from(out.logits)).toEqual(Array.from(await model.logits(inputs, 2)));
      // The two rows differ (the embedding is per image, not a constant).
      expect(Array.from(out.embeddings!.subarray(0, out.dim!))).not.toEqual(Array.from(out.embeddings!.subarray(out.dim!)));

      const rt = await ModelRuntime.start(model);
      try {
        const s = await rt.scores(inputs.subarray(plane));
        expect(Array.from(s.embedding!)).toEqual(Array.from(out.embeddings!.subarray(out.dim!)));
        expect(Array.from(await rt.score(inputs.subarray(plane)))).toEqual(Array.from(s.logits));
      } finally {
        await rt.close();
      }
    } catch (err) {
      await model.close();
      throw err;
    }
  });

  it('a model without the output has no embedding', async () => {
    const mv = await registry.importOnnxBytes({ name: 'brightness', bytes: brightnessClassifierOnnx(), meta: brightnessMeta(), by: 't' });
    const model = await registry.loadForInference(mv.name, { version: mv.version });
    try {
      expect(model.hasEmbedding).toBe(false);
      const out = await model.forward(new Float32Array(16 * 16), 1);
      expect(out.embeddings).toBeNull();
      expect(out.logits).toHaveLength(3);
    } finally {
      await model.close();
    }
  });
});
