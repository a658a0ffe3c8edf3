// A registered detector served end to end: boxes in the original image's pixels (PNG and DICOM), equal to the
// TypeScript post-processing of the raw head (decode + per-class NMS) mapped back through the letterbox — so the
// in-graph NMS the server reads and the TypeScript path agree; concurrent requests batched, each with its own
// boxes; KServe v2 outputs; a detector refused where class probabilities are asked for.
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { letterbox, toOriginal } from '../data/detection/letterbox.js';
import { cxrDicom, ramp16 } from '../data/dicom/testing.js';
import { grayPng } from '../data/images/testing.js';
import { detectorConfig } from '../models/detector.js';
import { postprocess } from '../models/detector-export.js';
import { TEST_DETECTION_CLASSES, tinyDetectorOnnx } from '../tracking/testing.js';
import { DETECTOR_OUTPUTS, detectorInferOutputs, toServedDetections } from './detections.js';
import { ModelTaskError } from './errors.js';
import { openServingFixture, type ServingFixture } from './testing.js';
import { type DetectResult, isDetectResult, type ServedDetection, type ServingObserver } from './types.js';

describe('toServedDetections', () => {
  it('undoes the letterbox exactly, names the class, orders corners, drops boxes wholly in the padding', () => {
    // 100 × 60 at 64: content 64 × 38 (rounded), 13 rows of padding on top.
    const lb = letterbox(100, 60, 64);
    expect([lb.contentWidth, lb.contentHeight, lb.padX, lb.padY]).toEqual([64, 38, 0, 13]);
    const served = toServedDetections(
      [
        { classIndex: 1, score: 0.9, box: [6.4, 13 + 3.8, 32, 13 + 19] },
        { classIndex: 0, score: 0.8, box: [32, 13 + 19, 6.4, 13 + 3.8] }, // corners reversed
        { classIndex: 2, score: 0.7, box: [10, 0, 20, 12] }, // inside the top padding only
        { classIndex: 2, score: 0.6, box: [-5, 5, 70, 60] }, // reaches into the padding: clipped
      ],
      TEST_DETECTION_CLASSES,
      { width: 100, height: 60 },
      64,
    );
    expect(served).toHaveLength(3);
    const expected = [10, 6, 50, 30];
    expect(served[0]!.class).toBe('Nodule/Mass');
    served[0]!.box.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 9));
    served[1]!.box.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 9));
    expect(served[2]).toMatchObject({ class: 'Pleural effusion', score: 0.6 });
    expect(served[2]!.box[0]).toBe(0);
    expect(served[2]!.box[2]).toBe(100);
    expect(served[2]!.box[1]).toBe(0);
    expect(served[2]!.box[3]).toBe(60);
  });

  it('KServe outputs: EfficientNMS layout, rows padded with zeros, at most maxDetections', () => {
    const out = detectorInferOutputs(
      [
        [
          { classIndex: 2, score: 0.9, box: [1, 2, 3, 4] },
          { classIndex: 1, score: 0.5, box: [5, 6, 7, 8] },
          { classIndex: 0, score: 0.4, box: [9, 9, 9, 9] },
        ],
        [],
      ],
      2,
    );
    expect(out.map((o) => [o.name, o.datatype, o.shape, Array.from(o.data)])).toEqual([
      [DETECTOR_OUTPUTS.count, 'INT32', [2, 1], [2, 0]],
      [DETECTOR_OUTPUTS.boxes, 'FP32', [2, 2, 4], [1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0, 0, 0, 0]],
      [DETECTOR_OUTPUTS.scores, 'FP32', [2, 2], [Math.fround(0.9), 0.5, 0, 0]],
      [DETECTOR_OUTPUTS.classes, 'INT32', [2, 2], [2, 1, 0, 0]],
    ]);
  });
});

