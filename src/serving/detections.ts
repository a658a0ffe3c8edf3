// A detector's answers as serving gives them: boxes from the model input's pixels back to the ORIGINAL
// image's pixels (the letterbox of THE preprocessing undone exactly, data/detection/letterbox.ts), class
// names instead of indices; and the KServe v2 outputs of a batch of raw tensors, in TensorRT's
// EfficientNMS layout (num_detections, detection_boxes, detection_scores, detection_classes) so that
// clients written for Triton detectors read them unchanged.
import { letterbox, toOriginal } from '../data/detection/letterbox.js';
import type { Detection, DetectionMeta } from '../tracking/index.js';
import type { InferOutput, ServedDetection, TensorDescription } from './types.js';

/**
 * Input-pixel detections of one image (letterboxed from width × height to size × size) → original pixels.
 * A box that lies wholly in the padding (nothing of it inside the image) is dropped.
 */
export function toServedDetections(
  dets: readonly Detection[],
  classes: readonly string[],
  image: { width: number; height: number },
  size: number,
): ServedDetection[] {
  const lb = letterbox(image.width, image.height, size);
  const out: ServedDetection[] = [];
  for (const d of dets) {
    const [a, b, c, e] = d.box;
    // Corners in either order (ONNX's NMS accepts both): the box is their extent.
    const o = toOriginal({ classId: d.classIndex, x0: Math.min(a, c), y0: Math.min(b, e), x1: Math.max(a, c), y1: Math.max(b, e) }, lb);
    if (!(o.x1 > o.x0 && o.y1 > o.y0)) continue;
    out.push({ class: classes[d.classIndex]!, score: d.score, box: [o.x0, o.y0, o.x1, o.y1] });
  }
  return out;
}

/** The KServe v2 output names of a detector. */
export const DETECTOR_OUTPUTS = {
  count: 'num_detections',
  boxes: 'detection_boxes',
  scores: 'detection_scores',
  classes: 'detection_classes',
} as const;

/** A detector's output tensors for GET /v2/models/:name (M = maxDetections). */
export function detectorOutputDescriptions(d: Pick<DetectionMeta, 'maxDetections'>): TensorDescription[] {
  const m = d.maxDetections;
  return [
    { name: DETECTOR_OUTPUTS.count, datatype: 'INT32', shape: [-1, 1] },
    { name: DETECTOR_OUTPUTS.boxes, datatype: 'FP32', shape: [-1, m, 4] },
    { name: DETECTOR_OUTPUTS.scores, datatype: 'FP32', shape: [-1, m] },
    { name: DETECTOR_OUTPUTS.classes, datatype: 'INT32', shape: [-1, m] },
  ];
}

/**
 * N inputs' detections (input pixels, best first) → the four outputs: row i holds image i's detections in its
 * first num_detections[i] slots, the rest zeros; classes are indices into the model's class list.
 */
export function detectorInferOutputs(perImage: readonly Detection[][], maxDetections: number): InferOutput[] {
  const n = perImage.length;
  const m = maxDetections;
  const count = new Int32Array(n);
  const boxes = new Float32Array(n * m * 4);
  const scores = new Float32Array(n * m);
  const classes = new Int32Array(n * m);
  perImage.forEach((dets, i) => {
    const kept = dets.slice(0, m);
    count[i] = kept.length;
    kept.forEach((d, j) => {
      boxes.set(d.box, (i * m + j) * 4);
      scores[i * m + j] = d.score;
      classes[i * m + j] = d.classIndex;
    });
  });
  return [
    { name: DETECTOR_OUTPUTS.count, datatype: 'INT32', shape: [n, 1], data: count },
    { name: DETECTOR_OUTPUTS.boxes, datatype: 'FP32', shape: [n, m, 4], data: boxes },
    { name: DETECTOR_OUTPUTS.scores, datatype: 'FP32', shape: [n, m], data: scores },
    { name: DETECTOR_OUTPUTS.classes, datatype: 'INT32', shape: [n, m], data: classes },
  ];
}
