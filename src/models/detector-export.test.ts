// The exported detector: NMS inside the graph selects exactly what the TypeScript post-processing selects from the
// same head output; BatchNorm is folded away; thresholds and outputs are in the metadata.
import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';

import { decodeModel, EXPORT_METADATA, exportInferenceModel, Graph } from '../engine/index.js';
import { detectorConfig } from './detector.js';
import { DETECTION_METADATA_KEY, detectionMetadata, type DetectionThresholds, detectorInference, postprocess } from './detector-export.js';
import { spreadDetectorWeights } from './testing.js';

describe('exported detector', () => {
  it('per-class NMS in the graph equals the TypeScript post-processing; BatchNorm folded; metadata', async () => {
    const cfg = detectorConfig('det-nano', { imageSize: 64, numClasses: 3 });
    const thresholds: DetectionThresholds = { scoreThreshold: 0.05, iouThreshold: 0.5, maxDetections: 50 };
    // Seeded weights with the head's biases spread out, so boxes and scores vary across anchors.
    const weights = spreadDetectorWeights(cfg, 9);
    const exported = exportInferenceModel(detectorInference(cfg, thresholds), { weights, metadata: detectionMetadata(cfg, thresholds), model: cfg });
    const decoded = decodeModel(exported.bytes);
    expect(decoded.nodes.filter((n) => n.opType === 'BatchNormalization')).toHaveLength(0);
    expect(decoded.nodes.filter((n) => n.opType === 'NonMaxSuppression')).toHaveLength(1);
    expect(exported.metadata['secondread.task']).toBe('detect');
    expect(JSON.parse(exported.metadata[DETECTION_METADATA_KEY]!)).toMatchObject({ ...thresholds, boxFormat: 'xyxy-pixels', anchors: 84 });
    expect(JSON.parse(exported.metadata[EXPORT_METADATA.input]!)).toEqual([{ name: 'images', dtype: 'float32', shape: ['batch', 1, 64, 64] }]);

    const n = 2;
    const images = new Float32Array(n * 64 * 64).map((_, i) => Math.sin(i * 0.05) * Math.cos(i * 0.0021) + (i > 4096 ? 0.5 : 0));
    const session = await ort.InferenceSession.create(exported.bytes);
    const out = await session.run({ images: new ort.Tensor('float32', images, [n, 1, 64, 64]) });
    await session.release();
    const logits = out.logits!.data as Float32Array;
    const selected = out.selected!.data as BigInt64Array;
    const detBoxes = out.det_boxes!.data as Float32Array;
    const detScores = out.det_scores!.data as Float32Array;
    const k = selected.length / 3;
    expect(k).toBeGreaterThan(10);

    for (let i = 0; i < n; i++) {
      const ours = postprocess(logits, i, cfg, { ...thresholds, maxDetections: 10_000 });
      const graph = Array.from({ length: k }, (_, j) => j)
        .filter((j) => Number(selected[3 * j]) === i)
        .map((j) => ({ classIndex: Number(selected[3 * j + 1]), score: detScores[j]!, box: Array.from(detBoxes.slice(4 * j, 4 * j + 4)) }))
        .sort((a, b) => b.score - a.score);
      expect(graph.length).toBe(ours.length);
      ours.forEach((d, j) => {
        expect(graph[j]!.classIndex).toBe(d.classIndex);
        expect(graph[j]!.score).toBeCloseTo(d.score, 5);
        graph[j]!.box.forEach((v, c) => expect(v).toBeCloseTo(d.box[c]!, 3));
      });
      // NMS did suppress overlapping candidates (IoU threshold 1 keeps every candidate above the score threshold).
      expect(postprocess(logits, i, cfg, { ...thresholds, iouThreshold: 1, maxDetections: 10_000 }).length).toBeGreaterThan(ours.length);
      // The per-image cap keeps the best over all classes.
      const capped = postprocess(logits, i, cfg, { ...thresholds, maxDetections: 3 });
      expect(capped.map((d) => d.score)).toEqual(ours.slice(0, 3).map((d) => d.score));
    }
  });

  it('refuses a train graph and out-of-range thresholds', () => {
    const cfg = detectorConfig('det-nano', { imageSize: 64 });
    expect(() => detectorInference(cfg)(new Graph('t', { mode: 'train' }))).toThrow(/eval graph only/);
    expect(() => detectorInference(cfg, { scoreThreshold: 1.5, iouThreshold: 0.5, maxDetections: 10 })).toThrow(/scoreThreshold/);
    expect(() => detectorInference(cfg, { scoreThreshold: 0.5, iouThreshold: 0.5, maxDetections: 0 })).toThrow(/maxDetections/);
  });
});
