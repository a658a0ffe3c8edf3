// One detector training step, as the algorithm reads (YOLOv8's order): a training-mode forward on the batch with the
// current weights, the task-aligned assigner on those predictions, the loss with its targets, backward and update —
// all one ONNX Runtime run of the training graph detectorModel(cfg) builds (the assigner is inside it, not
// differentiated: ../models/detector-assign-graph.ts). The host only pads each image's objects into the graph's
// ground-truth inputs.
//
// (Until 2026-12-07 the assigner ran here on the host, which needed the predictions first: a second ORT session ran
// one more training-mode forward per step, ≈ a fifth of det-nano's step at 256 px — docs/detection.md, "Speed after
// the in-graph assigner".)
import type { StepResult, TrainSession } from '../engine/index.js';
import { type DetectorConfig, GT_INPUT } from '../models/detector.js';
import type { GroundTruth } from '../models/detector-assign.js';
import { padTruths } from '../models/detector-assign-graph.js';

export interface DetectionBatch {
  /** [n, C, S, S], normalized. */
  images: Float32Array;
  /** Per image: boxes in input pixels (after augmentation) and class indices. */
  truths: readonly GroundTruth[];
}

export class DetectionStepper {
  /** `session` must train detectorModel(cfg) (its default, in-graph assigner). */
  constructor(
    private readonly session: TrainSession,
    private readonly cfg: DetectorConfig,
  ) {}

  async step(batch: DetectionBatch): Promise<StepResult> {
    const { cfg } = this;
    const n = batch.truths.length;
    const S = cfg.imageSize;
    const gt = padTruths(batch.truths, cfg.numClasses);
    return this.session.step({
      images: { data: batch.images, shape: [n, cfg.inChannels, S, S] },
      [GT_INPUT.boxes]: { data: gt.boxes, shape: [n, gt.objects, 4] },
      [GT_INPUT.labels]: { data: gt.labels, shape: [n, gt.objects] },
    });
  }
}