describe('serving a registered detector', () => {
  let fx: ServingFixture;
  const batches: number[] = [];
  const observer: ServingObserver = { batch: (_m, e) => batches.push(e.size) };
  beforeAll(async () => {
    fx = await openServingFixture();
    await fx.registerDetector('vindr-det');
    await fx.promote('vindr-det', 1, 'production');
  });
  afterAll(async () => {
    await fx.close();
  });

  /** What the TypeScript path finds: the raw head of the same ONNX model → decode + NMS → original pixels. */
  async function expected(session: ort.InferenceSession, input: Float32Array, image: { width: number; height: number }): Promise<ServedDetection[]> {
    const { size, thresholds } = tinyDetectorOnnx();
    const cfg = detectorConfig('det-nano', { imageSize: size, numClasses: TEST_DETECTION_CLASSES.length });
    const out = await session.run({ images: new ort.Tensor('float32', input, [1, 1, size, size]) }, ['logits']);
    const lb = letterbox(image.width, image.height, size);
    return postprocess(out.logits!.data as Float32Array, 0, cfg, thresholds)
      .map((d) => ({ d, o: toOriginal({ classId: d.classIndex, x0: d.box[0], y0: d.box[1], x1: d.box[2], y1: d.box[3] }, lb) }))
      .filter(({ o }) => o.x1 > o.x0 && o.y1 > o.y0)
      .map(({ d, o }) => ({ class: TEST_DETECTION_CLASSES[d.classIndex]!, score: d.score, box: [o.x0, o.y0, o.x1, o.y1] }));
  }

  it('answers boxes in original pixels (PNG and DICOM), equal to the TypeScript post-processing; concurrent requests batched, each its own', async () => {
    const s = fx.service({ batching: { maxQueueDelayUs: 30_000, maxBatchSize: 8 } }, observer);
    const images = [
      await grayPng(100, 60, (x, y) => 60 + ((x * 5 + y * 3) % 120) + (x > 40 && x < 70 && y > 20 && y < 45 ? 70 : 0)),
      await grayPng(48, 90, (x, y) => 200 - x - y + (((x ^ y) & 8) === 0 ? 40 : 0)),
      await grayPng(64, 64, (x, y) => 128 + 100 * Math.sin(x * 0.3) * Math.cos(y * 0.2)),
      await cxrDicom(ramp16(96, 64)),
      await grayPng(120, 40, (x, y) => (x * y) % 256),
    ];
    const sizes = [
      [100, 60],
      [48, 90],
      [64, 64],
      [96, 64],
      [120, 40],
    ];
    const answers = await Promise.all(images.map((img, i) => s.predictImages('vindr-det', [img], { requestId: `r${i}` })));
    expect(Math.max(...batches)).toBeGreaterThan(1);
    expect(batches.reduce((a, b) => a + b, 0)).toBe(images.length + 0);

    const reference = await fx.registry.loadForInference('vindr-det', { version: 1 });
    const session = await ort.InferenceSession.create((await fx.registry.modelBytes(await fx.registry.resolve('vindr-det', { version: 1 }))) as Uint8Array);
    try {
      let total = 0;
      for (const [i, [r]] of answers.entries()) {
        expect(r && isDetectResult(r)).toBe(true);
        const d = r as DetectResult;
        expect(d).toMatchObject({ model: 'vindr-det', version: 1, route: 'production', task: 'detect', requestId: `r${i}` });
        expect(d.image).toEqual({ width: sizes[i]![0], height: sizes[i]![1] });
        const want = await expected(session, await reference.preprocess(images[i]!), d.image);
        expect(d.detections.map((x) => x.class)).toEqual(want.map((x) => x.class));
        d.detections.forEach((x, j) => {
          expect(x.score).toBeCloseTo(want[j]!.score, 5);
          x.box.forEach((v, c) => expect(Math.abs(v - want[j]!.box[c]!)).toBeLessThan(1e-2));
          expect(x.box[0]).toBeGreaterThanOrEqual(0);
          expect(x.box[2]).toBeLessThanOrEqual(d.image.width);
          expect(x.box[3]).toBeLessThanOrEqual(d.image.height);
          expect(x.score).toBeGreaterThan(0.3);
        });
        expect(d.detections.length).toBeLessThanOrEqual(12);
        total += d.detections.length;
      }
      expect(total).toBeGreaterThan(5);
      // Each request got its own boxes: different images, different answers.
      const keys = answers.map(([r]) => JSON.stringify((r as DetectResult).detections.slice(0, 3)));
      expect(new Set(keys).size).toBeGreaterThan(3);

      // predictImages with several images (one routing decision) gives the same as one at a time.
      const together = await s.predictImages('vindr-det', images.slice(0, 3));
      together.forEach((r, i) => expect((r as DetectResult).detections).toEqual((answers[i]![0] as DetectResult).detections));
    } finally {
      await session.release();
      await reference.close();
    }
  });

  it('KServe: describe says detect with four outputs; infer answers them in input pixels; predict() refuses a detector (409)', async () => {
    const s = fx.service();
    const d = await s.describe('vindr-det');
    expect(d.task).toBe('detect');
    expect(d.outputs.map((o) => [o.name, o.datatype, o.shape])).toEqual([
      ['num_detections', 'INT32', [-1, 1]],
      ['detection_boxes', 'FP32', [-1, 12, 4]],
      ['detection_scores', 'FP32', [-1, 12]],
      ['detection_classes', 'INT32', [-1, 12]],
    ]);
    const img = await grayPng(64, 64, (x, y) => 128 + 100 * Math.sin(x * 0.3) * Math.cos(y * 0.2));
    const reference = await fx.registry.loadForInference('vindr-det', { version: 1 });
    try {
      const row = await reference.preprocess(img);
      const data = new Float32Array(row.length * 2);
      data.set(row, 0);
      data.set(row, row.length);
      const out = await s.infer('vindr-det', { data, shape: [2, 1, 64, 64] });
      const count = Array.from(out.outputs[0]!.data);
      const [served] = await s.predictImages('vindr-det', [img]);
      // A 64 × 64 image fills the input: input pixels are original pixels, once clipped (KServe's boxes are not).
      const dets = (served as DetectResult).detections;
      expect(count).toEqual([dets.length, dets.length]);
      const boxes = out.outputs[1]!.data;
      dets.forEach((x, j) => x.box.forEach((v, c) => expect(Math.min(64, Math.max(0, boxes[j * 4 + c]!))).toBeCloseTo(v, 3)));
      expect(Array.from(boxes.subarray(12 * 4, 12 * 4 + 4 * dets.length))).toEqual(Array.from(boxes.subarray(0, 4 * dets.length)));
      const classes = Array.from(out.outputs[3]!.data.subarray(0, dets.length));
      expect(classes.map((c) => TEST_DETECTION_CLASSES[c])).toEqual(dets.map((x) => x.class));
    } finally {
      await reference.close();
    }
    await expect(s.predict('vindr-det', img)).rejects.toBeInstanceOf(ModelTaskError);
    await expect(s.predict('vindr-det', img)).rejects.toMatchObject({ httpStatus: 409, code: 'model_task_mismatch' });
  });
});
